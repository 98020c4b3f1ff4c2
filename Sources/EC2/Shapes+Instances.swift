import AWSCore
import Foundation

/// The name of an instance's state (`InstanceStateName`); a struct, so states AWS adds later still parse.
public struct InstanceStateName: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral,
    CustomStringConvertible {
    /// The API's name.
    public var rawValue: String
    /// Creates a state name from the API's name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a state name from a literal.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The API's name.
    public var description: String { rawValue }

    /// Launching.
    public static let pending: InstanceStateName = "pending"
    /// Running (and billed).
    public static let running: InstanceStateName = "running"
    /// Terminating.
    public static let shuttingDown: InstanceStateName = "shutting-down"
    /// Gone (it stays visible for about an hour).
    public static let terminated: InstanceStateName = "terminated"
    /// Stopping.
    public static let stopping: InstanceStateName = "stopping"
    /// Stopped (its volumes are still billed).
    public static let stopped: InstanceStateName = "stopped"
}

/// An instance's state (`InstanceState`).
public struct InstanceState: Sendable, Hashable, XMLDecodable {
    /// The state's code (the low byte: 0 pending, 16 running, 32 shutting-down, 48 terminated,
    /// 64 stopping, 80 stopped).
    public var code: Int
    /// The state's name.
    public var name: InstanceStateName

    /// Creates a state.
    public init(code: Int, name: InstanceStateName) {
        self.code = code
        self.name = name
    }

    init(xml: XMLNode) throws {
        name = InstanceStateName(rawValue: try xml.required("name"))
        // The high byte is internal to AWS: "You can ignore the high byte value" (InstanceState).
        code = (xml.int("code") ?? 0) & 0xFF
    }
}

/// An EC2 instance, with the fields kiln uses (`Instance`).
public struct Instance: Sendable, Hashable, XMLDecodable {
    /// The instance's ID.
    public var instanceID: String
    /// The AMI it was launched from.
    public var imageID: String?
    /// Its type (`t3.large`).
    public var instanceType: String?
    /// Its state.
    public var state: InstanceState
    /// Why it is in that state, for stopped or terminated instances.
    public var stateReason: StateReason?
    /// The reason for the last state transition, in words.
    public var stateTransitionReason: String?
    /// When it was launched.
    public var launchTime: Date?
    /// The idempotency token it was launched with.
    public var clientToken: String?
    /// `spot` for a spot instance (absent for on-demand).
    public var instanceLifecycle: String?
    /// The spot request behind a spot instance.
    public var spotInstanceRequestID: String?
    /// Its subnet.
    public var subnetID: String?
    /// Its VPC.
    public var vpcID: String?
    /// Its private IPv4 address.
    public var privateIPAddress: String?
    /// Its public IPv4 address, if it has one.
    public var publicIPAddress: String?
    /// Where it runs.
    public var placement: Placement?
    /// Its CPU architecture (`x86_64`, `arm64`).
    public var architecture: String?
    /// The device name of its root volume.
    public var rootDeviceName: String?
    /// Its attached volumes.
    public var blockDeviceMappings: [InstanceBlockDeviceMapping]
    /// Its security groups.
    public var securityGroups: [GroupIdentifier]
    /// Its instance metadata service settings.
    public var metadataOptions: InstanceMetadataOptionsResponse?
    /// Its tags.
    public var tags: [Tag]

    /// Creates an instance description (for fakes in tests of code above this module).
    public init(instanceID: String, imageID: String? = nil, instanceType: String? = nil, state: InstanceState,
                stateReason: StateReason? = nil, stateTransitionReason: String? = nil, launchTime: Date? = nil,
                clientToken: String? = nil, instanceLifecycle: String? = nil, spotInstanceRequestID: String? = nil,
                subnetID: String? = nil, vpcID: String? = nil, privateIPAddress: String? = nil,
                publicIPAddress: String? = nil, placement: Placement? = nil, architecture: String? = nil,
                rootDeviceName: String? = nil, blockDeviceMappings: [InstanceBlockDeviceMapping] = [],
                securityGroups: [GroupIdentifier] = [], metadataOptions: InstanceMetadataOptionsResponse? = nil,
                tags: [Tag] = []) {
        self.instanceID = instanceID
        self.imageID = imageID
        self.instanceType = instanceType
        self.state = state
        self.stateReason = stateReason
        self.stateTransitionReason = stateTransitionReason
        self.launchTime = launchTime
        self.clientToken = clientToken
        self.instanceLifecycle = instanceLifecycle
        self.spotInstanceRequestID = spotInstanceRequestID
        self.subnetID = subnetID
        self.vpcID = vpcID
        self.privateIPAddress = privateIPAddress
        self.publicIPAddress = publicIPAddress
        self.placement = placement
        self.architecture = architecture
        self.rootDeviceName = rootDeviceName
        self.blockDeviceMappings = blockDeviceMappings
        self.securityGroups = securityGroups
        self.metadataOptions = metadataOptions
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        guard let stateNode = xml.child("instanceState") else {
            throw MissingElement(element: "instanceState", parent: xml.name)
        }
        self.init(
            instanceID: try xml.required("instanceId"),
            imageID: xml.optional("imageId"),
            instanceType: xml.optional("instanceType"),
            state: try InstanceState(xml: stateNode),
            stateReason: xml.child("stateReason").map(StateReason.init(xml:)).flatMap { $0.code == nil && $0.message == nil ? nil : $0 },
            stateTransitionReason: xml.optional("reason"),
            launchTime: xml.date("launchTime"),
            clientToken: xml.optional("clientToken"),
            instanceLifecycle: xml.optional("instanceLifecycle"),
            spotInstanceRequestID: xml.optional("spotInstanceRequestId"),
            subnetID: xml.optional("subnetId"),
            vpcID: xml.optional("vpcId"),
            privateIPAddress: xml.optional("privateIpAddress"),
            publicIPAddress: xml.optional("ipAddress"),
            placement: xml.child("placement").map(Placement.init(xml:)),
            architecture: xml.optional("architecture"),
            rootDeviceName: xml.optional("rootDeviceName"),
            blockDeviceMappings: try xml.list("blockDeviceMapping"),
            securityGroups: try xml.list("groupSet"),
            metadataOptions: xml.child("metadataOptions").map(InstanceMetadataOptionsResponse.init(xml:)),
            tags: try xml.tagSet())
    }
}

/// Where an instance runs (`Placement`).
public struct Placement: Sendable, Hashable {
    /// Its Availability Zone (`us-east-1a`).
    public var availabilityZone: String?
    /// Its tenancy (`default`, `dedicated`, `host`).
    public var tenancy: String?

    /// Creates a placement.
    public init(availabilityZone: String?, tenancy: String? = nil) {
        self.availabilityZone = availabilityZone
        self.tenancy = tenancy
    }

    init(xml: XMLNode) {
        availabilityZone = xml.optional("availabilityZone")
        tenancy = xml.optional("tenancy")
    }
}

/// A security group an instance belongs to (`GroupIdentifier`).
public struct GroupIdentifier: Sendable, Hashable, XMLDecodable {
    /// The group's ID.
    public var groupID: String
    /// The group's name.
    public var groupName: String?

    /// Creates a group identifier.
    public init(groupID: String, groupName: String? = nil) {
        self.groupID = groupID
        self.groupName = groupName
    }

    init(xml: XMLNode) throws {
        groupID = try xml.required("groupId")
        groupName = xml.optional("groupName")
    }
}

/// A volume attached to an instance (`InstanceBlockDeviceMapping`).
public struct InstanceBlockDeviceMapping: Sendable, Hashable, XMLDecodable {
    /// The device name (`/dev/xvda`).
    public var deviceName: String?
    /// The EBS volume's ID.
    public var volumeID: String?
    /// Whether the volume goes away with the instance.
    public var deleteOnTermination: Bool?

    /// Creates an attached-volume description.
    public init(deviceName: String?, volumeID: String?, deleteOnTermination: Bool?) {
        self.deviceName = deviceName
        self.volumeID = volumeID
        self.deleteOnTermination = deleteOnTermination
    }

    init(xml: XMLNode) {
        deviceName = xml.optional("deviceName")
        volumeID = xml.child("ebs")?.optional("volumeId")
        deleteOnTermination = xml.child("ebs")?.bool("deleteOnTermination")
    }
}

/// The instance metadata service settings an instance runs with (`InstanceMetadataOptionsResponse`).
public struct InstanceMetadataOptionsResponse: Sendable, Hashable {
    /// `pending` until the settings apply, then `applied`.
    public var state: String?
    /// `required` (IMDSv2 only) or `optional`.
    public var httpTokens: String?
    /// `enabled` or `disabled`.
    public var httpEndpoint: String?
    /// The hop limit of metadata responses.
    public var httpPutResponseHopLimit: Int?

    /// Creates metadata settings.
    public init(state: String? = nil, httpTokens: String?, httpEndpoint: String?, httpPutResponseHopLimit: Int? = nil) {
        self.state = state
        self.httpTokens = httpTokens
        self.httpEndpoint = httpEndpoint
        self.httpPutResponseHopLimit = httpPutResponseHopLimit
    }

    init(xml: XMLNode) {
        state = xml.optional("state")
        httpTokens = xml.optional("httpTokens")
        httpEndpoint = xml.optional("httpEndpoint")
        httpPutResponseHopLimit = xml.int("httpPutResponseHopLimit")
    }
}

/// A group of instances launched by one `RunInstances` call (`Reservation`).
public struct Reservation: Sendable, Hashable, XMLDecodable {
    /// The reservation's ID.
    public var reservationID: String?
    /// The account that owns it.
    public var ownerID: String?
    /// Its instances.
    public var instances: [Instance]

    /// Creates a reservation.
    public init(reservationID: String?, ownerID: String?, instances: [Instance]) {
        self.reservationID = reservationID
        self.ownerID = ownerID
        self.instances = instances
    }

    init(xml: XMLNode) throws {
        reservationID = xml.optional("reservationId")
        ownerID = xml.optional("ownerId")
        instances = try xml.list("instancesSet")
    }
}

/// What an instance does when it shuts itself down (`ShutdownBehavior`).
public enum ShutdownBehavior: String, Sendable, Hashable {
    /// Stop (the volumes stay, and are billed).
    case stop
    /// Terminate: a build instance that powers off leaves nothing behind.
    case terminate
}

/// A volume to attach at launch or to record in an image (`BlockDeviceMapping`).
public struct BlockDeviceMapping: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// The device name (`/dev/xvda`; the image's root device name for the root volume).
    public var deviceName: String
    /// The EBS volume, or nil for an instance store volume or a suppressed device.
    public var ebs: EbsBlockDevice?
    /// Suppresses a device the image maps.
    public var noDevice: Bool
    /// An instance store volume's name (`ephemeral0`).
    public var virtualName: String?

    /// Creates a mapping.
    public init(deviceName: String, ebs: EbsBlockDevice? = nil, noDevice: Bool = false, virtualName: String? = nil) {
        self.deviceName = deviceName
        self.ebs = ebs
        self.noDevice = noDevice
        self.virtualName = virtualName
    }

    /// An encrypted gp3 volume deleted with the instance: what kiln gives a build instance.
    public static func encryptedGP3(deviceName: String, volumeSize: Int, kmsKeyID: String? = nil) -> BlockDeviceMapping {
        BlockDeviceMapping(deviceName: deviceName,
                           ebs: EbsBlockDevice(deleteOnTermination: true, encrypted: true, kmsKeyID: kmsKeyID,
                                               volumeSize: volumeSize, volumeType: "gp3"))
    }

    init(xml: XMLNode) throws {
        deviceName = try xml.required("deviceName")
        ebs = xml.child("ebs").map(EbsBlockDevice.init(xml:))
        noDevice = xml.child("noDevice") != nil
        virtualName = xml.optional("virtualName")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).DeviceName", deviceName)
        parameters.add(structure: "\(prefix).Ebs", ebs)
        // NoDevice is a string member whose presence suppresses the device; the value is empty.
        if noDevice { parameters.add("\(prefix).NoDevice", "") }
        parameters.add("\(prefix).VirtualName", virtualName)
    }
}

/// An EBS volume of a block device mapping (`EbsBlockDevice`).
public struct EbsBlockDevice: Sendable, Hashable, QueryEncodable {
    /// Whether the volume is deleted with the instance.
    public var deleteOnTermination: Bool?
    /// Whether the volume is encrypted.
    public var encrypted: Bool?
    /// Provisioned IOPS (gp3, io1, io2).
    public var iops: Int?
    /// The KMS key for encryption (the account's EBS default key when nil).
    public var kmsKeyID: String?
    /// The snapshot the volume is made from.
    public var snapshotID: String?
    /// Throughput in MiB/s (gp3).
    public var throughput: Int?
    /// The size in GiB.
    public var volumeSize: Int?
    /// The volume type (`gp3`, `gp2`, `io2`, …).
    public var volumeType: String?

    /// Creates an EBS volume specification.
    public init(deleteOnTermination: Bool? = nil, encrypted: Bool? = nil, iops: Int? = nil, kmsKeyID: String? = nil,
                snapshotID: String? = nil, throughput: Int? = nil, volumeSize: Int? = nil, volumeType: String? = nil) {
        self.deleteOnTermination = deleteOnTermination
        self.encrypted = encrypted
        self.iops = iops
        self.kmsKeyID = kmsKeyID
        self.snapshotID = snapshotID
        self.throughput = throughput
        self.volumeSize = volumeSize
        self.volumeType = volumeType
    }

    init(xml: XMLNode) {
        deleteOnTermination = xml.bool("deleteOnTermination")
        encrypted = xml.bool("encrypted")
        iops = xml.int("iops")
        kmsKeyID = xml.optional("kmsKeyId")
        snapshotID = xml.optional("snapshotId")
        throughput = xml.int("throughput")
        volumeSize = xml.int("volumeSize")
        volumeType = xml.optional("volumeType")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).DeleteOnTermination", deleteOnTermination)
        parameters.add("\(prefix).Encrypted", encrypted)
        parameters.add("\(prefix).Iops", iops)
        parameters.add("\(prefix).KmsKeyId", kmsKeyID)
        parameters.add("\(prefix).SnapshotId", snapshotID)
        parameters.add("\(prefix).Throughput", throughput)
        parameters.add("\(prefix).VolumeSize", volumeSize)
        parameters.add("\(prefix).VolumeType", volumeType)
    }
}

/// Instance metadata service settings at launch (`InstanceMetadataOptionsRequest`).
public struct InstanceMetadataOptionsRequest: Sendable, Hashable, QueryEncodable {
    /// `required` for IMDSv2 only (session tokens), or `optional`.
    public var httpTokens: String?
    /// `enabled` or `disabled`.
    public var httpEndpoint: String?
    /// The hop limit of metadata responses (1–64).
    public var httpPutResponseHopLimit: Int?
    /// `enabled` to expose the instance's tags in the metadata.
    public var instanceMetadataTags: String?

    /// Creates metadata settings.
    public init(httpTokens: String? = "required", httpEndpoint: String? = "enabled",
                httpPutResponseHopLimit: Int? = nil, instanceMetadataTags: String? = nil) {
        self.httpTokens = httpTokens
        self.httpEndpoint = httpEndpoint
        self.httpPutResponseHopLimit = httpPutResponseHopLimit
        self.instanceMetadataTags = instanceMetadataTags
    }

    /// IMDSv2 only, endpoint on: what kiln launches with.
    public static let imdsV2Required = InstanceMetadataOptionsRequest()

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).HttpTokens", httpTokens)
        parameters.add("\(prefix).HttpEndpoint", httpEndpoint)
        parameters.add("\(prefix).HttpPutResponseHopLimit", httpPutResponseHopLimit)
        parameters.add("\(prefix).InstanceMetadataTags", instanceMetadataTags)
    }
}

/// Launch as a spot instance (`InstanceMarketOptionsRequest`).
public struct InstanceMarketOptionsRequest: Sendable, Hashable, QueryEncodable {
    /// The market (`spot`).
    public var marketType: String
    /// The spot settings.
    public var spotOptions: SpotMarketOptions?

    /// Creates market options.
    public init(marketType: String = "spot", spotOptions: SpotMarketOptions? = nil) {
        self.marketType = marketType
        self.spotOptions = spotOptions
    }

    /// A one-time spot instance that terminates when interrupted, at up to `maxPrice` (the on-demand
    /// price when nil).
    public static func oneTimeSpot(maxPrice: String? = nil) -> InstanceMarketOptionsRequest {
        InstanceMarketOptionsRequest(spotOptions: SpotMarketOptions(maxPrice: maxPrice, spotInstanceType: "one-time",
                                                                    instanceInterruptionBehavior: "terminate"))
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).MarketType", marketType)
        parameters.add(structure: "\(prefix).SpotOptions", spotOptions)
    }
}

/// The spot settings of a launch (`SpotMarketOptions`).
public struct SpotMarketOptions: Sendable, Hashable, QueryEncodable {
    /// The highest hourly price, in USD (`"0.05"`); the on-demand price when nil.
    public var maxPrice: String?
    /// `one-time` or `persistent`.
    public var spotInstanceType: String?
    /// `terminate`, `stop` or `hibernate`.
    public var instanceInterruptionBehavior: String?

    /// Creates spot settings.
    public init(maxPrice: String? = nil, spotInstanceType: String? = nil, instanceInterruptionBehavior: String? = nil) {
        self.maxPrice = maxPrice
        self.spotInstanceType = spotInstanceType
        self.instanceInterruptionBehavior = instanceInterruptionBehavior
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).MaxPrice", maxPrice)
        parameters.add("\(prefix).SpotInstanceType", spotInstanceType)
        parameters.add("\(prefix).InstanceInterruptionBehavior", instanceInterruptionBehavior)
    }
}

/// The instance profile (IAM role) an instance runs as (`IamInstanceProfileSpecification`).
public struct IamInstanceProfileSpecification: Sendable, Hashable, QueryEncodable {
    /// The profile's ARN.
    public var arn: String?
    /// The profile's name.
    public var name: String?

    /// Names a profile by ARN or name.
    public init(arn: String? = nil, name: String? = nil) {
        self.arn = arn
        self.name = name
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).Arn", arn)
        parameters.add("\(prefix).Name", name)
    }
}

/// The input of `RunInstances`: one instance (MinCount = MaxCount = 1), no key pair.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html
public struct RunInstancesRequest: Sendable, Hashable {
    /// The AMI to boot.
    public var imageID: String
    /// The instance type (`t3.large`).
    public var instanceType: String
    /// An idempotency token (up to 64 ASCII characters): a repeated call with the same token and
    /// parameters returns the first call's instance instead of launching another.
    public var clientToken: String?
    /// The user-data bytes (at most 16 KiB); sent base64-encoded, as the API requires.
    public var userData: [UInt8]?
    /// Security groups by ID.
    public var securityGroupIDs: [String]
    /// The subnet (the default VPC's default subnet of some zone when nil).
    public var subnetID: String?
    /// Volumes to attach or override.
    public var blockDeviceMappings: [BlockDeviceMapping]
    /// What a shutdown from inside the instance does.
    public var instanceInitiatedShutdownBehavior: ShutdownBehavior?
    /// Instance metadata service settings (IMDSv2 required by default).
    public var metadataOptions: InstanceMetadataOptionsRequest?
    /// Spot settings, or nil for on-demand.
    public var instanceMarketOptions: InstanceMarketOptionsRequest?
    /// The instance profile the instance runs as.
    public var iamInstanceProfile: IamInstanceProfileSpecification?
    /// Tags for the instance, its volumes, and so on.
    public var tagSpecifications: [TagSpecification]

    /// Creates the input of `RunInstances`.
    public init(imageID: String, instanceType: String, clientToken: String? = nil, userData: [UInt8]? = nil,
                securityGroupIDs: [String] = [], subnetID: String? = nil,
                blockDeviceMappings: [BlockDeviceMapping] = [],
                instanceInitiatedShutdownBehavior: ShutdownBehavior? = nil,
                metadataOptions: InstanceMetadataOptionsRequest? = .imdsV2Required,
                instanceMarketOptions: InstanceMarketOptionsRequest? = nil,
                iamInstanceProfile: IamInstanceProfileSpecification? = nil,
                tagSpecifications: [TagSpecification] = []) {
        self.imageID = imageID
        self.instanceType = instanceType
        self.clientToken = clientToken
        self.userData = userData
        self.securityGroupIDs = securityGroupIDs
        self.subnetID = subnetID
        self.blockDeviceMappings = blockDeviceMappings
        self.instanceInitiatedShutdownBehavior = instanceInitiatedShutdownBehavior
        self.metadataOptions = metadataOptions
        self.instanceMarketOptions = instanceMarketOptions
        self.iamInstanceProfile = iamInstanceProfile
        self.tagSpecifications = tagSpecifications
    }

    /// The request's Query parameters.
    var parameters: QueryParameters {
        var parameters = QueryParameters()
        parameters.add("ImageId", imageID)
        parameters.add("InstanceType", instanceType)
        parameters.add("MinCount", 1)
        parameters.add("MaxCount", 1)
        parameters.add("ClientToken", clientToken)
        parameters.add("UserData", userData.map(EC2Base64.encode))
        parameters.add(list: "SecurityGroupId", securityGroupIDs)
        parameters.add("SubnetId", subnetID)
        parameters.add(list: "BlockDeviceMapping", blockDeviceMappings)
        parameters.add("InstanceInitiatedShutdownBehavior", instanceInitiatedShutdownBehavior?.rawValue)
        parameters.add(structure: "MetadataOptions", metadataOptions)
        parameters.add(structure: "InstanceMarketOptions", instanceMarketOptions)
        parameters.add(structure: "IamInstanceProfile", iamInstanceProfile)
        parameters.add(list: "TagSpecification", tagSpecifications)
        return parameters
    }
}

/// An instance's state before and after a stop or terminate call (`InstanceStateChange`).
public struct InstanceStateChange: Sendable, Hashable, XMLDecodable {
    /// The instance's ID.
    public var instanceID: String
    /// Its state now.
    public var currentState: InstanceState
    /// Its state before the call.
    public var previousState: InstanceState?

    /// Creates a state change.
    public init(instanceID: String, currentState: InstanceState, previousState: InstanceState?) {
        self.instanceID = instanceID
        self.currentState = currentState
        self.previousState = previousState
    }

    init(xml: XMLNode) throws {
        instanceID = try xml.required("instanceId")
        guard let current = xml.child("currentState") else {
            throw MissingElement(element: "currentState", parent: xml.name)
        }
        currentState = try InstanceState(xml: current)
        previousState = try xml.child("previousState").map(InstanceState.init(xml:))
    }
}

/// The instance attribute to describe (`InstanceAttributeName`).
public enum InstanceAttributeName: String, Sendable, Hashable, CaseIterable {
    /// The user-data.
    case userData
    /// What a shutdown from inside the instance does.
    case instanceInitiatedShutdownBehavior
    /// The instance type.
    case instanceType
}

/// One attribute of an instance (`InstanceAttribute`): the field of the attribute asked for is set.
public struct InstanceAttribute: Sendable, Hashable {
    /// The instance's ID.
    public var instanceID: String
    /// The user-data, decoded from base64 (nil when the instance has none).
    public var userData: [UInt8]?
    /// `stop` or `terminate`.
    public var instanceInitiatedShutdownBehavior: String?
    /// The instance type.
    public var instanceType: String?

    /// Creates an instance attribute.
    public init(instanceID: String, userData: [UInt8]? = nil, instanceInitiatedShutdownBehavior: String? = nil,
                instanceType: String? = nil) {
        self.instanceID = instanceID
        self.userData = userData
        self.instanceInitiatedShutdownBehavior = instanceInitiatedShutdownBehavior
        self.instanceType = instanceType
    }

    init(xml: XMLNode) throws {
        instanceID = try xml.required("instanceId")
        userData = try xml.child("userData")?.optional("value").map { try EC2Base64.decode($0, element: "userData") }
        instanceInitiatedShutdownBehavior = xml.child("instanceInitiatedShutdownBehavior")?.optional("value")
        instanceType = xml.child("instanceType")?.optional("value")
    }
}

/// An instance's console output (`GetConsoleOutputResult`).
public struct GetConsoleOutputResult: Sendable, Hashable {
    /// The instance's ID.
    public var instanceID: String
    /// When the output was last updated.
    public var timestamp: Date?
    /// The console output, decoded from base64 (invalid UTF-8 repaired); empty before any output.
    public var output: String

    /// Creates console output.
    public init(instanceID: String, timestamp: Date?, output: String) {
        self.instanceID = instanceID
        self.timestamp = timestamp
        self.output = output
    }

    init(xml: XMLNode) throws {
        instanceID = try xml.required("instanceId")
        timestamp = xml.date("timestamp")
        let bytes = try xml.optional("output").map { try EC2Base64.decode($0, element: "output") } ?? []
        output = String(decoding: bytes, as: UTF8.self)
    }
}
