import Foundation
import Testing
@testable import OCI

private let configDigest = try! Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
private let layerDigest = try! Digest(parsing: "sha256:" + String(repeating: "b", count: 64))

private func jsonObject(_ bytes: [UInt8]) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
}

@Suite struct ModelTests {
    @Test(arguments: [
        ("sha256:" + String(repeating: "0", count: 64), true),
        ("sha256:" + String(repeating: "f", count: 64), true),
        ("sha256:" + String(repeating: "F", count: 64), false),
        ("sha256:" + String(repeating: "0", count: 63), false),
        ("sha256:" + String(repeating: "0", count: 65), false),
        ("sha512:" + String(repeating: "0", count: 128), false),
        (String(repeating: "0", count: 64), false),
        ("sha256:" + String(repeating: "g", count: 64), false),
        ("", false),
    ])
    func digestParsing(text: String, valid: Bool) throws {
        if valid {
            let digest = try Digest(parsing: text)
            #expect(digest.description == text)
            #expect(digest.blobPath == "blobs/sha256/" + text.dropFirst(7))
        } else {
            #expect(throws: OCIError.self) { try Digest(parsing: text) }
        }
    }

    @Test func digestOfBytesIsSHA256() {
        // FIPS 180-2 test vector.
        #expect(Digest.sha256(of: Array("abc".utf8)).hex
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func manifestUsesSpecFieldNames() throws {
        let manifest = Manifest(
            config: Descriptor(mediaType: MediaType.imageConfig, digest: configDigest, size: 7),
            layers: [Descriptor(mediaType: MediaType.layerTarGzip, digest: layerDigest, size: 42)],
            annotations: ["org.opencontainers.image.source": "https://example.com/a/b"])
        let bytes = try CanonicalJSON.encode(manifest)
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text == #"{"annotations":{"org.opencontainers.image.source":"https://example.com/a/b"},"#
            + #""config":{"digest":"\#(configDigest)","mediaType":"application/vnd.oci.image.config.v1+json","size":7},"#
            + #""layers":[{"digest":"\#(layerDigest)","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":42}],"#
            + #""mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2}"#)
        #expect(try CanonicalJSON.decode(Manifest.self, from: bytes, what: "test") == manifest)
    }

    @Test func configUsesSpecFieldNames() throws {
        let config = ImageConfig(
            architecture: "amd64", os: "linux",
            config: .init(user: "1000:100", exposedPorts: ["8888/tcp": EmptyObject()], env: ["PATH=/usr/bin"],
                          entrypoint: ["/bin/sh"], cmd: ["-c", "jupyter lab"], workingDir: "/home/jovyan",
                          labels: ["a": "b"]),
            rootfs: .init(diffIDs: [layerDigest]),
            history: [.init(created: "2024-01-01T00:00:00Z", createdBy: "kiln", emptyLayer: false)],
            created: "2024-01-01T00:00:00Z")
        let bytes = try CanonicalJSON.encode(config)
        let object = try jsonObject(bytes)
        #expect(Set(object.keys) == ["architecture", "os", "config", "rootfs", "history", "created"])
        let exec = try #require(object["config"] as? [String: Any])
        #expect(Set(exec.keys) == ["User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "WorkingDir", "Labels"])
        #expect((exec["ExposedPorts"] as? [String: [String: Any]])?["8888/tcp"]?.isEmpty == true)
        let rootfs = try #require(object["rootfs"] as? [String: Any])
        #expect(rootfs["type"] as? String == "layers")
        #expect(rootfs["diff_ids"] as? [String] == [layerDigest.description])
        let history = try #require((object["history"] as? [[String: Any]])?.first)
        #expect(Set(history.keys) == ["created", "created_by", "empty_layer"])
        #expect(!String(decoding: bytes, as: UTF8.self).contains(#"\/"#), "slashes must not be escaped")
        #expect(try CanonicalJSON.decode(ImageConfig.self, from: bytes, what: "test") == config)
    }

    @Test func platformAndIndexFieldNames() throws {
        var descriptor = Descriptor(mediaType: MediaType.imageManifest, digest: configDigest, size: 1,
                                    annotations: [Descriptor.refNameAnnotation: "v1"])
        descriptor.platform = Platform(architecture: "arm64", os: "linux", osVersion: "6.1", variant: "v8")
        let object = try jsonObject(CanonicalJSON.encode(Index(manifests: [descriptor])))
        #expect(object["schemaVersion"] as? Int == 2)
        #expect(object["mediaType"] as? String == MediaType.imageIndex)
        let entry = try #require((object["manifests"] as? [[String: Any]])?.first)
        let platform = try #require(entry["platform"] as? [String: Any])
        #expect(Set(platform.keys) == ["architecture", "os", "os.version", "variant"])
    }

    @Test func dockerSchema2IsAcceptedOnRead() throws {
        let json = #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","#
            + #""config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":7,"digest":"\#(configDigest)"},"#
            + #""layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":42,"digest":"\#(layerDigest)"}]}"#
        let manifest = try CanonicalJSON.decode(Manifest.self, from: Array(json.utf8), what: "docker manifest")
        #expect(manifest.mediaType == MediaType.dockerManifest)
        #expect(manifest.layers.first?.digest == layerDigest)
    }

    @Test(arguments: [
        #"{"schemaVersion":1,"config":{"mediaType":"x","digest":"sha256:aaaa","size":1},"layers":[]}"#,
        #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{"mediaType":"x","digest":"sha256:aaaa","size":1},"layers":[]}"#,
        #"{"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:AAAA","size":1},"layers":[]}"#,
    ])
    func invalidManifestsAreRejected(json: String) {
        #expect(throws: OCIError.self) { try CanonicalJSON.decode(Manifest.self, from: Array(json.utf8), what: "test") }
    }

    @Test(arguments: [("latest", true), ("v1.0", true), ("kiln/jupyter:2024-01", true), ("a--b", true),
                      ("", false), ("-x", false), ("a..b", false), ("a/", false), ("a b", false), ("a---b", false)])
    func tagGrammar(tag: String, valid: Bool) {
        if valid {
            #expect(throws: Never.self) { try ImageLayout.validateTag(tag) }
        } else {
            #expect(throws: OCIError.self) { try ImageLayout.validateTag(tag) }
        }
    }
}
