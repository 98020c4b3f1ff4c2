import Foundation

/// An SSM parameter as `GetParameter`, `GetParameters` and `GetParametersByPath` return it.
///
/// `description` and `customMirror` hide the value of a `SecureString`, so a decrypted secret cannot
/// reach a log by accident.
public struct Parameter: Sendable, Equatable, Decodable, CustomStringConvertible, CustomReflectable {
    /// The full name (`/kiln/images/stats/ami-id`).
    public var name: String
    /// `String`, `StringList` or `SecureString`.
    public var type: ParameterType
    /// The value (decrypted only when asked for `withDecryption`).
    public var value: String
    /// The version, incremented by every overwrite.
    public var version: Int
    /// `text`, or `aws:ec2:image` for a parameter AWS validates as an AMI ID.
    public var dataType: ParameterDataType?
    /// When the value last changed.
    public var lastModifiedDate: Date?
    /// The parameter's ARN.
    public var arn: String?

    /// Makes a parameter (for fakes in tests of code above this module).
    public init(name: String, type: ParameterType, value: String, version: Int, dataType: ParameterDataType? = nil,
                lastModifiedDate: Date? = nil, arn: String? = nil) {
        self.name = name
        self.type = type
        self.value = value
        self.version = version
        self.dataType = dataType
        self.lastModifiedDate = lastModifiedDate
        self.arn = arn
    }

    enum CodingKeys: String, CodingKey {
        case name = "Name", type = "Type", value = "Value", version = "Version", dataType = "DataType"
        case lastModifiedDate = "LastModifiedDate", arn = "ARN"
    }

    /// Decodes the JSON 1.1 shape (timestamps are seconds since 1970).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        type = try container.decodeIfPresent(ParameterType.self, forKey: .type) ?? .string
        value = try container.decodeIfPresent(String.self, forKey: .value) ?? ""
        version = try container.decodeIfPresent(Int.self, forKey: .version) ?? 0
        dataType = try container.decodeIfPresent(ParameterDataType.self, forKey: .dataType)
        lastModifiedDate = try container.decodeIfPresent(Double.self, forKey: .lastModifiedDate)
            .map(Date.init(timeIntervalSince1970:))
        arn = try container.decodeIfPresent(String.self, forKey: .arn)
    }

    /// The value as shown: `<redacted>` for a `SecureString`.
    var shownValue: String { type == .secureString ? "<redacted>" : value }

    /// Name, type, version and (unless it is a `SecureString`) the value.
    public var description: String {
        "Parameter(\(name), \(type.rawValue), version \(version), value: \(shownValue))"
    }

    /// A mirror that redacts a `SecureString`'s value, so `dump` cannot leak it either.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "type": type, "value": shownValue, "version": version,
                                "dataType": dataType as Any, "lastModifiedDate": lastModifiedDate as Any,
                                "arn": arn as Any])
    }
}

/// A parameter's type (`Type`): `String`, `StringList` or `SecureString`.
public struct ParameterType: RawRepresentable, Hashable, Sendable, Codable {
    /// The API's spelling.
    public var rawValue: String
    /// Makes a type from the API's spelling.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Plain text.
    public static let string = ParameterType(rawValue: "String")
    /// Comma-separated values.
    public static let stringList = ParameterType(rawValue: "StringList")
    /// Encrypted with KMS; its value is a secret.
    public static let secureString = ParameterType(rawValue: "SecureString")
}

/// A parameter's data type (`DataType`): `text`, or `aws:ec2:image` (AWS checks the value is an AMI ID
/// it can see before it stores it).
public struct ParameterDataType: RawRepresentable, Hashable, Sendable, Codable {
    /// The API's spelling.
    public var rawValue: String
    /// Makes a data type from the API's spelling.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Any text (the default).
    public static let text = ParameterDataType(rawValue: "text")
    /// An AMI ID.
    public static let ec2Image = ParameterDataType(rawValue: "aws:ec2:image")
}

/// A resource tag (`Tag`: `Key`, `Value`).
public struct Tag: Sendable, Hashable, Codable {
    /// The key.
    public var key: String
    /// The value.
    public var value: String

    /// Makes a tag.
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    enum CodingKeys: String, CodingKey {
        case key = "Key", value = "Value"
    }
}

/// What `PutParameter` stores. Its mirror (and so its printed form) hides a `SecureString`'s value.
public struct PutParameterRequest: Sendable, Equatable, CustomReflectable {
    /// The full name; must start with `/` for hierarchical names.
    public var name: String
    /// The value.
    public var value: String
    /// The type (default `String`).
    public var type: ParameterType
    /// The data type (default `text`; `aws:ec2:image` for AMI IDs).
    public var dataType: ParameterDataType
    /// Replace an existing parameter (a new version) instead of failing with `ParameterAlreadyExists`.
    public var overwrite: Bool
    /// A description shown in the console.
    public var description: String?
    /// Tags. AWS accepts tags only when a parameter is created, so they are sent only when `overwrite`
    /// is false (tag an existing parameter with `AddTagsToResource`).
    public var tags: [Tag]

    /// Makes a request.
    public init(name: String, value: String, type: ParameterType = .string, dataType: ParameterDataType = .text,
                overwrite: Bool = false, description: String? = nil, tags: [Tag] = []) {
        self.name = name
        self.value = value
        self.type = type
        self.dataType = dataType
        self.overwrite = overwrite
        self.description = description
        self.tags = tags
    }

    /// A mirror that redacts a `SecureString`'s value.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "value": type == .secureString ? "<redacted>" : value, "type": type,
                                "dataType": dataType, "overwrite": overwrite, "description": description as Any,
                                "tags": tags])
    }
}

/// What `GetParameters` answers: the parameters found and the names that were not.
public struct GetParametersResult: Sendable, Equatable, Decodable {
    /// The parameters found.
    public var parameters: [Parameter]
    /// The names asked for that do not exist.
    public var invalidParameters: [String]

    enum CodingKeys: String, CodingKey {
        case parameters = "Parameters", invalidParameters = "InvalidParameters"
    }

    /// Decodes the answer; missing lists are empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        parameters = try container.decodeIfPresent([Parameter].self, forKey: .parameters) ?? []
        invalidParameters = try container.decodeIfPresent([String].self, forKey: .invalidParameters) ?? []
    }
}
