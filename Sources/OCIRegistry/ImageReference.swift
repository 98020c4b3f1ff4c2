import OCI

/// A registry image reference, `[host[:port]/]repository[:tag][@digest]`, parsed by the grammar of the
/// distribution project's reference package (the one Docker, skopeo and the OCI distribution-spec use:
/// repository path components `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`, tags `[\w][\w.-]{0,127}`).
///
/// Short Docker Hub names are expanded: `ubuntu` is `docker.io/library/ubuntu:latest`. A reference with
/// neither tag nor digest gets the tag `latest`.
public struct ImageReference: Sendable, Hashable, CustomStringConvertible {
    /// The registry host and optional port; `docker.io` for Docker Hub.
    public var registry: String
    /// The repository path, e.g. `library/ubuntu`.
    public var repository: String
    /// The tag, if any.
    public var tag: String?
    /// The digest, if any; when present it wins over the tag when resolving.
    public var digest: OCI.Digest?

    /// Makes a reference from its parts (not validated; use `init(parsing:)` for user input).
    public init(registry: String, repository: String, tag: String? = nil, digest: OCI.Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    /// Parses a reference as `docker pull` and `skopeo` do.
    /// - Throws: `RegistryError` saying which part is wrong and what a valid reference looks like.
    public init(parsing text: String) throws {
        func bad(_ reason: String) -> RegistryError { .invalidReference(text, reason) }
        guard !text.isEmpty else { throw bad("it is empty") }
        guard !text.contains("://") else { throw bad("leave out the scheme (no http:// or https://)") }
        var rest = Substring(text)
        var digest: OCI.Digest?
        if let at = rest.firstIndex(of: "@") {
            do {
                digest = try OCI.Digest(parsing: String(rest[rest.index(after: at)...]))
            } catch {
                throw bad("the digest after '@' must be sha256: and 64 lowercase hex digits")
            }
            rest = rest[..<at]
        }
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/")
        if let colon = rest.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            let candidate = String(rest[rest.index(after: colon)...])
            guard Self.isValidTag(candidate) else {
                throw bad("tag '\(candidate)' must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
            }
            tag = candidate
            rest = rest[..<colon]
        }
        var components = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        var registry = "docker.io"
        if components.count > 1, let first = components.first,
           first.contains(".") || first.contains(":") || first == "localhost" || first.lowercased() != first {
            guard Self.isValidHost(first) else { throw bad("registry host '\(first)' is not a valid host[:port]") }
            registry = first
            components.removeFirst()
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = "docker.io" }
        if registry == "docker.io" && components.count == 1 { components.insert("library", at: 0) }
        guard !components.isEmpty, components.allSatisfy(Self.isValidPathComponent) else {
            throw bad("the repository must be lowercase path components of letters and digits separated by "
                + "'.', '_', '__' or '-', e.g. 'team/jupyter'")
        }
        let repository = components.joined(separator: "/")
        guard repository.utf8.count + registry.utf8.count < 256 else { throw bad("it is longer than 255 characters") }
        if tag == nil && digest == nil { tag = "latest" }
        self.init(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// `host/repository[:tag][@digest]`, the canonical form.
    public var description: String {
        var text = "\(registry)/\(repository)"
        if let tag { text += ":\(tag)" }
        if let digest { text += "@\(digest)" }
        return text
    }

    /// What a manifest request names: the digest when there is one, else the tag.
    public var manifestReference: String { digest?.description ?? tag ?? "latest" }

    /// The host the HTTP API is served from: Docker Hub's API lives at `registry-1.docker.io`.
    public var apiHost: String { Self.apiHost(for: registry) }

    /// The API host of a registry name (`docker.io` → `registry-1.docker.io`).
    public static func apiHost(for registry: String) -> String {
        registry == "docker.io" ? "registry-1.docker.io" : registry
    }

    /// True for an Amazon ECR private registry, `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]`.
    public var isECR: Bool { Self.ecrHost(registry) != nil }

    /// The account and region of an ECR registry host, or nil for other hosts.
    public static func ecrHost(_ host: String) -> (account: String, region: String)? {
        var name = host.lowercased()
        if let colon = name.firstIndex(of: ":") { name = String(name[..<colon]) }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let suffixLength: Int
        if labels.suffix(2) == ["amazonaws", "com"] {
            suffixLength = 2
        } else if labels.suffix(3) == ["amazonaws", "com", "cn"] {
            suffixLength = 3
        } else {
            return nil
        }
        guard labels.count == 4 + suffixLength, labels[0].count == 12, labels[0].allSatisfy(\.isNumber),
              labels[1] == "dkr", labels[2] == "ecr" || labels[2] == "ecr-fips", !labels[3].isEmpty else { return nil }
        return (labels[0], labels[3])
    }

    /// The ECR account of this reference, or nil when it is not an ECR reference.
    public var ecrAccount: String? { Self.ecrHost(registry)?.account }

    /// The ECR region of this reference, or nil when it is not an ECR reference.
    public var ecrRegion: String? { Self.ecrHost(registry)?.region }

    /// True for hosts on the loopback interface, which are spoken to over plain HTTP by default.
    public static func isLoopback(_ registry: String) -> Bool {
        var host = registry
        if host.hasPrefix("[") , let close = host.firstIndex(of: "]") {
            host = String(host[host.index(after: host.startIndex)..<close])
        } else if let colon = host.lastIndex(of: ":"), host.filter({ $0 == ":" }).count == 1 {
            host = String(host[..<colon])
        }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func word(_ c: UInt8) -> Bool {
            (0x30...0x39).contains(c) || (0x41...0x5a).contains(c) || (0x61...0x7a).contains(c) || c == UInt8(ascii: "_")
        }
        return word(bytes[0]) && bytes.dropFirst().allSatisfy { word($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }

    static func isValidPathComponent(_ component: String) -> Bool {
        let bytes = Array(component.utf8)
        func alnum(_ c: UInt8) -> Bool { (0x30...0x39).contains(c) || (0x61...0x7a).contains(c) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if alnum(bytes[i]) { i += 1; continue }
            // A separator: ".", "_", "__", or one or more "-".
            let start = i
            if bytes[i] == UInt8(ascii: "-") {
                while i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
            } else if bytes[i] == UInt8(ascii: "_") {
                i += 1
                if i < bytes.count, bytes[i] == UInt8(ascii: "_") { i += 1 }
            } else if bytes[i] == UInt8(ascii: ".") {
                i += 1
            } else {
                return false
            }
            guard i > start, i < bytes.count, alnum(bytes[i]) else { return false }
        }
        return true
    }

    static func isValidHost(_ host: String) -> Bool {
        guard !host.isEmpty else { return false }
        var name = Substring(host)
        if name.hasPrefix("[") {  // [IPv6]:port
            guard let close = name.firstIndex(of: "]") else { return false }
            let after = name[name.index(after: close)...]
            return after.isEmpty || (after.hasPrefix(":") && after.dropFirst().allSatisfy(\.isNumber) && after.count > 1)
        }
        if let colon = name.firstIndex(of: ":") {
            let port = name[name.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber) else { return false }
            name = name[..<colon]
        }
        return !name.isEmpty && name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }
            && name.allSatisfy(\.isASCII)
    }
}
