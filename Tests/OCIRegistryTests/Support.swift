import Foundation
import KilnArchive
import KilnHTTP
import KilnTestSupport
import OCI
@testable import OCIRegistry
import Testing

/// A test image in a fresh layout: small tar.gz layers made with TarWriter, optionally one large layer
/// of random bytes (to exercise chunked uploads), a config whose diff_ids match, tagged `tag`.
struct TestImage {
    let directory: TempDirectory
    let layout: ImageLayout
    let manifest: Descriptor
    let layers: [LayerBlob]

    init(files: [String: String] = ["etc/kiln-test": "hello\n"], largeLayerBytes: Int = 0, tag: String = "v1",
         platform: Platform = Platform(architecture: "amd64", os: "linux"), mediaTypes: Docker = .oci,
         sharing other: TestImage? = nil) throws {
        directory = try TempDirectory()
        layout = try other?.layout ?? ImageLayout.create(at: directory.path + "/layout")
        var layers: [LayerBlob] = []
        for (index, (path, text)) in files.sorted(by: { $0.key < $1.key }).enumerated() {
            let file = directory.path + "/layer\(index).tar.gz"
            let writer = try TarWriter(path: file, compression: .gzip(level: 6))
            try writer.addFile(path: path, contents: Array(text.utf8))
            try writer.finish()
            layers.append(try LayerBlob.make(fromTarGz: file))
        }
        if largeLayerBytes > 0 {
            let random = directory.path + "/random.bin"
            let urandom = try #require(FileHandle(forReadingAtPath: "/dev/urandom"))
            let bytes = try #require(try urandom.read(upToCount: largeLayerBytes))
            try urandom.close()
            _ = FileManager.default.createFile(atPath: random, contents: bytes)
            let file = directory.path + "/large.tar.gz"
            let writer = try TarWriter(path: file, compression: .gzip(level: 1))
            try writer.addFile(path: "opt/random.bin", fromFileAt: random)
            try writer.finish()
            layers.append(try LayerBlob.make(fromTarGz: file))
        }
        var descriptors: [Descriptor] = []
        for layer in layers {
            var descriptor = try layout.writeLayer(layer)
            if mediaTypes == .docker { descriptor.mediaType = MediaType.dockerLayerGzip }
            descriptors.append(descriptor)
        }
        let config = ImageConfig(architecture: platform.architecture, os: platform.os,
                                 rootfs: .init(diffIDs: layers.map(\.diffID)), variant: platform.variant)
        var configDescriptor = try layout.writeConfig(config)
        var manifest = Manifest(config: configDescriptor, layers: descriptors)
        if mediaTypes == .docker {
            configDescriptor.mediaType = MediaType.dockerConfig
            manifest = Manifest(config: configDescriptor, layers: descriptors)
            manifest.mediaType = MediaType.dockerManifest
        }
        self.manifest = try layout.addManifest(manifest, tag: tag, platform: platform)
        self.layers = layers
    }

    /// Which media types the manifest uses.
    enum Docker { case oci, docker }

    /// The manifest and every blob it names.
    var blobCount: Int { layers.count + 1 }
}

/// Records every request and answers from a script of handlers: a fake registry for unit tests of the
/// authentication logic.
final class FakeTransport: RegistryTransport, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var requests: [HTTPRequest] = []
    private let handler: @Sendable (HTTPRequest, Int) -> HTTPResponse

    init(_ handler: @escaping @Sendable (HTTPRequest, Int) -> HTTPResponse) { self.handler = handler }

    func send(_ request: HTTPRequest, bodyTo: String?, progress: (@Sendable (Int64) -> Void)?) throws -> HTTPResponse {
        let count = lock.withLock { requests.append(request); return requests.count }
        var response = handler(request, count)
        if let bodyTo, response.isSuccess {
            _ = FileManager.default.createFile(atPath: bodyTo, contents: Data(response.body))
            response.body = []
        }
        return response
    }

    var recorded: [HTTPRequest] { lock.withLock { requests } }
}

extension HTTPRequest {
    /// The Authorization header sent, if any.
    var authorization: String? { headers.first { $0.0 == "Authorization" }?.1 }
}

/// Options for tests: no sleeping between retries, loopback over HTTP.
func testOptions(transport: (any RegistryTransport)? = nil, maxAttempts: Int = 3,
                 progress: (any TransferProgress)? = nil) -> RegistryOptions {
    RegistryOptions(environment: [:], progress: progress, maxAttempts: maxAttempts, retryBaseDelay: .milliseconds(1),
                    sleep: { _ in }, transport: transport)
}

/// Runs skopeo with arguments, failing with its output.
func skopeo(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
    guard let path = requireProgram("skopeo", install: "apt-get install skopeo", sourceLocation: sourceLocation) else {
        throw TestSupportError("skopeo missing")
    }
    let result = try runProgram(path, arguments)
    guard result.status == 0 else { throw TestSupportError("skopeo \(arguments.joined(separator: " ")) failed: \(result.output)") }
    return result.output
}

/// The manifest digest skopeo reads for an image in the registry (`skopeo inspect --format {{.Digest}}`).
func inspectDigest(_ registry: RegistryServer, _ reference: String) throws -> String {
    try skopeo(["inspect", "--tls-verify=false", "--format", "{{.Digest}}"] + registry.skopeoCredentials
               + ["docker://\(registry.host)/\(reference)"]).trimmingCharacters(in: .whitespacesAndNewlines)
}
