import AWSCore
import ECR
import Foundation
import KilnTestSupport
import OCI
@testable import OCIRegistry
import Testing

/// Pushes and pulls against Debian's docker-registry (htpasswd user AWS, as ECR authenticates), read
/// back independently with skopeo.
@Suite("registry end to end", .serialized)
struct RegistryEndToEndTests {
    static func client(_ registry: RegistryServer, host: String? = nil, configure: (inout RegistryOptions) -> Void = { _ in })
        throws -> RegistryClient {
        var options = testOptions()
        configure(&options)
        return try RegistryClient(registry: host ?? registry.host, options: options,
                                  credentials: [StaticCredentials(username: RegistryServer.username, password: registry.password ?? "")])
    }

    /// Copies an image out of the registry with skopeo into an OCI layout and returns the manifest
    /// skopeo wrote (same digest means skopeo read exactly what kiln pushed).
    static func skopeoCopy(_ registry: RegistryServer, _ reference: String, into directory: TempDirectory) throws -> LayoutImage {
        let destination = directory.path + "/skopeo-\(UUID().uuidString.prefix(6))"
        _ = try skopeo(["copy", "--src-tls-verify=false"] + registry.skopeoCredentials.map { $0 == "--creds" ? "--src-creds" : $0 }
                       + ["docker://\(registry.host)/\(reference)", "oci:\(destination):copied"])
        return try ImageLayout.open(at: destination).read(tag: "copied")
    }

    @Test("a pushed image is read back by skopeo with the same digest; a second push uploads no blob")
    func pushTwice() throws {
        let registry = try RegistryServer()
        let image = try TestImage(files: ["etc/a": "alpha\n", "etc/b": "beta\n"])
        final class Lines: @unchecked Sendable {
            let lock = NSLock(); var text = ""
            func add(_ s: String) { lock.withLock { text += s } }
        }
        let lines = Lines()
        let client = try Self.client(registry) { $0.progress = ConsoleProgress(write: lines.add, isTerminal: false) }
        let reference = try ImageReference(parsing: "\(registry.host)/team/app:v1")

        let first = try client.push(layout: image.layout, image: image.manifest, to: reference, extraTags: ["latest"])
        #expect(first.manifestDigest == image.manifest.digest)
        #expect(first.blobsUploaded == 3)
        #expect(first.blobsSkipped == 0)
        #expect(first.tags == ["v1", "latest"])
        #expect(first.bytesUploaded == image.layers.reduce(0) { $0 + $1.size } + (try image.layout.read(tag: "v1").manifest.config.size))
        #expect(lines.text.split(separator: "\n").filter { $0.contains("uploaded") }.count == 3)

        #expect(try inspectDigest(registry, "team/app:v1") == image.manifest.digest.description)
        #expect(try inspectDigest(registry, "team/app:latest") == image.manifest.digest.description)
        let scratch = try TempDirectory()
        let copied = try Self.skopeoCopy(registry, "team/app:v1", into: scratch)
        #expect(copied.descriptor.digest == image.manifest.digest)
        #expect(copied.manifest.layers.map(\.digest) == image.layers.map(\.digest))

        let second = try client.push(layout: image.layout, image: image.manifest, to: reference)
        #expect(second.blobsUploaded == 0)
        #expect(second.blobsSkipped == 3)
        #expect(second.bytesUploaded == 0)
        #expect(second.manifestDigest == first.manifestDigest)
    }

    @Test("a connection dropped mid-PATCH is retried in a new session; no session receives a range twice")
    func droppedChunk() throws {
        let registry = try RegistryServer()
        let image = try TestImage(largeLayerBytes: 20 << 20)
        let proxy = try RegistryFaultProxy(upstreamPort: registry.port, dropPatch: 2, dropAfter: 1 << 20)
        let client = try Self.client(registry, host: proxy.host) {
            $0.monolithicLimit = 1 << 20
            $0.chunkSize = 5 << 20
            $0.parallelUploads = 1
        }
        let report = try client.push(layout: image.layout, image: image.manifest,
                                     to: try ImageReference(parsing: "\(proxy.host)/big/image:v1"))
        #expect(report.blobsUploaded == 3)

        let patches = proxy.entries.filter { $0.method == "PATCH" }
        let dropped = try #require(patches.first { $0.dropped })
        let failedSession = try #require(dropped.session)
        #expect(dropped.range == "5242880-10485759")
        // Nothing was sent into the broken session after the drop …
        let afterDrop = proxy.entries.drop { !$0.dropped }.dropFirst()
        #expect(!afterDrop.contains { $0.session == failedSession })
        // … no session received the same range twice, and a new session carried the whole blob.
        for (session, entries) in Dictionary(grouping: patches, by: { $0.session ?? "" }) {
            let ranges = entries.compactMap(\.range)
            #expect(Set(ranges).count == ranges.count, "session \(session) got a range twice: \(ranges)")
        }
        let size = image.layers.last!.size
        let lastRange = "\(size / (5 << 20) * (5 << 20))-\(size - 1)"
        #expect(patches.contains { $0.session != failedSession && $0.range == "0-5242879" && $0.status == 202 })
        #expect(patches.contains { $0.session != failedSession && $0.range == lastRange && $0.status == 202 })

        // The manifest goes last — by digest, after every blob was confirmed with HEAD — then the tag.
        let log = proxy.entries
        let manifestPuts = log.enumerated().filter { $0.element.method == "PUT" && $0.element.path.contains("/manifests/") }
        #expect(manifestPuts.map { $0.element.path } == ["/v2/big/image/manifests/\(image.manifest.digest)",
                                                        "/v2/big/image/manifests/v1"])
        let lastBlobRequest = try #require(log.lastIndex { $0.path.contains("/blobs/") })
        #expect(manifestPuts.first.map { $0.offset > lastBlobRequest } == true)
        #expect(log[lastBlobRequest].method == "HEAD")

        #expect(try inspectDigest(registry, "big/image:v1") == image.manifest.digest.description)
        let scratch = try TempDirectory()
        #expect(try Self.skopeoCopy(registry, "big/image:v1", into: scratch).manifest.layers.last?.digest == image.layers.last?.digest)
    }

    @Test("blobs another repository of the registry holds are mounted, not uploaded")
    func mount() throws {
        let registry = try RegistryServer()
        let image = try TestImage(files: ["a": "1\n", "b": "2\n"])
        let client = try Self.client(registry)
        _ = try client.push(layout: image.layout, image: image.manifest, to: try ImageReference(parsing: "\(registry.host)/base/os:1"))
        let report = try client.push(layout: image.layout, image: image.manifest,
                                     to: try ImageReference(parsing: "\(registry.host)/derived/app:1"),
                                     mountFrom: ["elsewhere/none", "base/os"])
        #expect(report.blobsMounted == 3)
        #expect(report.blobsUploaded == 0)
        #expect(report.bytesUploaded == 0)
        #expect(try inspectDigest(registry, "derived/app:1") == image.manifest.digest.description)
    }

    @Test("a push killed in the middle of a large blob leaves no manifest, and the next run completes it")
    func killedPush() throws {
        let registry = try RegistryServer()
        let image = try TestImage(largeLayerBytes: 20 << 20)
        // The transfer dies inside the first PATCH and the process gives up at once (one attempt), as when
        // kiln is killed: the proxy closes the connection after 2 MiB of the body.
        let proxy = try RegistryFaultProxy(upstreamPort: registry.port, dropPatch: 1, dropAfter: 2 << 20)
        let dying = try Self.client(registry, host: proxy.host) {
            $0.monolithicLimit = 1 << 20
            $0.chunkSize = 5 << 20
            $0.maxAttempts = 1
        }
        #expect(throws: RegistryError.self) {
            _ = try dying.push(layout: image.layout, image: image.manifest,
                               to: try ImageReference(parsing: "\(proxy.host)/resume/image:v1"))
        }
        // libcurl would resend the chunk by itself on a reused connection that died; kiln forbids that.
        let dropped = try #require(proxy.entries.first { $0.dropped })
        #expect(!proxy.entries.drop { !$0.dropped }.dropFirst().contains { $0.session == dropped.session })
        #expect(!registry.hasManifests(in: "resume/image"))
        #expect(throws: (any Error).self) { _ = try inspectDigest(registry, "resume/image:v1") }

        let client = try Self.client(registry) { $0.monolithicLimit = 1 << 20; $0.chunkSize = 5 << 20 }
        let report = try client.push(layout: image.layout, image: image.manifest,
                                     to: try ImageReference(parsing: "\(registry.host)/resume/image:v1"))
        #expect(report.blobsUploaded >= 1)
        #expect(report.blobsUploaded + report.blobsSkipped == 3)
        #expect(registry.hasManifests(in: "resume/image"))
        let scratch = try TempDirectory()
        let copied = try Self.skopeoCopy(registry, "resume/image:v1", into: scratch)
        #expect(copied.descriptor.digest == image.manifest.digest)
    }

    @Test("pull verifies and stores an image byte for byte, OCI and Docker schema-2 alike", arguments: [
        TestImage.Docker.oci, .docker,
    ])
    func pull(mediaTypes: TestImage.Docker) throws {
        let registry = try RegistryServer()
        let image = try TestImage(files: ["usr/share/doc/x": "x\n"], mediaTypes: mediaTypes)
        let client = try Self.client(registry)
        let reference = try ImageReference(parsing: "\(registry.host)/pulled/app:1")
        _ = try client.push(layout: image.layout, image: image.manifest, to: reference)

        let target = try TempDirectory()
        let layout = try ImageLayout.create(at: target.path + "/layout")
        let pulled = try client.pull(reference, platform: try Platform(parsing: "linux/amd64"), into: layout, tag: "base")
        #expect(pulled.descriptor.digest == image.manifest.digest)
        #expect(pulled.descriptor.mediaType == (mediaTypes == .oci ? MediaType.imageManifest : MediaType.dockerManifest))
        #expect(pulled.descriptor.platform == Platform(architecture: "amd64", os: "linux"))
        #expect(try layout.read(tag: "base").manifest.layers.map(\.digest) == image.layers.map(\.digest))
        // By digest too, and a second pull finds every blob present.
        let byDigest = try ImageReference(parsing: "\(registry.host)/pulled/app@\(image.manifest.digest)")
        #expect(try client.pull(byDigest, platform: try Platform(parsing: "linux/amd64"), into: layout, tag: "again")
            .descriptor.digest == image.manifest.digest)
        // skopeo reads the pulled layout (containers/image lists only OCI media types in an index.json,
        // so a Docker schema-2 manifest, stored as it came, is checked by kiln's own reader above).
        guard mediaTypes == .oci else { return }
        let inspected = try skopeo(["inspect", "--format", "{{.Digest}}", "oci:\(layout.path):base"])
        #expect(inspected.trimmingCharacters(in: .whitespacesAndNewlines) == image.manifest.digest.description)
    }

    @Test("an index is pushed with its manifests, and pull picks the requested platform")
    func multiPlatform() throws {
        let registry = try RegistryServer()
        let amd = try TestImage(files: ["arch": "amd64\n"], tag: "amd64")
        let arm = try TestImage(files: ["arch": "arm64\n"], tag: "arm64",
                                platform: Platform(architecture: "arm64", os: "linux", variant: "v8"), sharing: amd)
        let index = Index(manifests: [amd.manifest, arm.manifest].map {
            Descriptor(mediaType: $0.mediaType, digest: $0.digest, size: $0.size, platform: $0.platform)
        })
        let indexDescriptor = try amd.layout.writeBlob(CanonicalJSON.encode(index), mediaType: MediaType.imageIndex)
        let client = try Self.client(registry)
        let reference = try ImageReference(parsing: "\(registry.host)/multi/app:1")
        let report = try client.push(layout: amd.layout, image: indexDescriptor, to: reference)
        #expect(report.manifestDigest == indexDescriptor.digest)
        #expect(report.blobsUploaded == 4)

        let target = try TempDirectory()
        let layout = try ImageLayout.create(at: target.path + "/layout")
        let pulled = try client.pull(reference, platform: try Platform(parsing: "linux/arm64"), into: layout, tag: "arm")
        #expect(pulled.descriptor.digest == arm.manifest.digest)
        #expect(pulled.config.architecture == "arm64")
        #expect(layout.hasBlob(indexDescriptor.digest))
        #expect {
            _ = try client.pull(reference, platform: try Platform(parsing: "linux/s390x"), into: layout, tag: "s390x")
        } throws: { "\($0)".contains("linux/amd64, linux/arm64/v8") }
    }

    @Test("a refused login is renewed once from the credential source, against the real registry")
    func renewedLogin() throws {
        let registry = try RegistryServer()
        let image = try TestImage()
        let credentials = CountingCredentials([("AWS", "expired-token"), ("AWS", registry.password ?? "")])
        let client = try RegistryClient(registry: registry.host, options: testOptions(), credentials: [credentials])
        let report = try client.push(layout: image.layout, image: image.manifest,
                                     to: try ImageReference(parsing: "\(registry.host)/renew/app:1"))
        #expect(report.blobsUploaded == 2)
        #expect(credentials.invalidations == 1)

        let wrong = try RegistryClient(registry: registry.host, options: testOptions(),
                                       credentials: [StaticCredentials(username: "AWS", password: "not-the-password")])
        #expect {
            _ = try wrong.push(layout: image.layout, image: image.manifest,
                               to: try ImageReference(parsing: "\(registry.host)/renew/app:1"))
        } throws: { ($0 as? RegistryError)?.isUnauthorized == true && !"\($0)".contains("not-the-password") }
    }

    @Test("Bearer tokens from the registry's token service: one per scope set, then push, pull and skopeo agree")
    func bearer() throws {
        let registry = try RegistryServer(bearerTokens: true)
        let image = try TestImage(files: ["a": "1\n", "b": "2\n"])
        let client = try Self.client(registry)
        let reference = try ImageReference(parsing: "\(registry.host)/bearer/app:1")
        let report = try client.push(layout: image.layout, image: image.manifest, to: reference)
        #expect(report.blobsUploaded == 3)
        let requests = registry.tokenRequests
        #expect(requests.allSatisfy { $0.authenticated && $0.granted && $0.service == "kiln-test-registry" })
        #expect(requests.map(\.scopes).sorted { $0.description < $1.description }
                == [["repository:bearer/app:pull"], ["repository:bearer/app:pull,push"]])
        #expect(try inspectDigest(registry, "bearer/app:1") == image.manifest.digest.description)

        let target = try TempDirectory()
        let layout = try ImageLayout.create(at: target.path + "/layout")
        let pulled = try client.pull(reference, platform: try Platform(parsing: "linux/amd64"), into: layout, tag: "t")
        #expect(pulled.descriptor.digest == image.manifest.digest)

        let wrong = try RegistryClient(registry: registry.host, options: testOptions(),
                                       credentials: [StaticCredentials(username: "AWS", password: "wrong-password")])
        #expect {
            _ = try wrong.pull(reference, platform: try Platform(parsing: "linux/amd64"), into: layout, tag: "t")
        } throws: { error in
            let text = "\(error)"
            return (error as? RegistryError)?.isUnauthorized == true && text.contains("token request")
                && !text.contains("wrong-password")
        }
    }

    @Test("anonymous Bearer tokens let an open registry be pulled without credentials")
    func anonymousBearer() throws {
        let registry = try RegistryServer(password: nil, bearerTokens: true)
        let image = try TestImage()
        let client = try RegistryClient(registry: registry.host, options: testOptions(), credentials: [])
        let reference = try ImageReference(parsing: "\(registry.host)/anon/app:1")
        _ = try client.push(layout: image.layout, image: image.manifest, to: reference)
        let target = try TempDirectory()
        let layout = try ImageLayout.create(at: target.path + "/layout")
        #expect(try client.pull(reference, platform: try Platform(parsing: "linux/amd64"), into: layout, tag: "t")
            .descriptor.digest == image.manifest.digest)
        #expect(registry.tokenRequests.allSatisfy { !$0.authenticated && $0.granted })
    }

    @Test("HTTPS with a private CA: trusted through caBundle, refused without it")
    func tls() throws {
        let registry = try RegistryServer(tls: true)
        let image = try TestImage()
        let reference = try ImageReference(parsing: "\(registry.host)/tls/app:1")
        let trusting = try Self.client(registry) {
            $0.plainHTTP = false
            $0.caBundle = registry.caBundle
        }
        #expect(trusting.baseURL.hasPrefix("https://"))
        #expect(try trusting.push(layout: image.layout, image: image.manifest, to: reference).blobsUploaded == 2)
        let untrusting = try Self.client(registry) { $0.plainHTTP = false }
        #expect {
            _ = try untrusting.push(layout: image.layout, image: image.manifest, to: reference)
        } throws: { "\($0)".contains("TLS") || "\($0)".contains("certificate") }
    }
}

private func reference(_ host: String) -> ImageReference {
    ImageReference(registry: host, repository: "x/y", tag: "1")
}

/// ECR's login path end to end: moto's GetAuthorizationToken gives the password, which the local
/// registry's htpasswd holds for user AWS; the repository is created through moto's control plane.
@Suite("ECR login against moto", .moto, .serialized)
struct ECRLoginTests {
    @Test("the ECR token logs in to the registry; the repository is created once with scan on push and immutability")
    func ecrPush() throws {
        let ecr = try ECRClient(config: MotoScope.config())
        let token = try #require(try ecr.getAuthorizationToken().first)
        let registry = try RegistryServer(password: token.password)
        let source = ECRCredentialSource(client: ecr, alsoFor: [registry.host])
        let name = "kiln/\(unique("app"))"
        #expect(try source.ensureRepository(name, settings: ECRRepositorySettings(scanOnPush: true, tagMutability: .immutable)))
        #expect(try !source.ensureRepository(name, settings: ECRRepositorySettings()))
        let repository = try #require(try ecr.describeRepository(name: name))
        #expect(repository.imageScanningConfiguration?.scanOnPush == true)
        #expect(repository.imageTagMutability == .immutable)

        let image = try TestImage()
        let client = try RegistryClient(registry: registry.host, options: testOptions(), credentials: [source])
        let report = try client.push(layout: image.layout, image: image.manifest,
                                     to: try ImageReference(parsing: "\(registry.host)/\(name):1"))
        #expect(report.blobsUploaded == 2)
        #expect(source.tokensFetched == 1)
        // Cached until refused; a token near its expiry is not reused.
        _ = try source.credentials(for: registry.host)
        #expect(source.tokensFetched == 1)
        source.invalidate(registry: registry.host)
        _ = try source.credentials(for: registry.host)
        #expect(source.tokensFetched == 2)
        // moto dates its tokens 2015: such an expiry is replaced by an hour from the fetch; later than
        // that (the clock moved on), the token is fetched again.
        final class Clock: @unchecked Sendable {
            let lock = NSLock(); var offset: TimeInterval = 0
            func now() -> Date { lock.withLock { Date().addingTimeInterval(offset) } }
            func advance(_ seconds: TimeInterval) { lock.withLock { offset += seconds } }
        }
        let clock = Clock()
        let timed = ECRCredentialSource(client: ecr, alsoFor: [registry.host], now: clock.now)
        _ = try timed.credentials(for: registry.host)
        clock.advance(3000)
        _ = try timed.credentials(for: registry.host)
        #expect(timed.tokensFetched == 1)
        clock.advance(400)
        _ = try timed.credentials(for: registry.host)
        #expect(timed.tokensFetched == 2)
        #expect(try inspectDigest(registry, "\(name):1") == image.manifest.digest.description)
        // The factory creates a missing ECR repository with the requested settings before pushing.
        let ecrName = "kiln/\(unique("factory"))"
        let ecrReference = try ImageReference(parsing: "123456789012.dkr.ecr.us-east-1.amazonaws.com/\(ecrName):1")
        let factoryClient = try Registries.client(for: ecrReference, options: testOptions(), ecr: ecr,
                                                  ecrRepositorySettings: ECRRepositorySettings(scanOnPush: true, tagMutability: .immutable))
        #expect(factoryClient.baseURL == "https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
        #expect(try ecr.describeRepository(name: ecrName)?.imageTagMutability == .immutable)
        #expect(Registries.credentialSources(for: ecrReference, options: testOptions(), ecr: ecr).first is ECRCredentialSource)
        #expect(!(Registries.credentialSources(for: reference(registry.host), options: testOptions(), ecr: ecr).first
                  is ECRCredentialSource))
        // The source never answers for other registries.
        #expect(try source.credentials(for: "ghcr.io") == nil)
    }
}
