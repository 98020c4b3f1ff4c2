import Foundation
import Testing
import KilnArchive
import KilnTestSupport
import OCI

@Test(arguments: [
    (LayerWriter.Compression.none, MediaType.layerTar),
    (.gzip(), MediaType.layerTarGzip),
    (.zstd(level: 5), MediaType.layerTarZstd),
])
func layerBlobFromLayerWriterDigests(compression: LayerWriter.Compression, mediaType: String) throws {
    let dir = try TempDirectory()
    let path = dir.path + "/layer"
    let writer = try LayerWriter(path: path, options: .init(compression: compression))
    try writer.addDirectory(path: "etc")
    try writer.addFile(path: "etc/motd", contents: Array("hi\n".utf8))
    let digests = try writer.finish()
    let blob = try LayerBlob.make(path: path, digests: digests)
    #expect(blob.mediaType == mediaType)
    #expect(blob.path == path)
    #expect(blob.digest.description == digests.digest)
    #expect(blob.diffID.description == digests.diffID)
    #expect(blob.size == digests.size)
    #expect(blob.descriptor == Descriptor(mediaType: mediaType, digest: blob.digest, size: digests.size))
    // The digest is that of the file's bytes, as a registry will check it.
    #expect(blob.digest == Digest.sha256(of: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
    if case .gzip = compression {
        // The foreign-blob path reads the same file back to the same digests.
        #expect(try LayerBlob.make(fromTarGz: path) == blob)
    }
}

@Test func layerBlobRejectsMalformedDigests() {
    let digests = LayerDigests(diffID: "sha256:nothex", digest: "sha256:" + String(repeating: "a", count: 64), size: 1,
                               uncompressedSize: 1, compression: .gzip())
    #expect(throws: OCIError.self) { _ = try LayerBlob.make(path: "/nowhere", digests: digests) }
}

/// A base layer and an overlayfs-upper layer, both written by LayerWriter, unpacked by umoci: the
/// whiteout deletes a file, the opaque directory hides the base's contents, entry names with `dir/`
/// and numeric owners are read as meant.
@Test func umociAppliesLayerWriterLayersAndWhiteouts() throws {
    guard let umoci = requireProgram("umoci", install: "apt-get install umoci"),
          let python = requireProgram("python3", install: "apt-get install python3") else { return }
    let dir = try TempDirectory()
    let options = LayerWriter.Options(compression: .gzip(), clampMTime: 1_700_000_000)

    let base = try LayerWriter(path: dir.path + "/base.tar.gz", options: options)
    try base.addDirectory(path: "etc")
    try base.addFile(path: "etc/keep.conf", contents: Array("keep\n".utf8), uid: 1000, gid: 100)
    try base.addFile(path: "etc/gone.conf", contents: Array("gone\n".utf8))
    try base.addDirectory(path: "opt")
    try base.addFile(path: "opt/old.bin", contents: [1, 2, 3])
    let baseBlob = try LayerBlob.make(path: dir.path + "/base.tar.gz", digests: base.finish())

    // The upper directory of an overlay mounted over the base, after `rm etc/gone.conf` and
    // `rm -r opt && mkdir opt && echo new > opt/new.txt`.
    let upper = dir.path + "/upper"
    try FileManager.default.createDirectory(atPath: upper + "/etc", withIntermediateDirectories: true)
    try FileManager.default.createDirectory(atPath: upper + "/opt", withIntermediateDirectories: true)
    try #require(mknod(upper + "/etc/gone.conf", S_IFCHR | 0o600, 0) == 0, "mknod needs root")
    try Data("new\n".utf8).write(to: URL(fileURLWithPath: upper + "/opt/new.txt"))
    let setOpaque = try runProgram(python, ["-c", "import os, sys; os.setxattr(sys.argv[1], 'trusted.overlay.opaque', b'y')",
                                            upper + "/opt"])
    try #require(setOpaque.status == 0, "\(setOpaque.output)")
    let top = try LayerWriter(path: dir.path + "/top.tar.gz", options: options)
    try top.addTree(at: upper, format: .overlayUpper)
    let topBlob = try LayerBlob.make(path: dir.path + "/top.tar.gz", digests: top.finish())

    let layout = try ImageLayout.create(at: dir.path + "/layout")
    let layers = try [baseBlob, topBlob].map { try layout.writeLayer($0) }
    let config = ImageConfig(architecture: "amd64", os: "linux", rootfs: .init(diffIDs: [baseBlob.diffID, topBlob.diffID]))
    try layout.addManifest(Manifest(config: try layout.writeConfig(config), layers: layers), tag: "v1")

    let bundle = dir.path + "/bundle"
    let unpack = try runProgram(umoci, ["unpack", "--image", "\(layout.path):v1", bundle])
    try #require(unpack.status == 0, "umoci unpack: \(unpack.output)")
    let rootfs = bundle + "/rootfs"
    let fm = FileManager.default
    #expect(fm.contents(atPath: rootfs + "/etc/keep.conf") == Data("keep\n".utf8))
    #expect(!fm.fileExists(atPath: rootfs + "/etc/gone.conf"), "the whiteout deleted it")
    #expect(!fm.fileExists(atPath: rootfs + "/opt/old.bin"), "the opaque directory hid it")
    #expect(fm.contents(atPath: rootfs + "/opt/new.txt") == Data("new\n".utf8))
    #expect(try fm.contentsOfDirectory(atPath: rootfs + "/opt") == ["new.txt"], "no whiteout files left behind")
    var info = stat()
    try #require(lstat(rootfs + "/etc/keep.conf", &info) == 0)
    #expect(info.st_uid == 1000 && info.st_gid == 100 && info.st_mtim.tv_sec == 0)
}
