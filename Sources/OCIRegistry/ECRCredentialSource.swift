import AWSCore
import ECR
import Foundation

/// Settings of an ECR repository that kiln creates when a push finds it missing.
public struct ECRRepositorySettings: Sendable, Hashable {
    /// Scan each pushed image for vulnerabilities (ECR basic scanning on push).
    public var scanOnPush: Bool
    /// Whether tags may move to another image (the recipe's `immutable_tags`).
    public var tagMutability: ImageTagMutability

    /// Settings with kiln's defaults: scan on push, mutable tags.
    public init(scanOnPush: Bool = true, tagMutability: ImageTagMutability = .mutable) {
        self.scanOnPush = scanOnPush
        self.tagMutability = tagMutability
    }
}

/// Registry credentials from ECR's GetAuthorizationToken: user `AWS` and a 12-hour password
/// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html). Tokens are cached per
/// registry until five minutes before they expire, and dropped when the registry refuses one.
public final class ECRCredentialSource: RegistryCredentialSource, @unchecked Sendable {
    /// The ECR control-plane client.
    public let client: ECRClient
    private let extraHosts: Set<String>
    private let now: @Sendable () -> Date
    private let lock = NSLock()
    private var cache: [String: (username: String, password: String, expires: Date?)] = [:]
    private var fetched = 0
    /// How many tokens were fetched (tests check that a 401 leads to a second one).
    public var tokensFetched: Int { lock.withLock { fetched } }

    /// A source answering for ECR registry hosts, and for `alsoFor` hosts (tests that point a local
    /// registry at moto's tokens); `now` is the clock used against the token's expiry.
    public init(client: ECRClient, alsoFor hosts: [String] = [], now: @escaping @Sendable () -> Date = { Date() }) {
        self.client = client
        self.extraHosts = Set(hosts)
        self.now = now
    }

    /// The `AWS` user and a token for `registry`, fetched (or reused) from GetAuthorizationToken.
    public func credentials(for registry: String) throws -> (username: String, password: String)? {
        let ecr = ImageReference.ecrHost(registry)
        guard ecr != nil || extraHosts.contains(registry) else { return nil }
        if let cached = lock.withLock({ cache[registry] }),
           cached.expires.map({ $0.timeIntervalSince(now()) > 300 }) ?? true {
            return (cached.username, cached.password)
        }
        let data = try client.getAuthorizationToken(registryIds: ecr.map { [$0.account] } ?? [])
        guard let first = data.first else {
            throw RegistryError.other("ECR GetAuthorizationToken returned no authorization data for \(registry); "
                + "check the AWS credentials' ecr:GetAuthorizationToken permission")
        }
        // An expiry already past when the token arrives (clock skew, or a test double that answers 2015)
        // cannot be trusted either way: keep the token for an hour unless the registry refuses it first.
        let fetchedAt = now()
        let expires = first.expiresAt.map { $0 > fetchedAt ? $0 : fetchedAt.addingTimeInterval(3600) }
        lock.withLock {
            cache[registry] = (first.username, first.password, expires)
            fetched += 1
        }
        return (first.username, first.password)
    }

    /// Drops the cached token of `registry`, so the next request fetches a new one.
    public func invalidate(registry: String) {
        _ = lock.withLock { cache.removeValue(forKey: registry) }
    }

    /// Creates the repository `name` with `settings` unless it exists; returns true when it was created.
    /// A concurrent creation (RepositoryAlreadyExistsException) counts as existing.
    @discardableResult
    public func ensureRepository(_ name: String, settings: ECRRepositorySettings) throws -> Bool {
        if try client.describeRepository(name: name) != nil { return false }
        do {
            try client.createRepository(name: name, scanOnPush: settings.scanOnPush,
                                        imageTagMutability: settings.tagMutability)
            return true
        } catch let error as AWSError where error.code == "RepositoryAlreadyExistsException" {
            return false
        }
    }
}
