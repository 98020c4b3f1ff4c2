import AWSCore

/// A security group, with the fields kiln uses (`SecurityGroup`).
public struct SecurityGroup: Sendable, Hashable, XMLDecodable {
    /// The group's ID.
    public var groupID: String
    /// The group's name.
    public var groupName: String?
    /// Its description.
    public var description: String?
    /// Its VPC.
    public var vpcID: String?
    /// The owning account.
    public var ownerID: String?
    /// Inbound rules.
    public var ipPermissions: [IpPermission]
    /// Outbound rules.
    public var ipPermissionsEgress: [IpPermission]
    /// Its tags.
    public var tags: [Tag]

    /// Creates a security group description.
    public init(groupID: String, groupName: String? = nil, description: String? = nil, vpcID: String? = nil,
                ownerID: String? = nil, ipPermissions: [IpPermission] = [], ipPermissionsEgress: [IpPermission] = [],
                tags: [Tag] = []) {
        self.groupID = groupID
        self.groupName = groupName
        self.description = description
        self.vpcID = vpcID
        self.ownerID = ownerID
        self.ipPermissions = ipPermissions
        self.ipPermissionsEgress = ipPermissionsEgress
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        self.init(groupID: try xml.required("groupId"), groupName: xml.optional("groupName"),
                  description: xml.optional("groupDescription"), vpcID: xml.optional("vpcId"),
                  ownerID: xml.optional("ownerId"), ipPermissions: try xml.list("ipPermissions"),
                  ipPermissionsEgress: try xml.list("ipPermissionsEgress"), tags: try xml.tagSet())
    }
}

/// A security group rule (`IpPermission`): a protocol, a port range, and who it applies to.
public struct IpPermission: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// `tcp`, `udp`, `icmp`, a protocol number, or `-1` for all traffic.
    public var ipProtocol: String
    /// The first port (or ICMP type); nil for all traffic.
    public var fromPort: Int?
    /// The last port (or ICMP code); nil for all traffic.
    public var toPort: Int?
    /// IPv4 ranges.
    public var ipRanges: [IpRange]
    /// IPv6 ranges.
    public var ipv6Ranges: [Ipv6Range]
    /// Security groups.
    public var userIDGroupPairs: [UserIdGroupPair]

    /// Creates a rule.
    public init(ipProtocol: String, fromPort: Int? = nil, toPort: Int? = nil, ipRanges: [IpRange] = [],
                ipv6Ranges: [Ipv6Range] = [], userIDGroupPairs: [UserIdGroupPair] = []) {
        self.ipProtocol = ipProtocol
        self.fromPort = fromPort
        self.toPort = toPort
        self.ipRanges = ipRanges
        self.ipv6Ranges = ipv6Ranges
        self.userIDGroupPairs = userIDGroupPairs
    }

    /// All traffic to or from anywhere over IPv4: the egress rule every new group starts with.
    public static let allIPv4Traffic = IpPermission(ipProtocol: "-1", ipRanges: [IpRange(cidrIP: "0.0.0.0/0")])

    /// TCP on one port to or from IPv4 and IPv6 ranges.
    public static func tcp(port: Int, ipv4: [String] = [], ipv6: [String] = [], description: String? = nil) -> IpPermission {
        IpPermission(ipProtocol: "tcp", fromPort: port, toPort: port,
                     ipRanges: ipv4.map { IpRange(cidrIP: $0, description: description) },
                     ipv6Ranges: ipv6.map { Ipv6Range(cidrIPv6: $0, description: description) })
    }

    init(xml: XMLNode) throws {
        ipProtocol = try xml.required("ipProtocol")
        fromPort = xml.int("fromPort")
        toPort = xml.int("toPort")
        ipRanges = try xml.list("ipRanges")
        ipv6Ranges = try xml.list("ipv6Ranges")
        userIDGroupPairs = try xml.list("groups")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).IpProtocol", ipProtocol)
        parameters.add("\(prefix).FromPort", fromPort)
        parameters.add("\(prefix).ToPort", toPort)
        parameters.add(list: "\(prefix).IpRanges", ipRanges)
        parameters.add(list: "\(prefix).Ipv6Ranges", ipv6Ranges)
        // UserIdGroupPairs travels under its XML name, "Groups".
        parameters.add(list: "\(prefix).Groups", userIDGroupPairs)
    }
}

/// An IPv4 range of a rule (`IpRange`).
public struct IpRange: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// The CIDR block (`0.0.0.0/0`).
    public var cidrIP: String
    /// What the range is for.
    public var description: String?

    /// Creates a range.
    public init(cidrIP: String, description: String? = nil) {
        self.cidrIP = cidrIP
        self.description = description
    }

    init(xml: XMLNode) throws {
        cidrIP = try xml.required("cidrIp")
        description = xml.optional("description")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).CidrIp", cidrIP)
        parameters.add("\(prefix).Description", description)
    }
}

/// An IPv6 range of a rule (`Ipv6Range`).
public struct Ipv6Range: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// The CIDR block (`::/0`).
    public var cidrIPv6: String
    /// What the range is for.
    public var description: String?

    /// Creates a range.
    public init(cidrIPv6: String, description: String? = nil) {
        self.cidrIPv6 = cidrIPv6
        self.description = description
    }

    init(xml: XMLNode) throws {
        cidrIPv6 = try xml.required("cidrIpv6")
        description = xml.optional("description")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).CidrIpv6", cidrIPv6)
        parameters.add("\(prefix).Description", description)
    }
}

/// A security group a rule refers to (`UserIdGroupPair`).
public struct UserIdGroupPair: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// The group's ID.
    public var groupID: String
    /// The account owning the group, when it is another account's.
    public var userID: String?
    /// What the rule is for.
    public var description: String?

    /// Creates a group reference.
    public init(groupID: String, userID: String? = nil, description: String? = nil) {
        self.groupID = groupID
        self.userID = userID
        self.description = description
    }

    init(xml: XMLNode) throws {
        groupID = try xml.required("groupId")
        userID = xml.optional("userId")
        description = xml.optional("description")
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).GroupId", groupID)
        parameters.add("\(prefix).UserId", userID)
        parameters.add("\(prefix).Description", description)
    }
}

/// What `CreateSecurityGroup` answers (`CreateSecurityGroupResult`).
public struct CreateSecurityGroupResult: Sendable, Hashable {
    /// The new group's ID.
    public var groupID: String
    /// The tags applied to it.
    public var tags: [Tag]

    /// Creates the result.
    public init(groupID: String, tags: [Tag] = []) {
        self.groupID = groupID
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        groupID = try xml.required("groupId")
        tags = try xml.tagSet()
    }
}

extension EC2Client {
    /// `CreateSecurityGroup`: a group in a VPC (the default VPC when `vpcID` is nil). A new group has no
    /// inbound rule and one outbound rule allowing everything.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateSecurityGroup.html
    public func createSecurityGroup(groupName: String, description: String, vpcID: String? = nil,
                                    tagSpecifications: [TagSpecification] = []) throws -> CreateSecurityGroupResult {
        var parameters = QueryParameters()
        parameters.add("GroupName", groupName)
        parameters.add("GroupDescription", description)
        parameters.add("VpcId", vpcID)
        parameters.add(list: "TagSpecification", tagSpecifications)
        return try call("CreateSecurityGroup", parameters) { try CreateSecurityGroupResult(xml: $0) }
    }

    /// `DeleteSecurityGroup`: deletes a group (it fails with `DependencyViolation` while an instance,
    /// even a terminating one, still uses it).
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html
    public func deleteSecurityGroup(groupID: String) throws {
        var parameters = QueryParameters()
        parameters.add("GroupId", groupID)
        try callReturningBool("DeleteSecurityGroup", parameters)
    }

    /// `DescribeSecurityGroups`: the groups with these IDs and/or matching these filters; every page.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSecurityGroups.html
    public func describeSecurityGroups(groupIDs: [String] = [], filters: [Filter] = [],
                                       maxResults: Int? = nil) throws -> [SecurityGroup] {
        var parameters = QueryParameters()
        parameters.add(list: "GroupId", groupIDs)
        parameters.add(list: "Filter", filters)
        if groupIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        return try paginate("DescribeSecurityGroups", parameters) { try $0.list("securityGroupInfo") }
    }

    /// `RevokeSecurityGroupEgress`: removes outbound rules; returns the answer's `return`.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RevokeSecurityGroupEgress.html
    @discardableResult
    public func revokeSecurityGroupEgress(groupID: String, ipPermissions: [IpPermission]) throws -> Bool {
        var parameters = QueryParameters()
        parameters.add("GroupId", groupID)
        parameters.add(list: "IpPermissions", ipPermissions)
        return try callReturningBool("RevokeSecurityGroupEgress", parameters)
    }

    /// `AuthorizeSecurityGroupEgress`: adds outbound rules; returns the answer's `return`.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AuthorizeSecurityGroupEgress.html
    @discardableResult
    public func authorizeSecurityGroupEgress(groupID: String, ipPermissions: [IpPermission]) throws -> Bool {
        var parameters = QueryParameters()
        parameters.add("GroupId", groupID)
        parameters.add(list: "IpPermissions", ipPermissions)
        return try callReturningBool("AuthorizeSecurityGroupEgress", parameters)
    }
}
