import AWSCore
import Foundation

/// The state of an AMI (`ImageState`); a struct, so states AWS adds later still parse.
public struct ImageState: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The API's name.
    public var rawValue: String
    /// Creates a state from the API's name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a state from a literal.
    public init(stringLiteral value: String) { self.rawValue = value }
    /// The API's name.
    public var description: String { rawValue }

    /// Being created or copied.
    public static let pending: ImageState = "pending"
    /// Ready to launch.
    public static let available: ImageState = "available"
    /// Creation or copy failed.
    public static let failed: ImageState = "failed"
    /// Deregistered.
    public static let deregistered: ImageState = "deregistered"
    /// Unusable.
    public static let invalid: ImageState = "invalid"
    /// Something went wrong.
    public static let error: ImageState = "error"
    /// Disabled.
    public static let disabled: ImageState = "disabled"
}

/// An AMI, with the fields kiln uses (`Image`).
public struct Image: Sendable, Hashable, XMLDecodable {
    /// The AMI's ID.
    public var imageID: String
    /// Its name (unique per account and region).
    public var name: String?
    /// Its description.
    public var description: String?
    /// Its state.
    public var state: ImageState
    /// Why it is in that state, for failed images.
    public var stateReason: StateReason?
    /// The owning account.
    public var ownerID: String?
    /// The owner's alias (`amazon`, `aws-marketplace`).
    public var ownerAlias: String?
    /// Whether anyone may launch it.
    public var isPublic: Bool?
    /// When it was created.
    public var creationDate: Date?
    /// When it is (or was) deprecated.
    public var deprecationTime: Date?
    /// Its CPU architecture (`x86_64`, `arm64`).
    public var architecture: String?
    /// The root device's name (`/dev/xvda`).
    public var rootDeviceName: String?
    /// `ebs` or `instance-store`.
    public var rootDeviceType: String?
    /// `hvm` or `paravirtual`.
    public var virtualizationType: String?
    /// The boot mode (`uefi`, `legacy-bios`, `uefi-preferred`).
    public var bootMode: String?
    /// The instance it was created from.
    public var sourceInstanceID: String?
    /// Its volumes (with the snapshots behind them).
    public var blockDeviceMappings: [BlockDeviceMapping]
    /// Its tags.
    public var tags: [Tag]

    /// Creates an image description (for fakes in tests of code above this module).
    public init(imageID: String, name: String? = nil, description: String? = nil, state: ImageState,
                stateReason: StateReason? = nil, ownerID: String? = nil, ownerAlias: String? = nil,
                isPublic: Bool? = nil, creationDate: Date? = nil, deprecationTime: Date? = nil,
                architecture: String? = nil, rootDeviceName: String? = nil, rootDeviceType: String? = nil,
                virtualizationType: String? = nil, bootMode: String? = nil, sourceInstanceID: String? = nil,
                blockDeviceMappings: [BlockDeviceMapping] = [], tags: [Tag] = []) {
        self.imageID = imageID
        self.name = name
        self.description = description
        self.state = state
        self.stateReason = stateReason
        self.ownerID = ownerID
        self.ownerAlias = ownerAlias
        self.isPublic = isPublic
        self.creationDate = creationDate
        self.deprecationTime = deprecationTime
        self.architecture = architecture
        self.rootDeviceName = rootDeviceName
        self.rootDeviceType = rootDeviceType
        self.virtualizationType = virtualizationType
        self.bootMode = bootMode
        self.sourceInstanceID = sourceInstanceID
        self.blockDeviceMappings = blockDeviceMappings
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        self.init(
            imageID: try xml.required("imageId"),
            name: xml.optional("name"),
            description: xml.optional("description"),
            state: ImageState(rawValue: xml.optional("imageState") ?? ""),
            stateReason: xml.child("stateReason").map(StateReason.init(xml:)).flatMap { $0.code == nil && $0.message == nil ? nil : $0 },
            ownerID: xml.optional("imageOwnerId"),
            ownerAlias: xml.optional("imageOwnerAlias"),
            isPublic: xml.bool("isPublic"),
            creationDate: xml.date("creationDate"),
            deprecationTime: xml.date("deprecationTime"),
            architecture: xml.optional("architecture"),
            rootDeviceName: xml.optional("rootDeviceName"),
            rootDeviceType: xml.optional("rootDeviceType"),
            virtualizationType: xml.optional("virtualizationType"),
            bootMode: xml.optional("bootMode"),
            sourceInstanceID: xml.optional("sourceInstanceId"),
            blockDeviceMappings: try xml.list("blockDeviceMapping"),
            tags: try xml.tagSet())
    }

    /// The IDs of the EBS snapshots behind the image's volumes: what to delete after deregistering it.
    public var snapshotIDs: [String] { blockDeviceMappings.compactMap { $0.ebs?.snapshotID } }
}

/// The input of `CreateImage`: an AMI from an instance.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html
public struct CreateImageRequest: Sendable, Hashable {
    /// The instance to image (best stopped, so its file systems are consistent).
    public var instanceID: String
    /// The AMI's name (3–128 characters: letters, digits, `()[] ./-'@_`).
    public var name: String
    /// The AMI's description.
    public var description: String?
    /// Image without rebooting the instance first.
    public var noReboot: Bool?
    /// Volumes to record differently from the instance's (size, type, encryption, suppression).
    public var blockDeviceMappings: [BlockDeviceMapping]
    /// Tags for the image and for its snapshots (resource types `image` and `snapshot`).
    public var tagSpecifications: [TagSpecification]

    /// Creates the input of `CreateImage`.
    public init(instanceID: String, name: String, description: String? = nil, noReboot: Bool? = nil,
                blockDeviceMappings: [BlockDeviceMapping] = [], tagSpecifications: [TagSpecification] = []) {
        self.instanceID = instanceID
        self.name = name
        self.description = description
        self.noReboot = noReboot
        self.blockDeviceMappings = blockDeviceMappings
        self.tagSpecifications = tagSpecifications
    }

    /// The request's Query parameters.
    var parameters: QueryParameters {
        var parameters = QueryParameters()
        parameters.add("InstanceId", instanceID)
        parameters.add("Name", name)
        parameters.add("Description", description)
        parameters.add("NoReboot", noReboot)
        parameters.add(list: "BlockDeviceMapping", blockDeviceMappings)
        parameters.add(list: "TagSpecification", tagSpecifications)
        return parameters
    }
}

/// The input of `CopyImage`, sent to the destination region's client.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html
public struct CopyImageRequest: Sendable, Hashable {
    /// The AMI to copy.
    public var sourceImageID: String
    /// The region it is in.
    public var sourceRegion: String
    /// The copy's name.
    public var name: String
    /// The copy's description.
    public var description: String?
    /// An idempotency token: a repeated call with it returns the first call's copy.
    public var clientToken: String?
    /// Encrypt the copy's snapshots (with `kmsKeyID`, or the account's EBS default key).
    public var encrypted: Bool?
    /// The KMS key in the destination region for `encrypted`.
    public var kmsKeyID: String?
    /// Copy the source AMI's own tags to the copy.
    public var copyImageTags: Bool?
    /// Tags for the copy and its snapshots.
    public var tagSpecifications: [TagSpecification]

    /// Creates the input of `CopyImage`.
    public init(sourceImageID: String, sourceRegion: String, name: String, description: String? = nil,
                clientToken: String? = nil, encrypted: Bool? = nil, kmsKeyID: String? = nil,
                copyImageTags: Bool? = nil, tagSpecifications: [TagSpecification] = []) {
        self.sourceImageID = sourceImageID
        self.sourceRegion = sourceRegion
        self.name = name
        self.description = description
        self.clientToken = clientToken
        self.encrypted = encrypted
        self.kmsKeyID = kmsKeyID
        self.copyImageTags = copyImageTags
        self.tagSpecifications = tagSpecifications
    }

    /// The request's Query parameters.
    var parameters: QueryParameters {
        var parameters = QueryParameters()
        parameters.add("SourceImageId", sourceImageID)
        parameters.add("SourceRegion", sourceRegion)
        parameters.add("Name", name)
        parameters.add("Description", description)
        parameters.add("ClientToken", clientToken)
        parameters.add("Encrypted", encrypted)
        parameters.add("KmsKeyId", kmsKeyID)
        parameters.add("CopyImageTags", copyImageTags)
        parameters.add(list: "TagSpecification", tagSpecifications)
        return parameters
    }
}

/// Who may launch an AMI (`LaunchPermission`): everyone (group `all`), an account, an organization,
/// or an organizational unit. Exactly one field is set.
public struct LaunchPermission: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// `all` for public.
    public var group: String?
    /// An AWS account ID.
    public var userID: String?
    /// An organization's ARN.
    public var organizationARN: String?
    /// An organizational unit's ARN.
    public var organizationalUnitARN: String?

    /// Creates a launch permission.
    public init(group: String? = nil, userID: String? = nil, organizationARN: String? = nil,
                organizationalUnitARN: String? = nil) {
        self.group = group
        self.userID = userID
        self.organizationARN = organizationARN
        self.organizationalUnitARN = organizationalUnitARN
    }

    /// Everyone: the AMI is public.
    public static let all = LaunchPermission(group: "all")
    /// One AWS account.
    public static func account(_ id: String) -> LaunchPermission { LaunchPermission(userID: id) }
    /// Every account of an organization.
    public static func organization(_ arn: String) -> LaunchPermission { LaunchPermission(organizationARN: arn) }
    /// Every account of an organizational unit.
    public static func organizationalUnit(_ arn: String) -> LaunchPermission {
        LaunchPermission(organizationalUnitARN: arn)
    }

    init(xml: XMLNode) {
        group = xml.optional("group")
        userID = xml.optional("userId")
        organizationARN = xml.optional("organizationArn")
        organizationalUnitARN = xml.optional("organizationalUnitArn")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).Group", group)
        parameters.add("\(prefix).UserId", userID)
        parameters.add("\(prefix).OrganizationArn", organizationARN)
        parameters.add("\(prefix).OrganizationalUnitArn", organizationalUnitARN)
    }
}

/// Launch permissions to add and remove in one `ModifyImageAttribute` call
/// (`LaunchPermissionModifications`).
public struct LaunchPermissionModifications: Sendable, Hashable, QueryEncodable {
    /// Permissions to grant.
    public var add: [LaunchPermission]
    /// Permissions to revoke.
    public var remove: [LaunchPermission]

    /// Creates modifications.
    public init(add: [LaunchPermission] = [], remove: [LaunchPermission] = []) {
        self.add = add
        self.remove = remove
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add(list: "\(prefix).Add", add)
        parameters.add(list: "\(prefix).Remove", remove)
    }
}

/// The image attribute to describe (`ImageAttributeName`).
public enum ImageAttributeName: String, Sendable, Hashable, CaseIterable {
    /// Who may launch the image.
    case launchPermission
    /// The image's description.
    case description
}

/// One attribute of an AMI (`ImageAttribute`): the field of the attribute asked for is set.
public struct ImageAttribute: Sendable, Hashable {
    /// The AMI's ID.
    public var imageID: String
    /// Who may launch it.
    public var launchPermissions: [LaunchPermission]
    /// Its description.
    public var description: String?

    /// Creates an image attribute.
    public init(imageID: String, launchPermissions: [LaunchPermission] = [], description: String? = nil) {
        self.imageID = imageID
        self.launchPermissions = launchPermissions
        self.description = description
    }

    init(xml: XMLNode) throws {
        imageID = try xml.required("imageId")
        launchPermissions = try xml.list("launchPermission")
        description = xml.child("description")?.optional("value")
    }
}

/// Whether the account may share AMIs publicly in a region (`GetImageBlockPublicAccessStateResult`).
public struct GetImageBlockPublicAccessStateResult: Sendable, Hashable {
    /// `block-new-sharing` (public sharing is blocked) or `unblocked`.
    public var imageBlockPublicAccessState: String
    /// `account` or `declarative-policy` (then the account cannot change it).
    public var managedBy: String?

    /// Creates the result.
    public init(imageBlockPublicAccessState: String, managedBy: String? = nil) {
        self.imageBlockPublicAccessState = imageBlockPublicAccessState
        self.managedBy = managedBy
    }

    /// Whether making an AMI public in this region will fail.
    public var blocksPublicSharing: Bool { imageBlockPublicAccessState == "block-new-sharing" }

    init(xml: XMLNode) throws {
        // The reference lists the element as imageBlockPublicAccessState, while its sample response
        // shows <return>; read either.
        guard let state = xml.optional("imageBlockPublicAccessState") ?? xml.optional("return") else {
            throw MissingElement(element: "imageBlockPublicAccessState", parent: xml.name)
        }
        imageBlockPublicAccessState = state
        managedBy = xml.optional("managedBy")
    }
}
