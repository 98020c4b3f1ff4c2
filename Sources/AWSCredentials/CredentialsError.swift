/// The one error type of AWSCredentials: what failed, where (a file and line for configuration
/// problems), and what to do. Never carries a secret: no key, token, process output or config line
/// text is ever copied into it.
public struct CredentialsError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        /// Every source was tried and none had credentials; each entry says what was looked at.
        case noCredentials(tried: [String])
        /// A profile was selected explicitly (option or AWS_PROFILE) but neither file defines it.
        case profileNotFound(name: String, files: [String], available: [String])
        /// A config or credentials file could not be parsed.
        case syntax(file: String, line: Int, message: String)
        /// A setting's value is wrong; `location` is "file:line" or an environment variable name.
        case invalidSetting(location: String, message: String)
        /// A file could not be read.
        case unreadable(path: String, purpose: String, reason: String)
        /// `source_profile` references form a loop.
        case cycle([String])
        /// A `credential_process` failed or printed something unusable.
        case process(profile: String, message: String)
        /// The container or instance metadata endpoint failed.
        case endpoint(provider: String, target: String, message: String)
        /// A role must be assumed but no STS caller was given.
        case noSTS(role: String)
        /// STS refused or failed an AssumeRole call.
        case assumeRole(role: String, via: String, underlying: String)
        /// No region could be found.
        case noRegion(tried: [String])
    }

    private let code: Code

    private init(_ code: Code) { self.code = code }

    static func noCredentials(tried: [String]) -> CredentialsError { .init(.noCredentials(tried: tried)) }
    static func profileNotFound(_ name: String, files: [String], available: [String]) -> CredentialsError {
        .init(.profileNotFound(name: name, files: files, available: available))
    }
    static func syntax(file: String, line: Int, _ message: String) -> CredentialsError {
        .init(.syntax(file: file, line: line, message: message))
    }
    static func invalidSetting(_ location: String, _ message: String) -> CredentialsError {
        .init(.invalidSetting(location: location, message: message))
    }
    static func unreadable(_ path: String, purpose: String, reason: String) -> CredentialsError {
        .init(.unreadable(path: path, purpose: purpose, reason: reason))
    }
    static func cycle(_ profiles: [String]) -> CredentialsError { .init(.cycle(profiles)) }
    static func process(profile: String, _ message: String) -> CredentialsError {
        .init(.process(profile: profile, message: message))
    }
    static func endpoint(_ provider: String, target: String, _ message: String) -> CredentialsError {
        .init(.endpoint(provider: provider, target: target, message: message))
    }
    static func noSTS(role: String) -> CredentialsError { .init(.noSTS(role: role)) }
    static func assumeRole(_ role: String, via: String, underlying: any Error) -> CredentialsError {
        .init(.assumeRole(role: role, via: via, underlying: String(describing: underlying)))
    }
    static func noRegion(tried: [String]) -> CredentialsError { .init(.noRegion(tried: tried)) }

    /// True when no source had credentials at all (as opposed to a source that is configured but broken).
    public var isNoCredentials: Bool {
        if case .noCredentials = code { return true }
        return false
    }

    /// For endpoint failures, the message alone (without "… credentials from … failed:").
    var endpointMessage: String? {
        if case let .endpoint(_, _, message) = code { return message }
        return nil
    }

    /// A sentence for people: what failed, where, and what to do.
    public var description: String {
        switch code {
        case let .noCredentials(tried):
            return "no AWS credentials found: tried \(tried.joined(separator: "; ")); "
                + "set AWS_PROFILE or run `aws configure`"
        case let .profileNotFound(name, files, available):
            let known = available.isEmpty ? "no profiles are defined"
                : "defined profiles: \(available.joined(separator: ", "))"
            return "AWS profile '\(name)' not found in \(files.joined(separator: " or ")) (\(known)); "
                + "fix AWS_PROFILE / --profile, or add the profile with `aws configure --profile \(name)`"
        case let .syntax(file, line, message):
            return "\(file):\(line): error: \(message)"
        case let .invalidSetting(location, message):
            return "\(location): error: \(message)"
        case let .unreadable(path, purpose, reason):
            return "cannot read \(purpose) '\(path)': \(reason); check that the file exists and is readable"
        case let .cycle(profiles):
            return "AWS profiles form a source_profile loop: \(profiles.joined(separator: " -> ")); "
                + "point one of them at a profile with keys, or use credential_source"
        case let .process(profile, message):
            return "credential_process of profile '\(profile)' failed: \(message)"
        case let .endpoint(provider, target, message):
            return "\(provider) credentials from \(target) failed: \(message)"
        case let .noSTS(role):
            return "assuming role \(role) needs an STS client, but the credential chain was made without one; "
                + "pass an STSCaller to CredentialChain"
        case let .assumeRole(role, via, underlying):
            return "assuming role \(role) (\(via)) failed: \(underlying)"
        case let .noRegion(tried):
            return "no AWS region configured: tried \(tried.joined(separator: ", ")); "
                + "pass --region, set AWS_REGION, or add `region = …` to the profile in the config file"
        }
    }
}
