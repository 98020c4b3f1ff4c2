import Foundation

/// The form parameters of one EC2 Query request, in the order they are added.
///
/// EC2 flattens structures and lists into dotted names: a list member is `Name.N` (from 1), a
/// structure's field is `Prefix.Field`, so a filter value is `Filter.1.Value.1` and a tag of a tag
/// specification is `TagSpecification.1.Tag.1.Key`.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
struct QueryParameters {
    /// The name–value pairs, unencoded.
    private(set) var pairs: [(String, String)] = []

    /// An empty parameter list.
    init() {}

    /// Adds `name=value` when `value` is present.
    mutating func add(_ name: String, _ value: String?) {
        if let value { pairs.append((name, value)) }
    }

    /// Adds a boolean as `true` or `false`.
    mutating func add(_ name: String, _ value: Bool?) {
        add(name, value.map { $0 ? "true" : "false" })
    }

    /// Adds an integer.
    mutating func add(_ name: String, _ value: Int?) {
        add(name, value.map { String($0) })
    }

    /// Adds a timestamp in ISO 8601 (`2022-06-15T13:17:00Z`).
    mutating func add(_ name: String, _ value: Date?) {
        add(name, value.map(EC2Date.format))
    }

    /// Adds a structure's fields under `name.`.
    mutating func add<T: QueryEncodable>(structure name: String, _ value: T?) {
        value?.encode(into: &self, prefix: name)
    }

    /// Adds a list of strings as `name.1`, `name.2`, …
    mutating func add(list name: String, _ values: [String]) {
        for (index, value) in values.enumerated() { add("\(name).\(index + 1)", value) }
    }

    /// Adds a list of structures as `name.1.Field`, `name.2.Field`, …
    mutating func add<T: QueryEncodable>(list name: String, _ values: [T]) {
        for (index, value) in values.enumerated() { value.encode(into: &self, prefix: "\(name).\(index + 1)") }
    }
}

/// A shape that can be written as Query parameters under a prefix.
protocol QueryEncodable {
    /// Adds this value's fields as `prefix.Field` parameters.
    func encode(into parameters: inout QueryParameters, prefix: String)
}
