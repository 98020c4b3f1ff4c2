import Foundation
import KilnArchive
import KilnTestSupport
import Testing
@testable import OCI

private let install = "apt-get install skopeo umoci"

/// Builds a one-layer image (a directory, files with modes and owners, a symlink) in a new layout.
private func makeImage(in dir: TempDirectory, tag: String = "v1") throws -> (ImageLayout, Descriptor, LayerBlob) {
    let tarGz = dir.path + "/layer.tar.gz"
    let writer = try TarWriter(path: tarGz, compression: .gzip(level: 6))
    try writer.addDirectory(path: "app", mode: 0o750, uid: 1000, gid: 100, mtime: 1_700_000_000)
    try writer.addFile(path: "app/hello.txt", contents: Array("hello, kiln\n".utf8), mode: 0o640, uid: 1000, gid: 100,
                       mtime: 1_700_000_000)
    try writer.addFile(path: "app/run.sh", contents: Array("#!/bin/sh\necho hi\n".utf8), mode: 0o755)
    try writer.addSymlink(path: "app/link", target: "hello.txt", uid: 1000, gid: 100)
    try writer.finish()

    let layer = try LayerBlob.make(fromTarGz: tarGz)
    let layout = try ImageLayout.create(at: dir.path + "/layout")
    let layerDescriptor = try layout.writeLayer(layer)
    let config = ImageConfig(
        architecture: "amd64", os: "linux",
        config: .init(user: "1000:100", env: ["PATH=/usr/bin:/bin"], cmd: ["/app/run.sh"], workingDir: "/app",
                      labels: ["org.opencontainers.image.title": "kiln test"]),
        rootfs: .init(diffIDs: [layer.diffID]),
        history: [.init(created: "2024-01-01T00:00:00Z", createdBy: "kiln test layer")],
        created: "2024-01-01T00:00:00Z")
    let configDescriptor = try layout.writeConfig(config)
    let manifest = try layout.addManifest(Manifest(config: configDescriptor, layers: [layerDescriptor]), tag: tag)
    return (layout, manifest, layer)
}

@Suite struct ImageLayoutTests {
    @Test func layoutFilesFollowTheSpec() throws {
        let dir = try TempDirectory()
        let layout = try ImageLayout.create(at: dir.path + "/l")
        let ociLayout = try String(contentsOfFile: layout.path + "/oci-layout", encoding: .utf8)
        #expect(ociLayout == #"{"imageLayoutVersion":"1.0.0"}"#)
        #expect(try layout.readIndex() == Index())
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: layout.path + "/blobs/sha256", isDirectory: &isDirectory))
        #expect(isDirectory.boolValue)
        _ = try ImageLayout.open(at: layout.path)
    }

    @Test func blobDigestsAreSHA256OfTheFileBytes() throws {
        let dir = try TempDirectory()
        let layout = try ImageLayout.create(at: dir.path + "/l")
        let fromBytes = try layout.writeBlob(Array("some config bytes / with a slash".utf8), mediaType: MediaType.imageConfig)
        #expect(fromBytes.digest.hex == (try sha256sum(layout.blobPath(fromBytes.digest))))
        #expect(fromBytes.size == 32)

        let source = try dir.write("big.bin", String(repeating: "0123456789abcdef", count: 200_000))
        let fromFile = try layout.writeBlob(fromFile: source, mediaType: MediaType.layerTar)
        #expect(fromFile.digest.hex == (try sha256sum(source)))
        #expect(fromFile.digest.hex == (try sha256sum(layout.blobPath(fromFile.digest))))
        #expect(fromFile.size == 3_200_000)
        // Nothing but digest-named blobs is left behind (temporary files were renamed or removed).
        let names = try FileManager.default.contentsOfDirectory(atPath: layout.path + "/blobs/sha256").sorted()
        #expect(names == [fromBytes.digest.hex, fromFile.digest.hex].sorted())
        #expect(throws: OCIError.self) {
            try layout.writeBlob(fromFile: source, mediaType: MediaType.layerTar, expected: fromBytes.digest)
        }
    }

    @Test func manifestWithMissingBlobIsRefused() throws {
        let dir = try TempDirectory()
        let layout = try ImageLayout.create(at: dir.path + "/l")
        let config = try layout.writeBlob(Array("{}".utf8), mediaType: MediaType.imageConfig)
        let ghost = Descriptor(mediaType: MediaType.layerTarGzip, digest: Digest.sha256(of: [1, 2, 3]), size: 3)
        #expect(throws: OCIError.self) { try layout.addManifest(Manifest(config: config, layers: [ghost]), tag: "x") }
        #expect(try layout.readIndex().manifests.isEmpty)
    }

    @Test func readBackVerifiesEveryBlob() throws {
        let dir = try TempDirectory()
        let (layout, manifest, layer) = try makeImage(in: dir)
        let image = try layout.read(tag: "v1")
        #expect(image.descriptor == manifest)
        #expect(image.manifest.layers.map(\.digest) == [layer.digest])
        #expect(image.config.rootfs.diffIDs == [layer.diffID])
        #expect(try layout.tags() == ["v1"])
        #expect(throws: OCIError.self) { try layout.read(tag: "nope") }

        // Re-tagging replaces the entry rather than adding a second "v1".
        _ = try layout.addManifest(image.manifest, tag: "v1")
        #expect(try layout.tags() == ["v1"])
    }

    @Test(arguments: ["layer", "config", "manifest"])
    func tamperedBlobIsRejected(which: String) throws {
        let dir = try TempDirectory()
        let (layout, manifest, _) = try makeImage(in: dir)
        let image = try layout.read(tag: "v1")
        let digest = switch which {
        case "layer": image.manifest.layers[0].digest
        case "config": image.manifest.config.digest
        default: manifest.digest
        }
        let file = layout.blobPath(digest)
        var bytes = try #require(FileManager.default.contents(atPath: file))
        bytes[bytes.count / 2] ^= 0x01  // same size, different content
        try bytes.write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: OCIError.self) { try layout.read(tag: "v1") }
        #expect(error?.description.contains(digest.hex) == true)
    }

    @Test func skopeoInspectAgreesWithTheLayout() throws {
        guard let skopeo = requireProgram("skopeo", install: install) else { return }
        let dir = try TempDirectory()
        let (layout, manifest, layer) = try makeImage(in: dir)
        let image = try layout.read(tag: "v1")

        let inspect = try runProgram(skopeo, ["inspect", "oci:\(layout.path):v1"])
        try #require(inspect.status == 0, "skopeo inspect failed: \(inspect.output)")
        let info = try #require(JSONSerialization.jsonObject(with: Data(inspect.output.utf8)) as? [String: Any])
        #expect(info["Digest"] as? String == manifest.digest.description)
        #expect(info["Layers"] as? [String] == [layer.digest.description])
        #expect(info["Architecture"] as? String == "amd64")
        #expect(info["Os"] as? String == "linux")

        let raw = try runProgram(skopeo, ["inspect", "--raw", "oci:\(layout.path):v1"])
        try #require(raw.status == 0, "skopeo inspect --raw failed: \(raw.output)")
        #expect(Digest.sha256(of: Array(raw.output.utf8)) == manifest.digest)
        let rawManifest = try CanonicalJSON.decode(Manifest.self, from: Array(raw.output.utf8), what: "skopeo output")
        #expect(rawManifest.config.digest == image.manifest.config.digest)

        let config = try runProgram(skopeo, ["inspect", "--config", "--raw", "oci:\(layout.path):v1"])
        try #require(config.status == 0, "skopeo inspect --config failed: \(config.output)")
        #expect(Digest.sha256(of: Array(config.output.utf8)) == image.manifest.config.digest)
    }

    @Test func umociUnpacksTheRootfs() throws {
        guard let umoci = requireProgram("umoci", install: install) else { return }
        guard getuid() == 0 else {
            Issue.record("umoci unpack must run as root to restore owners; run the OCI tests as root")
            return
        }
        let dir = try TempDirectory()
        let (layout, _, _) = try makeImage(in: dir)
        let bundle = dir.path + "/bundle"
        let unpack = try runProgram(umoci, ["unpack", "--image", "\(layout.path):v1", bundle])
        try #require(unpack.status == 0, "umoci unpack failed: \(unpack.output)")

        let rootfs = bundle + "/rootfs"
        let fm = FileManager.default
        #expect(fm.contents(atPath: rootfs + "/app/hello.txt") == Data("hello, kiln\n".utf8))
        #expect(fm.contents(atPath: rootfs + "/app/run.sh") == Data("#!/bin/sh\necho hi\n".utf8))
        #expect(try fm.destinationOfSymbolicLink(atPath: rootfs + "/app/link") == "hello.txt")
        for (path, mode, uid, gid, type) in [
            ("app", 0o750, 1000, 100, S_IFDIR), ("app/hello.txt", 0o640, 1000, 100, S_IFREG),
            ("app/run.sh", 0o755, 0, 0, S_IFREG), ("app/link", 0o777, 1000, 100, S_IFLNK),
        ] {
            var info = stat()
            try #require(lstat(rootfs + "/" + path, &info) == 0, "lstat \(path)")
            #expect(info.st_mode & S_IFMT == type, "type of \(path)")
            if type != S_IFLNK { #expect(Int(info.st_mode & 0o7777) == mode, "mode of \(path)") }
            #expect(Int(info.st_uid) == uid, "owner of \(path)")
            #expect(Int(info.st_gid) == gid, "group of \(path)")
        }
    }
}
