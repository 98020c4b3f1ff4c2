import Foundation
import KilnHTTP
import SigV4

/// The AWS default credential provider chain, in the order the SDKs search it, with a cache that
/// refreshes temporary credentials ahead of their expiry.
///
/// Spec: AWS SDKs and Tools Reference Guide, "Standardized credential providers"
/// (https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html). The first source that
/// is configured wins; a source that is configured but fails stops the search with its error (as in the
/// SDKs), except the instance metadata service, whose absence just means "not on EC2".
///
/// 1. explicit options (keys passed in);
/// 2. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
///    then web identity from AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME), as
///    GitHub Actions OIDC and EKS IRSA set them. Both are skipped when a profile is passed explicitly in
///    `CredentialOptions.profile`, as the AWS CLI's `--profile` and the Go SDK do;
/// 3. the shared config and credentials files, profile from the option, AWS_PROFILE or "default":
///    in the selected profile, `role_arn` (with `web_identity_token_file`, `source_profile` or
///    `credential_source`) wins over static keys, which win over `credential_process`; in a source profile,
///    static keys end the chain;
/// 4. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI);
/// 5. the EC2 instance metadata service, IMDSv2.
///
/// Thread safety: one lock serialises lookups, so concurrent callers share one fetch.
public final class CredentialChain: CredentialProvider, @unchecked Sendable {
    /// Temporary credentials are fetched again when they expire within this many seconds, as the SDKs do.
    public static let refreshWindow: TimeInterval = 5 * 60

    /// After a failed refresh, still-valid cached credentials are returned for this many seconds before
    /// the source is asked again, so a flaky endpoint does not slow every call.
    public static let refreshRetryInterval: TimeInterval = 30

    /// Transfer settings for the container and instance metadata endpoints: a 1 s connect timeout and a
    /// 5 s limit per request, so a laptop without IMDS fails fast; the CA bundle (for an https
    /// AWS_CONTAINER_CREDENTIALS_FULL_URI) from AWS_CA_BUNDLE or SSL_CERT_FILE in `environment`.
    public static func metadataHTTPOptions(environment: [String: String]) -> HTTPClient.Options {
        HTTPClient.Options(connectTimeout: .seconds(1), lowSpeedTime: .seconds(5), timeout: .seconds(5),
                           environment: environment)
    }

    private let options: CredentialOptions
    private let environment: [String: String]
    private let sts: (any STSCaller)?
    private let clock: @Sendable () -> Date
    private let httpOptions: HTTPClient.Options
    private let containerHost: String

    private let lock = NSLock()
    private var cached: Credentials?
    private var plan: Plan?
    private var refreshFailedAt: Date?

    /// Makes a chain. Nothing is read or fetched until `credentials()` is called.
    /// - Parameters:
    ///   - options: explicit keys, profile and region from the command line.
    ///   - environment: the process environment (HOME, AWS_*), injected so tests control it.
    ///   - sts: makes the STS calls for role profiles and web identity; nil when none are needed.
    ///   - clock: the current time, for expiry checks and default session names.
    ///   - httpOptions: transfer settings for the container and instance metadata endpoints; nil means
    ///     `metadataHTTPOptions(environment:)`.
    ///   - containerHost: the base URL for AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (tests point it at loopback).
    public init(options: CredentialOptions, environment: [String: String], sts: (any STSCaller)?,
                clock: @escaping @Sendable () -> Date = Date.init,
                httpOptions: HTTPClient.Options? = nil,
                containerHost: String = "http://169.254.170.2") {
        self.options = options
        self.environment = environment
        self.sts = sts
        self.clock = clock
        self.httpOptions = httpOptions ?? Self.metadataHTTPOptions(environment: environment)
        self.containerHost = containerHost
    }

    /// Credentials from the first source that has them; cached, and fetched again from the same source
    /// when they expire within `refreshWindow`. If that refresh fails while the cached credentials are
    /// still valid, the cached ones are returned (and the source is asked again after
    /// `refreshRetryInterval`).
    public func credentials() throws -> Credentials {
        try lock.withLock {
            let now = clock()
            if let cached, !Self.needsRefresh(cached, now: now) { return cached }
            if let plan, let cached {
                let stillValid = cached.expiration.map { now < $0 } ?? false
                if stillValid, let failedAt = refreshFailedAt, now < failedAt.addingTimeInterval(Self.refreshRetryInterval) {
                    return cached
                }
                do {
                    let fresh = try fetch(plan)
                    self.cached = fresh
                    refreshFailedAt = nil
                    return fresh
                } catch {
                    guard stillValid else { throw error }
                    refreshFailedAt = now
                    return cached
                }
            }
            let (plan, credentials) = try resolve()
            self.plan = plan
            cached = credentials
            return credentials
        }
    }

    /// Forgets the cached credentials and the source they came from, so the next call searches the chain
    /// again (for example after a service rejected them as expired).
    public func invalidate() {
        lock.withLock {
            cached = nil
            plan = nil
            refreshFailedAt = nil
        }
    }

    /// One line per source in chain order, saying whether it is configured (no network calls, no secrets),
    /// and, once credentials were fetched, which source is in use. For `kiln doctor`.
    public var describeSources: [String] {
        var lines: [String] = []
        let explicitProfile = options.profile.nonEmpty
        lines.append("1. explicit options: " + (options.accessKeyID.nonEmpty.map { "access key \(Self.mask($0))" } ?? "none"))
        if let explicitProfile {
            lines.append("2. environment: skipped (profile '\(explicitProfile)' chosen explicitly)")
        } else {
            let keyID = environment["AWS_ACCESS_KEY_ID"].nonEmpty
            lines.append("2. environment: " + (keyID.map { "AWS_ACCESS_KEY_ID \(Self.mask($0))" } ?? "AWS_ACCESS_KEY_ID not set"))
            let role = environment["AWS_ROLE_ARN"].nonEmpty
            let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].nonEmpty
            lines.append("2. web identity: " + (tokenFile != nil && role != nil
                ? "role \(role ?? "") with token file \(tokenFile ?? "")" : "AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN not set"))
        }
        let name = SharedConfig.selectedProfile(option: options.profile, environment: environment)
        do {
            let config = try SharedConfig.load(environment: environment)
            let files = config.filesDescription.joined(separator: ", ")
            if let profile = config.profile(named: name) {
                let summary = try profilePlan(profile, config: config, visited: [], isRoot: true).map(Self.summary) ?? "no credentials"
                lines.append("3. profile '\(name)' (\(files)): \(summary)")
            } else {
                lines.append("3. profile '\(name)' (\(files.isEmpty ? "HOME not set" : files)): not defined")
            }
        } catch {
            lines.append("3. profile '\(name)': error: \(error)")
        }
        do {
            let container = try ContainerCredentials.configured(environment: environment, host: containerHost)
            lines.append("4. container: " + (container.map { redactedURL($0.url) } ?? "AWS_CONTAINER_CREDENTIALS_* not set"))
        } catch {
            lines.append("4. container: error: \(error)")
        }
        let imds = InstanceMetadataClient(environment: environment, httpOptions: httpOptions)
        lines.append("5. EC2 instance metadata: " + (imds.isDisabled ? "disabled by AWS_EC2_METADATA_DISABLED" : imds.endpoint))
        if let source = lock.withLock({ cached?.source }) {
            lines.append("in use: \(source)")
        }
        return lines
    }

    // MARK: the search

    /// How to (re)fetch the credentials of the source that was found.
    private indirect enum Plan {
        /// Explicit, environment or profile keys.
        case fixed(Credentials)
        case process(ProcessCredentials)
        case webIdentity(role: String, tokenFile: String, sessionName: String, durationSeconds: Int?, origin: String)
        case assumeRole(role: String, sessionName: String, externalID: String?, durationSeconds: Int?,
                        source: Plan, origin: String)
        case container(ContainerCredentials)
        case instanceMetadata(InstanceMetadataClient)
    }

    private static func needsRefresh(_ credentials: Credentials, now: Date) -> Bool {
        guard let expiration = credentials.expiration else { return false }
        return now >= expiration.addingTimeInterval(-refreshWindow)
    }

    private func resolve() throws -> (Plan, Credentials) {
        var tried: [String] = []

        if let plan = try explicitPlan() { return (plan, try fetch(plan)) }
        tried.append("explicit options (none given)")

        if let explicitProfile = options.profile.nonEmpty {
            tried.append("environment and web identity (skipped: profile '\(explicitProfile)' chosen explicitly)")
        } else {
            if let credentials = try environmentCredentials() { return (.fixed(credentials), credentials) }
            tried.append("environment (AWS_ACCESS_KEY_ID not set)")
            if let plan = try environmentWebIdentity() { return (plan, try fetch(plan)) }
            tried.append("web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN not set)")
        }

        let config = try SharedConfig.load(environment: environment)
        let name = SharedConfig.selectedProfile(option: options.profile, environment: environment)
        let files = config.filesDescription
        if let profile = config.profile(named: name) {
            if let plan = try profilePlan(profile, config: config, visited: [], isRoot: true) {
                return (plan, try fetch(plan))
            }
            tried.append("profile '\(name)' in \(files.joined(separator: " and ")) (it has no credentials)")
        } else if options.profile.nonEmpty != nil || environment["AWS_PROFILE"].nonEmpty != nil {
            throw CredentialsError.profileNotFound(name, files: files.isEmpty ? ["~/.aws (HOME is not set)"] : files,
                                                   available: config.profileNames)
        } else {
            tried.append(files.isEmpty ? "shared config files (HOME is not set)"
                         : "profile '\(name)' (not in \(files.joined(separator: " or ")))")
        }

        if let container = try ContainerCredentials.configured(environment: environment, host: containerHost) {
            let plan = Plan.container(container)
            return (plan, try fetch(plan))
        }
        tried.append("container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set)")

        let imds = InstanceMetadataClient(environment: environment, httpOptions: httpOptions)
        if imds.isDisabled {
            tried.append("EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)")
        } else {
            let plan = Plan.instanceMetadata(imds)
            do {
                return (plan, try fetch(plan))
            } catch let error as CredentialsError {
                tried.append("EC2 instance metadata at \(imds.endpoint) (\(error.endpointMessage ?? error.description))")
            }
        }
        throw CredentialsError.noCredentials(tried: tried)
    }

    private func explicitPlan() throws -> Plan? {
        let keyID = options.accessKeyID.nonEmpty
        let secret = options.secretAccessKey.nonEmpty
        switch (keyID, secret) {
        case (nil, nil):
            return nil
        case let (keyID?, secret?):
            return .fixed(Credentials(accessKeyID: keyID, secretAccessKey: secret,
                                      sessionToken: options.sessionToken.nonEmpty, source: "explicit options"))
        case (_?, nil):
            throw CredentialsError.invalidSetting("options", "an access key ID was given without its secret access key; give both")
        case (nil, _?):
            throw CredentialsError.invalidSetting("options", "a secret access key was given without its access key ID; give both")
        }
    }

    /// AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); nil when neither is set.
    private func environmentCredentials() throws -> Credentials? {
        let keyID = environment["AWS_ACCESS_KEY_ID"].nonEmpty
        let secret = environment["AWS_SECRET_ACCESS_KEY"].nonEmpty
        switch (keyID, secret) {
        case (nil, nil):
            return nil
        case let (keyID?, secret?):
            return Credentials(accessKeyID: keyID, secretAccessKey: secret,
                               sessionToken: environment["AWS_SESSION_TOKEN"].nonEmpty, source: "environment")
        case (_?, nil):
            throw CredentialsError.invalidSetting("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID is set but "
                                                    + "AWS_SECRET_ACCESS_KEY is not; set both, or unset AWS_ACCESS_KEY_ID")
        case (nil, _?):
            throw CredentialsError.invalidSetting("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY is set but "
                                                    + "AWS_ACCESS_KEY_ID is not; set both, or unset AWS_SECRET_ACCESS_KEY")
        }
    }

    /// AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME); nil when the token file is not set.
    private func environmentWebIdentity() throws -> Plan? {
        guard let tokenFile = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].nonEmpty else { return nil }
        guard let role = environment["AWS_ROLE_ARN"].nonEmpty else {
            throw CredentialsError.invalidSetting("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN "
                                                    + "is not; set the role to assume, or unset AWS_WEB_IDENTITY_TOKEN_FILE")
        }
        return .webIdentity(role: role, tokenFile: tokenFile,
                            sessionName: environment["AWS_ROLE_SESSION_NAME"].nonEmpty ?? defaultSessionName(),
                            durationSeconds: nil, origin: "AWS_WEB_IDENTITY_TOKEN_FILE")
    }

    /// What `profile` configures. For the selected profile (`isRoot`), nil means "no credentials here";
    /// a source profile without credentials is an error.
    private func profilePlan(_ profile: SharedConfig.Profile, config: SharedConfig, visited: [String],
                             isRoot: Bool) throws -> Plan? {
        let name = profile.name
        let keys = try profileKeys(profile)
        if !isRoot, let keys { return .fixed(keys) }

        if let role = profile["role_arn"] {
            let sessionName = profile["role_session_name"] ?? defaultSessionName()
            let duration = try durationSeconds(profile)
            if let tokenFile = profile["web_identity_token_file"] {
                return .webIdentity(role: role, tokenFile: tokenFile, sessionName: sessionName,
                                    durationSeconds: duration, origin: "profile \(name)")
            }
            if profile["mfa_serial"] != nil {
                throw CredentialsError.invalidSetting(profile.location(of: "mfa_serial"), "profile '\(name)' needs an MFA "
                    + "code, which kiln cannot prompt for; use a credential_process that handles MFA, or "
                    + "temporary credentials from `aws sts assume-role` in the environment")
            }
            let sourceProfile = profile["source_profile"]
            let credentialSource = profile["credential_source"]
            let source: Plan
            switch (sourceProfile, credentialSource) {
            case (_?, _?):
                throw CredentialsError.invalidSetting(profile.location(of: "credential_source"), "profile '\(name)' sets "
                    + "both source_profile and credential_source; keep one")
            case let (sourceName?, nil):
                if sourceName == name {
                    guard let keys else {
                        throw CredentialsError.invalidSetting(profile.location(of: "source_profile"), "profile '\(name)' "
                            + "names itself as source_profile but has no aws_access_key_id and aws_secret_access_key")
                    }
                    source = .fixed(keys)
                } else {
                    let path = visited + [name]
                    if path.contains(sourceName) { throw CredentialsError.cycle(path + [sourceName]) }
                    guard let next = config.profile(named: sourceName) else {
                        throw CredentialsError.invalidSetting(profile.location(of: "source_profile"), "source_profile "
                            + "'\(sourceName)' of profile '\(name)' is not defined in "
                            + config.filesDescription.joined(separator: " or "))
                    }
                    guard let plan = try profilePlan(next, config: config, visited: path, isRoot: false) else {
                        throw CredentialsError.invalidSetting("profile '\(sourceName)'", "it has no credentials")
                    }
                    source = plan
                }
            case let (nil, sourceKind?):
                source = try credentialSourcePlan(sourceKind, location: profile.location(of: "credential_source"))
            case (nil, nil):
                throw CredentialsError.invalidSetting(profile.location(of: "role_arn"), "profile '\(name)' sets role_arn "
                    + "but not source_profile, credential_source or web_identity_token_file; add one to say which "
                    + "credentials assume the role")
            }
            return .assumeRole(role: role, sessionName: sessionName, externalID: profile["external_id"],
                               durationSeconds: duration, source: source, origin: "profile \(name)")
        }
        if profile["web_identity_token_file"] != nil {
            throw CredentialsError.invalidSetting(profile.location(of: "web_identity_token_file"), "profile '\(name)' "
                + "sets web_identity_token_file without role_arn; add the role to assume")
        }
        if let keys { return .fixed(keys) }
        if let command = profile["credential_process"] {
            return .process(ProcessCredentials(command: command, profile: name, environment: environment))
        }
        if profile["sso_session"] != nil || profile["sso_start_url"] != nil {
            throw CredentialsError.invalidSetting(profile.location(of: profile["sso_session"] != nil ? "sso_session" : "sso_start_url"),
                "profile '\(name)' uses IAM Identity Center (SSO), which kiln does not support yet; add a profile with "
                    + "`credential_process = aws configure export-credentials --profile \(name) --format process` and use it")
        }
        if isRoot { return nil }
        throw CredentialsError.invalidSetting("profile '\(name)'", "the source profile has no credentials; give it "
            + "aws_access_key_id and aws_secret_access_key, credential_process, or role_arn")
    }

    /// The profile's aws_access_key_id + aws_secret_access_key (+ aws_session_token), nil when it has neither.
    private func profileKeys(_ profile: SharedConfig.Profile) throws -> Credentials? {
        switch (profile["aws_access_key_id"], profile["aws_secret_access_key"]) {
        case (nil, nil):
            return nil
        case let (keyID?, secret?):
            return Credentials(accessKeyID: keyID, secretAccessKey: secret, sessionToken: profile["aws_session_token"],
                               source: "profile \(profile.name)")
        case (_?, nil):
            throw CredentialsError.invalidSetting(profile.location(of: "aws_access_key_id"), "profile '\(profile.name)' "
                + "has aws_access_key_id but no aws_secret_access_key")
        case (nil, _?):
            throw CredentialsError.invalidSetting(profile.location(of: "aws_secret_access_key"), "profile "
                + "'\(profile.name)' has aws_secret_access_key but no aws_access_key_id")
        }
    }

    private func durationSeconds(_ profile: SharedConfig.Profile) throws -> Int? {
        guard let text = profile["duration_seconds"] else { return nil }
        guard let seconds = Int(text), (900...43200).contains(seconds) else {
            throw CredentialsError.invalidSetting(profile.location(of: "duration_seconds"), "duration_seconds must be "
                + "a whole number of seconds from 900 to 43200")
        }
        return seconds
    }

    private func credentialSourcePlan(_ kind: String, location: String) throws -> Plan {
        switch kind {
        case "Environment":
            guard let credentials = try environmentCredentials() else {
                throw CredentialsError.invalidSetting(location, "credential_source = Environment, but "
                    + "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
            }
            return .fixed(credentials)
        case "Ec2InstanceMetadata":
            return .instanceMetadata(InstanceMetadataClient(environment: environment, httpOptions: httpOptions))
        case "EcsContainer":
            guard let container = try ContainerCredentials.configured(environment: environment, host: containerHost) else {
                throw CredentialsError.invalidSetting(location, "credential_source = EcsContainer, but "
                    + "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
            }
            return .container(container)
        default:
            throw CredentialsError.invalidSetting(location, "credential_source must be Environment, "
                + "Ec2InstanceMetadata or EcsContainer")
        }
    }

    private func defaultSessionName() -> String {
        "kiln-\(Int(clock().timeIntervalSince1970))"
    }

    /// The region STS calls go to: the resolved region, else us-east-1 (STS answers in every region).
    private func stsRegion() -> String {
        (try? RegionResolver.resolve(option: options.region, profile: options.profile, environment: environment)) ?? "us-east-1"
    }

    // MARK: fetching

    private func fetch(_ plan: Plan) throws -> Credentials {
        switch plan {
        case let .fixed(credentials):
            return credentials
        case let .process(process):
            return try process.fetch(now: clock())
        case let .webIdentity(role, tokenFile, sessionName, duration, origin):
            guard let sts else { throw CredentialsError.noSTS(role: role) }
            guard let data = FileManager.default.contents(atPath: tokenFile) else {
                throw CredentialsError.unreadable(tokenFile, purpose: "web identity token file (\(origin))",
                                                  reason: "missing or unreadable")
            }
            let token = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            var credentials: Credentials
            do {
                credentials = try sts.assumeRoleWithWebIdentity(roleARN: role, sessionName: sessionName, token: token,
                                                                 durationSeconds: duration, region: stsRegion())
            } catch {
                throw CredentialsError.assumeRole(role, via: "web identity, \(origin)", underlying: error)
            }
            credentials.source = "web identity \(role) (\(origin))"
            return credentials
        case let .assumeRole(role, sessionName, externalID, duration, source, origin):
            guard let sts else { throw CredentialsError.noSTS(role: role) }
            let sourceCredentials = try fetch(source)
            var credentials: Credentials
            do {
                credentials = try sts.assumeRole(roleARN: role, sessionName: sessionName, externalID: externalID,
                                                 durationSeconds: duration, using: sourceCredentials, region: stsRegion())
            } catch {
                throw CredentialsError.assumeRole(role, via: "\(origin), with credentials from \(sourceCredentials.source)",
                                                  underlying: error)
            }
            credentials.source = "assume role \(role) (\(origin))"
            return credentials
        case let .container(container):
            return try container.fetch(httpOptions: httpOptions)
        case let .instanceMetadata(client):
            return try client.credentials()
        }
    }

    // MARK: descriptions

    private static func summary(_ plan: Plan) -> String {
        switch plan {
        case let .fixed(credentials): return "access key \(mask(credentials.accessKeyID)) (\(credentials.source))"
        case let .process(process): return "credential_process of profile '\(process.profile)'"
        case let .webIdentity(role, tokenFile, _, _, _): return "web identity: role \(role) with token file \(tokenFile)"
        case let .assumeRole(role, _, _, _, source, _): return "assume role \(role) using \(summary(source))"
        case let .container(container): return "container credentials from \(redactedURL(container.url))"
        case let .instanceMetadata(client): return "EC2 instance metadata at \(client.endpoint)"
        }
    }

    /// The last four characters of an access key ID, like `aws configure list`.
    private static func mask(_ keyID: String) -> String {
        String(repeating: "*", count: max(0, min(keyID.count, 20) - 4)) + keyID.suffix(4)
    }
}
