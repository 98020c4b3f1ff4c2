import AWSCore

/// A tag: a key and a value on an EC2 resource (`Tag`).
public struct Tag: Sendable, Hashable, QueryEncodable, XMLDecodable {
    /// The key (up to 127 characters; `aws:` is reserved).
    public var key: String
    /// The value (up to 255 characters; may be empty).
    public var value: String

    /// Creates a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    init(xml: XMLNode) throws {
        key = try xml.required("key")
        value = xml.string("value") ?? ""
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).Key", key)
        parameters.add("\(prefix).Value", value)
    }
}

extension Array where Element == Tag {
    /// The value of the tag with this key, if any.
    public func value(for key: String) -> String? { first { $0.key == key }?.value }

    /// Tags from a dictionary, sorted by key (so requests are reproducible).
    public init(_ dictionary: [String: String]) {
        self = dictionary.sorted { $0.key < $1.key }.map { Tag(key: $0.key, value: $0.value) }
    }
}

/// A filter of a Describe call (`Filter`): results match when the named property has one of the values.
/// Filter names are listed with each operation in the API reference (`tag:Name`, `tag-key`,
/// `instance-state-name`, `isDefault`, `vpc-id`, `name`, …).
public struct Filter: Sendable, Hashable, QueryEncodable {
    /// The filter's name.
    public var name: String
    /// The values, any of which matches (`*` and `?` are wildcards where the API allows them).
    public var values: [String]

    /// Creates a filter.
    public init(name: String, values: [String]) {
        self.name = name
        self.values = values
    }

    /// Creates a filter from its name and values.
    public init(_ name: String, _ values: String...) {
        self.init(name: name, values: values)
    }

    /// Matches resources that carry the tag `key` with one of `values`.
    public static func tag(_ key: String, _ values: String...) -> Filter {
        Filter(name: "tag:\(key)", values: values)
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).Name", name)
        parameters.add(list: "\(prefix).Value", values)
    }
}

/// The type of resource a tag specification applies to (`ResourceType`).
public struct ResourceType: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral {
    /// The API's name for the type.
    public var rawValue: String
    /// Creates a resource type from the API's name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a resource type from a literal.
    public init(stringLiteral value: String) { self.rawValue = value }

    /// An instance.
    public static let instance: ResourceType = "instance"
    /// An EBS volume.
    public static let volume: ResourceType = "volume"
    /// An AMI.
    public static let image: ResourceType = "image"
    /// An EBS snapshot.
    public static let snapshot: ResourceType = "snapshot"
    /// A security group.
    public static let securityGroup: ResourceType = "security-group"
    /// A network interface.
    public static let networkInterface: ResourceType = "network-interface"
    /// A spot instance request.
    public static let spotInstancesRequest: ResourceType = "spot-instances-request"
}

/// Tags to apply to resources as they are created (`TagSpecification`).
public struct TagSpecification: Sendable, Hashable, QueryEncodable {
    /// The type of resource the tags go on.
    public var resourceType: ResourceType
    /// The tags.
    public var tags: [Tag]

    /// Creates a tag specification.
    public init(resourceType: ResourceType, tags: [Tag]) {
        self.resourceType = resourceType
        self.tags = tags
    }

    func encode(into parameters: inout QueryParameters, prefix: String) {
        parameters.add("\(prefix).ResourceType", resourceType.rawValue)
        parameters.add(list: "\(prefix).Tag", tags)
    }
}

/// One tag of one resource, as `DescribeTags` lists it (`TagDescription`).
public struct TagDescription: Sendable, Hashable, XMLDecodable {
    /// The resource's ID.
    public var resourceID: String
    /// The resource's type.
    public var resourceType: ResourceType
    /// The tag's key.
    public var key: String
    /// The tag's value.
    public var value: String

    /// Creates a tag description.
    public init(resourceID: String, resourceType: ResourceType, key: String, value: String) {
        self.resourceID = resourceID
        self.resourceType = resourceType
        self.key = key
        self.value = value
    }

    init(xml: XMLNode) throws {
        resourceID = try xml.required("resourceId")
        resourceType = ResourceType(rawValue: xml.string("resourceType") ?? "")
        key = try xml.required("key")
        value = xml.string("value") ?? ""
    }
}

/// Why a resource is in its state, for failures (`StateReason`).
public struct StateReason: Sendable, Hashable, XMLDecodable {
    /// The reason's code (`Server.SpotInstanceTermination`, `Client.UserInitiatedShutdown`, …).
    public var code: String?
    /// The reason in words.
    public var message: String?

    /// Creates a state reason.
    public init(code: String?, message: String?) {
        self.code = code
        self.message = message
    }

    init(xml: XMLNode) {
        code = xml.optional("code")
        message = xml.optional("message")
    }
}
