import Foundation

/// The shared AWS `config` and `credentials` files, parsed, with the file and line of every setting.
///
/// Format: AWS SDKs and Tools Reference Guide, "The shared config and credentials files"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/file-format.html). In the config file a profile's
/// section is `[profile NAME]`, except `[default]` (`[profile default]` wins when both exist); other
/// sections (`[sso-session …]`, `[services …]`) are skipped. In the credentials file a section is `[NAME]`.
/// Lines starting with `#` or `;` are comments, as is the rest of a value after whitespace and `#` or `;`.
/// An indented line after a setting continues it (sub-settings such as `s3 =`). Keys are case-insensitive.
/// A missing file counts as empty, as in the SDKs.
public struct SharedConfig: Sendable {
    /// One setting's value and where it was read, so errors can point at it.
    public struct Value: Sendable, Equatable {
        /// The value, trimmed, without any trailing comment.
        public var value: String
        /// The file it came from.
        public var file: String
        /// Its 1-based line number.
        public var line: Int

        /// "file:line", for messages.
        public var location: String { "\(file):\(line)" }
    }

    /// One profile's settings: the config file's, overlaid with the credentials file's.
    public struct Profile: Sendable {
        /// The profile's name (without the `profile ` prefix).
        public let name: String
        /// Settings by lower-cased key.
        public internal(set) var values: [String: Value]

        init(name: String, values: [String: Value] = [:]) {
            self.name = name
            self.values = values
        }

        /// The value of `key`, or nil when it is missing or empty.
        public subscript(key: String) -> String? {
            guard let value = values[key.lowercased()]?.value, !value.isEmpty else { return nil }
            return value
        }

        /// "file:line" of `key`, or a description of the profile when the key is missing.
        public func location(of key: String) -> String {
            values[key.lowercased()]?.location ?? "profile '\(name)'"
        }

        mutating func overlay(_ other: Profile) {
            values.merge(other.values) { _, new in new }
        }
    }

    /// The config file's path (AWS_CONFIG_FILE, else ~/.aws/config), nil when neither it nor HOME is set.
    public let configPath: String?
    /// The credentials file's path (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials), nil likewise.
    public let credentialsPath: String?
    /// Profiles of the config file by name.
    public let configProfiles: [String: Profile]
    /// Profiles of the credentials file by name.
    public let credentialsProfiles: [String: Profile]

    /// Parses already-read file contents (nil for a missing file).
    public init(config: String?, configPath: String?, credentials: String?, credentialsPath: String?) throws {
        self.configPath = configPath
        self.credentialsPath = credentialsPath
        configProfiles = try config.map { try Self.parse($0, file: configPath ?? "config", isConfigFile: true) } ?? [:]
        credentialsProfiles = try credentials.map {
            try Self.parse($0, file: credentialsPath ?? "credentials", isConfigFile: false)
        } ?? [:]
    }

    /// Reads and parses both files at the paths `environment` selects. HOME comes from `environment` too.
    public static func load(environment: [String: String]) throws -> SharedConfig {
        let (configPath, credentialsPath) = paths(environment: environment)
        return try SharedConfig(config: try configPath.flatMap { try read($0, purpose: "AWS config file") },
                                configPath: configPath,
                                credentials: try credentialsPath.flatMap { try read($0, purpose: "AWS credentials file") },
                                credentialsPath: credentialsPath)
    }

    /// The paths of the config and credentials files: AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE
    /// (a leading `~/` means HOME), else `$HOME/.aws/config` and `$HOME/.aws/credentials`.
    public static func paths(environment: [String: String]) -> (config: String?, credentials: String?) {
        let home = environment["HOME"].nonEmpty
        func resolve(_ variable: String, _ fallback: String) -> String? {
            if let path = environment[variable].nonEmpty {
                if path.hasPrefix("~/"), let home { return home + path.dropFirst() }
                return path
            }
            return home.map { ($0.hasSuffix("/") ? String($0.dropLast()) : $0) + "/.aws/" + fallback }
        }
        return (resolve("AWS_CONFIG_FILE", "config"), resolve("AWS_SHARED_CREDENTIALS_FILE", "credentials"))
    }

    /// The profile name in effect: the explicit option, else AWS_PROFILE, else "default".
    public static func selectedProfile(option: String?, environment: [String: String]) -> String {
        option.nonEmpty ?? environment["AWS_PROFILE"].nonEmpty ?? "default"
    }

    /// The profile `name` from both files, the credentials file's settings winning (as in the SDKs), or nil
    /// when neither file has it.
    public func profile(named name: String) -> Profile? {
        let fromConfig = configProfiles[name]
        let fromCredentials = credentialsProfiles[name]
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        var merged = fromConfig ?? Profile(name: name)
        if let fromCredentials { merged.overlay(fromCredentials) }
        return merged
    }

    /// Every profile name in either file, sorted.
    public var profileNames: [String] {
        Set(configProfiles.keys).union(credentialsProfiles.keys).sorted()
    }

    /// The existing files' paths, for messages.
    var filesDescription: [String] {
        [configPath, credentialsPath].compactMap { $0 }
    }

    // MARK: reading and parsing

    private static func read(_ path: String, purpose: String) throws -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        if isDirectory.boolValue {
            throw CredentialsError.unreadable(path, purpose: purpose, reason: "it is a directory")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CredentialsError.unreadable(path, purpose: purpose, reason: "permission denied or I/O error")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Parses one file. Messages never quote a line: a malformed line may hold a secret.
    static func parse(_ text: String, file: String, isConfigFile: Bool) throws -> [String: Profile] {
        var profiles: [String: Profile] = [:]
        var bareDefault: Profile?          // `[default]` in the config file, used when `[profile default]` is absent
        var current: String?               // the section's profile name; nil outside a profile section
        var inSection = false              // inside any section (profiles and skipped ones)
        var inBareDefault = false
        var lastKey: String?

        func store(_ key: String, _ value: Value) {
            if inBareDefault {
                bareDefault?.values[key] = value
            } else if let current {
                profiles[current, default: Profile(name: current)].values[key] = value
            }
        }
        func existing(_ key: String) -> Value? {
            inBareDefault ? bareDefault?.values[key] : current.flatMap { profiles[$0]?.values[key] }
        }

        var text = Substring(text)
        if text.hasPrefix("\u{FEFF}") { text = text.dropFirst() }
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.trimmed
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }

            if trimmed.hasPrefix("[") {
                guard let close = trimmed.firstIndex(of: "]") else {
                    throw CredentialsError.syntax(file: file, line: number, "section header is missing its closing ']'")
                }
                let after = trimmed[trimmed.index(after: close)...].trimmed
                guard after.isEmpty || after.hasPrefix("#") || after.hasPrefix(";") else {
                    throw CredentialsError.syntax(file: file, line: number, "unexpected text after a section header")
                }
                let header = trimmed[trimmed.index(after: trimmed.startIndex)..<close].trimmed
                guard !header.isEmpty else {
                    throw CredentialsError.syntax(file: file, line: number, "empty section name '[]'")
                }
                inSection = true
                inBareDefault = false
                lastKey = nil
                current = nil
                if !isConfigFile {
                    current = String(header)
                } else if header == "default" {
                    inBareDefault = true
                    if bareDefault == nil { bareDefault = Profile(name: "default") }
                } else if header.hasPrefix("profile"), header.dropFirst("profile".count).first?.isWhitespace == true {
                    let name = header.dropFirst("profile".count).trimmed
                    guard !name.isEmpty else {
                        throw CredentialsError.syntax(file: file, line: number, "'[profile]' needs a profile name")
                    }
                    current = String(name)
                }
                // Any other config section (sso-session, services, plugins, a bare name) is skipped.
                continue
            }

            if line.first == " " || line.first == "\t" {
                // A continuation of the previous setting (or one of its sub-settings).
                guard let key = lastKey else {
                    throw CredentialsError.syntax(file: file, line: number,
                                                  "an indented line must follow a `key = value` setting")
                }
                if var value = existing(key) {
                    value.value += (value.value.isEmpty ? "" : "\n") + String(trimmed)
                    store(key, value)
                }
                continue
            }

            guard let equals = line.firstIndex(of: "=") else {
                throw CredentialsError.syntax(file: file, line: number, "expected '[section]' or 'key = value'")
            }
            guard inSection else {
                throw CredentialsError.syntax(file: file, line: number,
                                              "a setting appears before any [section] header")
            }
            let key = line[..<equals].trimmed.lowercased()
            guard !key.isEmpty else {
                throw CredentialsError.syntax(file: file, line: number, "a setting has no name before '='")
            }
            store(key, Value(value: stripComment(line[line.index(after: equals)...]), file: file, line: number))
            lastKey = key
        }
        if isConfigFile, profiles["default"] == nil, let bareDefault {
            profiles["default"] = bareDefault
        }
        return profiles
    }

    /// The value without a trailing comment (`#` or `;` preceded by whitespace), trimmed.
    private static func stripComment(_ value: Substring) -> String {
        var previous: Character = "="
        for index in value.indices {
            let c = value[index]
            if (c == "#" || c == ";") && previous.isWhitespace {
                return String(value[..<index].trimmed)
            }
            previous = c
        }
        return String(value.trimmed)
    }
}

extension SharedConfig.Profile: CustomStringConvertible, CustomReflectable {
    /// Settings whose values are secret.
    static let secretKeys: Set<String> = ["aws_secret_access_key", "aws_session_token"]

    /// The profile's settings with secret values shown as `<redacted>`.
    public var description: String {
        let settings = values.keys.sorted().map { key in
            "\(key) = \(Self.secretKeys.contains(key) ? "<redacted>" : values[key]?.value ?? "")"
        }
        return "Profile(\(name): \(settings.joined(separator: ", ")))"
    }

    /// A mirror showing only the redacted description, so `dump` cannot leak secrets either.
    public var customMirror: Mirror {
        Mirror(self, children: ["name": name, "settings": description])
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmed: Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
