import AWSCore

/// A VPC, with the fields kiln uses (`Vpc`).
public struct Vpc: Sendable, Hashable, XMLDecodable {
    /// The VPC's ID.
    public var vpcID: String
    /// Its primary IPv4 CIDR block.
    public var cidrBlock: String?
    /// Whether it is the region's default VPC.
    public var isDefault: Bool
    /// `pending` or `available`.
    public var state: String?
    /// The owning account.
    public var ownerID: String?
    /// Its tags.
    public var tags: [Tag]

    /// Creates a VPC description.
    public init(vpcID: String, cidrBlock: String? = nil, isDefault: Bool = false, state: String? = nil,
                ownerID: String? = nil, tags: [Tag] = []) {
        self.vpcID = vpcID
        self.cidrBlock = cidrBlock
        self.isDefault = isDefault
        self.state = state
        self.ownerID = ownerID
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        self.init(vpcID: try xml.required("vpcId"), cidrBlock: xml.optional("cidrBlock"),
                  isDefault: xml.bool("isDefault") ?? false, state: xml.optional("state"),
                  ownerID: xml.optional("ownerId"), tags: try xml.tagSet())
    }
}

/// A subnet, with the fields kiln uses (`Subnet`).
public struct Subnet: Sendable, Hashable, XMLDecodable {
    /// The subnet's ID.
    public var subnetID: String
    /// Its VPC.
    public var vpcID: String?
    /// Its Availability Zone (`us-east-1a`).
    public var availabilityZone: String?
    /// Its IPv4 CIDR block.
    public var cidrBlock: String?
    /// Whether it is its zone's default subnet.
    public var defaultForAz: Bool?
    /// Whether instances launched in it get a public IPv4 address.
    public var mapPublicIpOnLaunch: Bool?
    /// Free IPv4 addresses.
    public var availableIpAddressCount: Int?
    /// `pending` or `available`.
    public var state: String?
    /// Its tags.
    public var tags: [Tag]

    /// Creates a subnet description.
    public init(subnetID: String, vpcID: String? = nil, availabilityZone: String? = nil, cidrBlock: String? = nil,
                defaultForAz: Bool? = nil, mapPublicIpOnLaunch: Bool? = nil, availableIpAddressCount: Int? = nil,
                state: String? = nil, tags: [Tag] = []) {
        self.subnetID = subnetID
        self.vpcID = vpcID
        self.availabilityZone = availabilityZone
        self.cidrBlock = cidrBlock
        self.defaultForAz = defaultForAz
        self.mapPublicIpOnLaunch = mapPublicIpOnLaunch
        self.availableIpAddressCount = availableIpAddressCount
        self.state = state
        self.tags = tags
    }

    init(xml: XMLNode) throws {
        self.init(subnetID: try xml.required("subnetId"), vpcID: xml.optional("vpcId"),
                  availabilityZone: xml.optional("availabilityZone"), cidrBlock: xml.optional("cidrBlock"),
                  defaultForAz: xml.bool("defaultForAz"), mapPublicIpOnLaunch: xml.bool("mapPublicIpOnLaunch"),
                  availableIpAddressCount: xml.int("availableIpAddressCount"), state: xml.optional("state"),
                  tags: try xml.tagSet())
    }
}

extension EC2Client {
    /// `DescribeVpcs`: the VPCs with these IDs and/or matching these filters (`Filter("isDefault",
    /// "true")` finds the default VPC); every page.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeVpcs.html
    public func describeVpcs(vpcIDs: [String] = [], filters: [Filter] = [], maxResults: Int? = nil) throws -> [Vpc] {
        var parameters = QueryParameters()
        parameters.add(list: "VpcId", vpcIDs)
        parameters.add(list: "Filter", filters)
        if vpcIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        return try paginate("DescribeVpcs", parameters) { try $0.list("vpcSet") }
    }

    /// `DescribeSubnets`: the subnets with these IDs and/or matching these filters (`vpc-id`,
    /// `default-for-az`, `availability-zone`, …); every page.
    /// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSubnets.html
    public func describeSubnets(subnetIDs: [String] = [], filters: [Filter] = [],
                                maxResults: Int? = nil) throws -> [Subnet] {
        var parameters = QueryParameters()
        parameters.add(list: "SubnetId", subnetIDs)
        parameters.add(list: "Filter", filters)
        if subnetIDs.isEmpty { parameters.add("MaxResults", maxResults) }
        return try paginate("DescribeSubnets", parameters) { try $0.list("subnetSet") }
    }
}
