import ArgumentParser
import Foundation
import KilnTestSupport
import Testing
@testable import KilnCommands
import OCI
import OCIRegistry

@Suite("kiln pull", .serialized)
struct PullCommandTests {
    @Test("help explains the command with examples")
    func help() {
        let text = Pull.helpMessage()
        #expect(text.contains("--output"))
        #expect(text.contains("--platform"))
        #expect(text.contains("Examples:"))
        #expect(text.contains("kiln pull docker.io/library/debian:bookworm"))
    }

    @Test("bad input is refused before any network traffic", arguments: [
        (["pull", "https://ghcr.io/x"], "leave out the scheme"),
        (["pull", "Bad/Name"], "lowercase"),
        (["pull", "ghcr.io/x", "--output", "dir:out"], "--output must be oci-layout:DIR"),
        (["pull", "ghcr.io/x", "--platform", "amd64"], "os/architecture"),
        (["pull", "ghcr.io/x", "--tag", "-bad"], "--tag"),
        (["pull", "ghcr.io/x", "--parallel", "0"], "--parallel"),
    ])
    func refuses(arguments: [String], message: String) {
        let (code, io) = kiln(arguments)
        #expect(code == 64)
        #expect(io.err.contains(message), "\(io.err)")
    }

    @Test("pulls an image from a registry into an OCI layout and prints its digest; --json prints a record")
    func pulls() throws {
        let registry = try RegistryServer(password: nil)
        defer { registry.stop() }
        let work = try TempDir()
        // An image pushed with the library: one small layer (any bytes do for a registry) and a config.
        let source = try ImageLayout.create(at: work.path + "/source")
        let layer = try source.writeBlob(Array("not really a tarball".utf8), mediaType: MediaType.layerTarGzip)
        let config = try source.writeConfig(ImageConfig(architecture: "amd64", os: "linux",
                                                        rootfs: .init(diffIDs: [layer.digest])))
        let manifest = try source.addManifest(Manifest(config: config, layers: [layer]), tag: "v1")
        let reference = try ImageReference(parsing: "\(registry.host)/team/tool:v1")
        let client = try RegistryClient(registry: registry.host, options: RegistryOptions(environment: [:]), credentials: [])
        _ = try client.push(layout: source, image: manifest, to: reference)

        let (code, io) = kiln(["pull", reference.description], in: work.path)
        #expect(code == 0, "\(io.err)")
        #expect(io.out == manifest.digest.description + "\n")
        #expect(io.err.contains("pulled \(reference) into oci-layout:\(work.path)/out/pull/tool as 'v1'"))
        #expect(io.err.contains("downloaded"))
        let pulled = try ImageLayout.open(at: work.path + "/out/pull/tool").read(tag: "v1")
        #expect(pulled.descriptor.digest == manifest.digest)

        let (jsonCode, jsonIO) = kiln(["pull", "\(registry.host)/team/tool@\(manifest.digest)", "--output", "oci-layout:other",
                                       "--tag", "pinned", "--json"], in: work.path)
        #expect(jsonCode == 0, "\(jsonIO.err)")
        struct Record: Decodable {
            var digest: String
            var tag: String
            var layout: String
            var layers: Int
            var platform: String?
        }
        let record = try JSONDecoder().decode(Record.self, from: Data(jsonIO.out.utf8))
        #expect(record.digest == manifest.digest.description)
        #expect(record.tag == "pinned")
        #expect(record.layout == work.path + "/other")
        #expect(record.layers == 1)
        #expect(record.platform == "linux/amd64")

        let (missingCode, missingIO) = kiln(["pull", "\(registry.host)/team/absent:v1", "--output", "oci-layout:x"], in: work.path)
        #expect(missingCode == 1)
        #expect(missingIO.err.contains("not found"))
    }
}
