import OCI
@testable import OCIRegistry
import Testing

@Suite("image references")
struct ImageReferenceTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test("parses references as docker and skopeo do", arguments: [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", nil),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", nil),
        ("jupyter/scipy-notebook:2024", "docker.io", "jupyter/scipy-notebook", "2024", nil),
        ("docker.io/library/debian:bookworm", "docker.io", "library/debian", "bookworm", nil),
        ("index.docker.io/debian", "docker.io", "library/debian", "latest", nil),
        ("localhost:5000/team/app:v1.2", "localhost:5000", "team/app", "v1.2", nil),
        ("127.0.0.1:41234/a/b/c", "127.0.0.1:41234", "a/b/c", "latest", nil),
        ("ghcr.io/org/tool@\(digest)", "ghcr.io", "org/tool", nil, digest),
        ("ghcr.io/org/tool:1@\(digest)", "ghcr.io", "org/tool", "1", digest),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/kiln/jupyter:2026.11",
         "123456789012.dkr.ecr.us-east-1.amazonaws.com", "kiln/jupyter", "2026.11", nil),
        ("[::1]:5000/x", "[::1]:5000", "x", "latest", nil),
        ("registry.example/a__b/c-d.e_f", "registry.example", "a__b/c-d.e_f", "latest", nil),
    ] as [(String, String, String, String?, String?)])
    func parses(text: String, registry: String, repository: String, tag: String?, digest: String?) throws {
        let reference = try ImageReference(parsing: text)
        #expect(reference.registry == registry)
        #expect(reference.repository == repository)
        #expect(reference.tag == tag)
        #expect(reference.digest?.description == digest)
        // The canonical form parses back to the same reference.
        #expect(try ImageReference(parsing: reference.description) == reference)
    }

    @Test("rejects malformed references with a reason", arguments: [
        ("", "empty"),
        ("https://ghcr.io/a/b", "scheme"),
        ("Ubuntu", "lowercase"),
        ("ghcr.io/org/tool:", "tag"),
        ("ghcr.io/org/tool:-bad", "tag"),
        ("ghcr.io/org/tool@sha256:xyz", "digest"),
        ("ghcr.io//tool", "lowercase"),
        ("ghcr.io/org/tool-", "lowercase"),
        ("ghcr.io:port/x", "host"),
    ])
    func rejects(text: String, reason: String) {
        #expect {
            _ = try ImageReference(parsing: text)
        } throws: { error in
            let description = "\(error)"
            return description.contains("invalid image reference") && description.contains(reason)
        }
    }

    @Test("ECR hosts are recognised with their account and region", arguments: [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012", "us-east-1"),
        ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012", "us-gov-west-1"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "123456789012", "cn-north-1"),
        ("12345.dkr.ecr.us-east-1.amazonaws.com", nil, nil),
        ("123456789012.dkr.ecr.us-east-1.example.com", nil, nil),
        ("public.ecr.aws", nil, nil),
    ] as [(String, String?, String?)])
    func ecr(host: String, account: String?, region: String?) throws {
        let reference = try ImageReference(parsing: "\(host)/repo:1")
        #expect(reference.isECR == (account != nil))
        #expect(reference.ecrAccount == account)
        #expect(reference.ecrRegion == region)
    }

    @Test("loopback hosts default to plain HTTP, Docker Hub to its API host")
    func hosts() throws {
        #expect(ImageReference.isLoopback("127.0.0.1:5000"))
        #expect(ImageReference.isLoopback("localhost"))
        #expect(ImageReference.isLoopback("[::1]:5000"))
        #expect(!ImageReference.isLoopback("ghcr.io"))
        #expect(try ImageReference(parsing: "debian").apiHost == "registry-1.docker.io")
        let local = try RegistryClient(registry: "127.0.0.1:5000", options: testOptions(), credentials: [])
        #expect(local.baseURL == "http://127.0.0.1:5000")
        let remote = try RegistryClient(registry: "ghcr.io", options: testOptions(), credentials: [])
        #expect(remote.baseURL == "https://ghcr.io")
        let hub = try RegistryClient(registry: "docker.io", options: testOptions(), credentials: [])
        #expect(hub.baseURL == "https://registry-1.docker.io")
    }
}

@Suite("platform selection")
struct PlatformSelectionTests {
    static func entry(_ platform: String?, _ byte: Character, mediaType: String = MediaType.imageManifest) throws -> Descriptor {
        Descriptor(mediaType: mediaType, digest: try OCI.Digest(parsing: "sha256:" + String(repeating: byte, count: 64)),
                   size: 10, platform: try platform.map(Platform.init(parsing:)))
    }

    @Test("picks the manifest for a platform from an index", arguments: [
        ("linux/amd64", "a"),
        ("linux/arm64", "c"),
        ("linux/arm64/v8", "c"),
        ("linux/arm/v7", "d"),
        ("linux/arm/v6", "e"),
    ])
    func picks(platform: String, expected: Character) throws {
        let index = Index(manifests: [
            try Self.entry("unknown/unknown", "f"),
            try Self.entry("linux/amd64", "a"),
            try Self.entry("linux/arm64/v8", "c"),
            try Self.entry("linux/arm/v7", "d"),
            try Self.entry("linux/arm/v6", "e"),
            try Self.entry(nil, "b"),
        ])
        let chosen = try index.manifest(for: try Platform(parsing: platform))
        #expect(chosen.digest.hex.first == expected)
    }

    @Test("a missing platform names what the index offers")
    func missing() throws {
        let index = Index(manifests: [try Self.entry("linux/amd64", "a"),
                                      try Self.entry("linux/arm64/v8", "c", mediaType: MediaType.dockerManifest)])
        #expect {
            _ = try index.manifest(for: try Platform(parsing: "linux/s390x"))
        } throws: { "\($0)".contains("linux/amd64, linux/arm64/v8") && "\($0)".contains("--platform") }
        #expect(throws: (any Error).self) { _ = try Platform(parsing: "linux") }
        // A lone manifest without a platform is the only choice.
        let lone = Index(manifests: [try Self.entry(nil, "b")])
        #expect(try lone.manifest(for: try Platform(parsing: "linux/amd64")).digest.hex.first == "b")
        #expect(try Platform(parsing: "linux/arm64/v8").description == "linux/arm64/v8")
    }
}
