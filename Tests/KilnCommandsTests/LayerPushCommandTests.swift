import ArgumentParser
import Foundation
import KilnArchive
import KilnTestSupport
import OCI
import OCIRegistry
import Testing
@testable import KilnCommands
import struct KilnCrypto.SHA256

/// `sha256:<hex>` of a file's bytes.
private func fileDigest(_ path: String) throws -> String {
    "sha256:" + (try SHA256.hash(fileAt: path)).hex
}

/// A small tree with a nested directory, an executable, a symlink and a file whose name needs pax.
private func makeTree(in dir: TempDirectory) throws -> String {
    let root = dir.path + "/tree"
    try dir.write("tree/etc/greeting", "hello from kiln layer\n")
    try dir.write("tree/usr/local/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
    try dir.write("tree/" + String(repeating: "long-name-", count: 12) + "/file", "deep\n")
    try FileManager.default.createSymbolicLink(atPath: root + "/etc/link", withDestinationPath: "greeting")
    return root
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite("kiln layer and kiln push", .serialized)
struct LayerPushCommandTests {
    @Test("help explains both commands with examples", arguments: [
        (Layer.helpMessage(), ["--output", "--compression", "--threads", "--epoch", "Examples:",
                               "kiln layer rootfs --output layer.tar.gz"]),
        (Push.helpMessage(), ["oci-layout:DIR[:TAG]", "--also-tag", "--mount-from", "Examples:",
                              "kiln push oci-layout:out/tools:2026.11 127.0.0.1:5000/tools"]),
    ])
    func help(text: String, expected: [String]) {
        for fragment in expected { #expect(text.contains(fragment), "missing \(fragment)") }
    }

    @Test("usage errors are refused before anything is read or sent", arguments: [
        (["layer", "tree", "--output", "x", "--compression", "xz"], "--compression must be gzip, zstd or none"),
        (["layer", "tree", "--output", "x", "--level", "12"], "--level for gzip must be between 1 and 9"),
        (["layer", "tree", "--output", "x", "--compression", "zstd", "--level", "20"], "between 1 and 19"),
        (["layer", "tree", "--output", "x", "--threads", "0"], "--threads must be between 1 and 256"),
        (["layer", "tree", "--output", "x", "--epoch", "-1"], "--epoch"),
        (["layer", "tree"], "--output"),
        (["push", "out/tools", "127.0.0.1:5000/tools"], "oci-layout:DIR[:TAG]"),
        (["push", "oci-layout:", "127.0.0.1:5000/tools"], "oci-layout:DIR[:TAG]"),
        (["push", "oci-layout:out:-bad", "127.0.0.1:5000/tools"], "tag"),
        (["push", "oci-layout:out", "https://127.0.0.1:5000/tools"], "leave out the scheme"),
        (["push", "oci-layout:out", "127.0.0.1:5000/tools", "--also-tag", ".x"], "--also-tag"),
    ])
    func usage(arguments: [String], message: String) {
        let (code, io) = kiln(arguments)
        #expect(code == 64, "\(io.err)")
        #expect(io.err.contains(message), "\(io.err)")
    }

    @Test("the layout source splits into a directory and an optional tag", arguments: [
        ("oci-layout:out/tools:2026.11", "out/tools", "2026.11"),
        ("oci-layout:out/tools", "out/tools", nil),
        ("oci-layout:/abs/dir:latest", "/abs/dir", "latest"),
        ("oci-layout:odd:name/dir", "odd:name/dir", nil),
    ] as [(String, String, String?)])
    func source(text: String, directory: String, tag: String?) throws {
        let parsed = try Push.parseSource(text)
        #expect(parsed.directory == directory)
        #expect(parsed.tag == tag)
    }

    @Test("kiln layer writes a layer GNU tar reads, with the digests it prints; the thread count does not change the bytes",
          arguments: ["gzip", "zstd"])
    func layer(compression: String) throws {
        let dir = try TempDirectory()
        _ = try makeTree(in: dir)
        let (code, io) = kiln(["layer", "tree", "--output", "one.layer", "--compression", compression, "--threads", "1",
                                  "--epoch", "1700000000", "--json"], in: dir.path)
        #expect(code == 0, "\(io.err)")
        let record = try json(io.out)
        let path = dir.path + "/one.layer"
        #expect(record["path"] as? String == path)
        #expect(record["mediaType"] as? String == (compression == "gzip" ? MediaType.layerTarGzip : MediaType.layerTarZstd))
        #expect(record["digest"] as? String == (try fileDigest(path)), "the digest is the file's SHA-256")
        #expect(record["size"] as? Int64 == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int64))

        // The diffID is the SHA-256 of the uncompressed tar, as an independent decompressor gives it.
        let tool = compression == "gzip" ? "gzip" : "zstd"
        let decompressor = try #require(requireProgram(tool, install: "apt-get install \(tool)"))
        let plain = dir.path + "/one.tar"
        let shell = try runProgram("/bin/sh", ["-c", "'\(decompressor)' -dc < '\(path)' > '\(plain)'"])
        #expect(shell.status == 0, "\(shell.output)")
        #expect(record["diffID"] as? String == (try fileDigest(plain)))
        #expect(record["uncompressedSize"] as? Int64 == (try FileManager.default.attributesOfItem(atPath: plain)[.size] as? Int64))

        // GNU tar lists every entry, sorted, with the clamped mtime and the symlink kept.
        let listing = try runProgram("/bin/tar", ["--utc", "-tvf", plain])
        #expect(listing.status == 0, "\(listing.output)")
        for name in ["etc/", "etc/greeting", "etc/link -> greeting", "usr/local/bin/tool",
                     String(repeating: "long-name-", count: 12) + "/file"] {
            #expect(listing.output.contains(name), "\(name) in \(listing.output)")
        }
        #expect(listing.output.contains("2023-11-14 22:13"), "mtimes clamped to --epoch 1700000000")
        #expect(listing.output.contains("-rwxr-xr-x 0/0"), "modes and numeric owners kept")
        let extracted = dir.path + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        #expect(try runProgram("/bin/tar", ["-xf", plain, "-C", extracted]).status == 0)
        #expect(try String(contentsOfFile: extracted + "/etc/greeting", encoding: .utf8) == "hello from kiln layer\n")

        // Two threads give the same bytes; the text output prints the three values.
        let (again, text) = kiln(["layer", "tree", "--output", "two.layer", "--compression", compression,
                                     "--threads", "2"], in: dir.path, environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(again == 0, "\(text.err)")
        #expect(text.out == "diffID \(record["diffID"] as? String ?? "")\ndigest \(record["digest"] as? String ?? "")\n"
            + "size   \(record["size"] as? Int64 ?? -1)\n")
    }

    @Test("kiln layer refuses a missing directory and leaves no output")
    func layerMissingDirectory() throws {
        let dir = try TempDirectory()
        let (code, io) = kiln(["layer", "nowhere", "--output", "x.layer"], in: dir.path)
        #expect(code == 64)
        #expect(io.err.contains("'nowhere' is not a directory"))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/x.layer"))
    }

    /// A layout holding the tree as a one-layer image tagged `tag` (and, with `second`, another image).
    private func makeLayout(in dir: TempDirectory, tag: String, second: Bool = false) throws -> (String, String) {
        _ = try makeTree(in: dir)
        let (code, io) = kiln(["layer", "tree", "--output", "layer.tgz", "--json", "--epoch", "1700000000"], in: dir.path)
        #expect(code == 0, "\(io.err)")
        let record = try json(io.out)
        let layout = try ImageLayout.create(at: dir.path + "/layout")
        let layer = try layout.writeBlob(fromFile: dir.path + "/layer.tgz", mediaType: MediaType.layerTarGzip)
        let diffID = try Digest(parsing: try #require(record["diffID"] as? String))
        let config = try layout.writeConfig(ImageConfig(architecture: "amd64", os: "linux",
                                                        rootfs: .init(diffIDs: [diffID])))
        let manifest = try layout.addManifest(Manifest(config: config, layers: [layer]), tag: tag)
        if second {
            let other = try layout.writeConfig(ImageConfig(architecture: "arm64", os: "linux", rootfs: .init(diffIDs: [diffID])))
            _ = try layout.addManifest(Manifest(config: other, layers: [layer]), tag: "other")
        }
        return (layout.path, manifest.digest.description)
    }

    @Test("kiln push sends a layout's image with docker config credentials; an unchanged re-push sends no blob; skopeo and umoci read it back")
    func push() throws {
        let dir = try TempDirectory()
        let (layout, digest) = try makeLayout(in: dir, tag: "v1")
        let registry = try RegistryServer(password: "kiln-push-secret")
        defer { registry.stop() }
        let auth = Data("AWS:kiln-push-secret".utf8).base64EncodedString()
        try dir.write("docker/config.json", #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#)
        let environment = ["DOCKER_CONFIG": dir.path + "/docker", "HOME": dir.path]

        // No tag in the source: the layout's only image; no tag in the reference: the layout's tag.
        let (code, first) = kiln(["push", "oci-layout:layout", "\(registry.host)/team/layer", "--also-tag", "stable",
                                     "--json"], in: dir.path, environment: environment)
        #expect(code == 0, "\(first.err)")
        #expect(!first.err.contains("kiln-push-secret") && !first.out.contains("kiln-push-secret"))
        let record = try json(first.out)
        #expect(record["manifestDigest"] as? String == digest)
        #expect(record["reference"] as? String == "\(registry.host)/team/layer:v1")
        #expect(record["tags"] as? [String] == ["v1", "stable"])
        #expect(record["blobsUploaded"] as? Int == 2, "the config and the layer")
        #expect((record["bytesUploaded"] as? Int ?? 0) > 0)
        #expect(registry.hasManifests(in: "team/layer"))

        // Unchanged: every blob is found by HEAD, nothing is sent; the text output is the digest.
        let (again, second) = kiln(["push", "oci-layout:\(layout):v1", "\(registry.host)/team/layer:v1"],
                                      in: dir.path, environment: environment)
        #expect(again == 0, "\(second.err)")
        #expect(second.out == digest + "\n")
        #expect(second.err.contains("0 blobs uploaded (0 bytes), 2 already there"), "\(second.err)")

        // skopeo, an independent client, copies it back; umoci unpacks it; the file is there.
        guard let skopeo = requireProgram("skopeo", install: "apt-get install skopeo"),
              let umoci = requireProgram("umoci", install: "apt-get install umoci") else { return }
        for tag in ["v1", "stable"] {
            let inspect = try runProgram(skopeo, ["inspect", "--tls-verify=false"] + registry.skopeoCredentials
                + ["docker://\(registry.host)/team/layer:\(tag)"])
            #expect(inspect.status == 0, "\(inspect.output)")
            #expect(inspect.output.contains(digest), "tag \(tag) names kiln's manifest")
        }
        let copy = try runProgram(skopeo, ["copy", "--src-tls-verify=false"] + registry.skopeoCredentials.map {
            $0 == "--creds" ? "--src-creds" : $0 } + ["docker://\(registry.host)/team/layer:v1", "oci:\(dir.path)/back:v1"])
        #expect(copy.status == 0, "\(copy.output)")
        let unpack = try runProgram(umoci, ["unpack", "--image", "\(dir.path)/back:v1", dir.path + "/bundle"])
        #expect(unpack.status == 0, "\(unpack.output)")
        #expect(try String(contentsOfFile: dir.path + "/bundle/rootfs/etc/greeting", encoding: .utf8) == "hello from kiln layer\n")
    }

    @Test("kiln push does not hash blobs itself, but a layer whose bytes no longer match its digest is refused by the registry and no manifest lands")
    func pushCorruptedLayer() throws {
        let dir = try TempDirectory()
        let (layout, _) = try makeLayout(in: dir, tag: "v1")
        let image = try ImageLayout.open(at: layout).read(tag: "v1")
        // Same size, other bytes: only a digest check can tell.
        let path = try ImageLayout.open(at: layout).blobPath(image.manifest.layers[0].digest)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0xff
        try FileManager.default.removeItem(atPath: path)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let registry = try RegistryServer(password: nil)
        defer { registry.stop() }
        let (code, io) = kiln(["push", "oci-layout:layout:v1", "\(registry.host)/team/broken"], in: dir.path,
                                 environment: ["HOME": dir.path])
        #expect(code != 0, "\(io.err)")
        #expect(io.err.contains("DIGEST_INVALID") || io.err.lowercased().contains("digest"), "\(io.err)")
        #expect(!registry.hasManifests(in: "team/broken"), "no manifest names a blob the registry refused")
    }

    @Test("kiln push needs a tag when the layout holds more than one image, and names the tags")
    func pushAmbiguous() throws {
        let dir = try TempDirectory()
        _ = try makeLayout(in: dir, tag: "v1", second: true)
        let (code, io) = kiln(["push", "oci-layout:layout", "127.0.0.1:9/team/layer"], in: dir.path)
        #expect(code == 64)
        #expect(io.err.contains("holds 2 images (tags: v1, other)"), "\(io.err)")
        let (missing, other) = kiln(["push", "oci-layout:layout:nope", "127.0.0.1:9/team/layer"], in: dir.path)
        #expect(missing == 64)
        #expect(other.err.contains("has no image tagged 'nope' (tags: v1, other)"), "\(other.err)")
    }
}
