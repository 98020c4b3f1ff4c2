import AWSCore
import Foundation

/// A required element was absent from an answer (reported as `InvalidResponse` with the operation).
struct MissingElement: Error {
    /// The element's name.
    var element: String
    /// The element it should have been in.
    var parent: String
}

/// An element's content could not be read (reported as `InvalidResponse` with the operation).
struct InvalidElement: Error {
    /// The element's name.
    var element: String
    /// What is wrong with it.
    var reason: String
}

/// A shape read from an element of an EC2 answer.
protocol XMLDecodable {
    /// Reads the shape from its element.
    init(xml: XMLNode) throws
}

extension XMLNode {
    /// The text of a child that must be present and non-empty.
    func required(_ name: String) throws -> String {
        guard let text = string(name), !text.isEmpty else { throw MissingElement(element: name, parent: self.name) }
        return text
    }

    /// A child's text, or nil when it is absent or empty (EC2 writes `<reason/>` for "none").
    func optional(_ name: String) -> String? {
        guard let text = string(name), !text.isEmpty else { return nil }
        return text
    }

    /// A boolean child (`true`/`false`).
    func bool(_ name: String) -> Bool? {
        switch string(name)?.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }

    /// An integer child.
    func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }

    /// A timestamp child in ISO 8601.
    func date(_ name: String) -> Date? { string(name).flatMap(EC2Date.parse) }

    /// The shapes in an EC2 list (`<name><item>…</item></name>`).
    func list<T: XMLDecodable>(_ name: String, as type: T.Type = T.self) throws -> [T] {
        try items(name).map { try T(xml: $0) }
    }

    /// The text of each `<item><field>` of an EC2 list.
    func strings(_ name: String, field: String) -> [String] {
        items(name).compactMap { $0.optional(field) }
    }

    /// The tags of a resource (`<tagSet><item><key/><value/></item></tagSet>`).
    func tagSet() throws -> [Tag] { try list("tagSet") }
}

/// Base64 as EC2 uses it for user-data and console output.
enum EC2Base64 {
    /// Decodes base64 text; throws `InvalidElement` naming `element` when it is not base64.
    static func decode(_ text: String, element: String) throws -> [UInt8] {
        let compact = text.filter { !$0.isWhitespace }
        guard let data = Data(base64Encoded: compact) else {
            throw InvalidElement(element: element, reason: "not base64")
        }
        return Array(data)
    }

    /// Encodes bytes as base64 text.
    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }
}

/// The ISO 8601 timestamps of the EC2 API (`2022-06-15T13:17:00Z`, `2024-01-02T03:04:05.000Z`, and
/// the nanosecond or offset forms some answers carry), parsed and written in UTC with no locale or
/// calendar involved.
enum EC2Date {
    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; nil for anything else.
    static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        func digits(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func byte(_ index: Int, is character: Character) -> Bool {
            index < bytes.count && bytes[index] == character.asciiValue
        }
        guard let year = digits(0, 4), byte(4, is: "-"), let month = digits(5, 2), byte(7, is: "-"),
              let day = digits(8, 2), byte(10, is: "T") || byte(10, is: "t") || byte(10, is: " "),
              let hour = digits(11, 2), byte(13, is: ":"), let minute = digits(14, 2), byte(16, is: ":"),
              let second = digits(17, 2),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if byte(index, is: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, (48...57).contains(bytes[index]) {
                fraction += Double(bytes[index] - 48) * scale
                scale /= 10
                index += 1
            }
            guard index > start else { return nil }
        }
        var offset = 0
        if byte(index, is: "Z") || byte(index, is: "z") {
            index += 1
        } else if byte(index, is: "+") || byte(index, is: "-") {
            guard let hours = digits(index + 1, 2), byte(index + 3, is: ":"), let minutes = digits(index + 4, 2)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (byte(index, is: "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second
        return Date(timeIntervalSince1970: Double(seconds - offset) + fraction)
    }

    /// Writes `YYYY-MM-DDTHH:MM:SSZ` in UTC (whole seconds, rounded down), the form the API asks for.
    static func format(_ date: Date) -> String {
        let total = Int(date.timeIntervalSince1970.rounded(.down))
        let days = Int((Double(total) / 86_400).rounded(.down))
        let secondsOfDay = total - days * 86_400
        let (year, month, day) = civilFromDays(days)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        let yearText = String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        return "\(yearText)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay % 3600 / 60)):\(two(secondsOfDay % 60))Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date of a day count since 1970-01-01 (`civil_from_days`).
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
