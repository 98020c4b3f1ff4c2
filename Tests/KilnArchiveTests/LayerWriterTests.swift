import Foundation
import Testing
import KilnArchive
import KilnTestSupport
import struct KilnCrypto.SHA256

// MARK: Independent readers

/// Python's tarfile: prints every member of a plain tar as JSON (byte strings as hex).
private let readTarScript = """
import hashlib, json, sys, tarfile
def b(s): return s.encode('utf-8', 'surrogateescape').hex()
out = []
with tarfile.open(sys.argv[1], 'r:') as t:
    for m in t:
        data = hashlib.sha256(t.extractfile(m).read()).hexdigest() if m.isreg() else ''
        out.append({'name': b(m.name), 'type': m.type.decode('ascii'), 'mode': m.mode, 'uid': m.uid,
                    'gid': m.gid, 'uname': m.uname, 'gname': m.gname, 'mtime': int(m.mtime), 'size': m.size,
                    'linkname': b(m.linkname), 'devmajor': m.devmajor, 'devminor': m.devminor,
                    'pax': {k: b(v) for k, v in m.pax_headers.items()}, 'sha256': data})
json.dump(out, sys.stdout)
"""

/// One tar member as Python's tarfile reads it. tarfile strips a directory name's trailing `/`;
/// `entryName` puts it back.
struct LayerMember: Decodable {
    var name: String
    var type: String
    var mode: UInt32
    var uid: Int
    var gid: Int
    var uname: String
    var gname: String
    var mtime: Int64
    var size: Int64
    var linkname: String
    var devmajor: Int
    var devminor: Int
    var pax: [String: String]
    var sha256: String

    /// The name's bytes (directories with their trailing `/`).
    var entryName: [UInt8] { hexBytes(name) + (type == "5" ? [UInt8(ascii: "/")] : []) }
    /// The hard or symbolic link target's bytes.
    var link: [UInt8] { hexBytes(linkname) }
    /// The entry name as text (for messages and comparisons with ASCII names).
    var text: String { String(decoding: entryName, as: UTF8.self) }
    /// The extended attributes, from the pax `SCHILY.xattr.` records.
    var xattrs: [String: [UInt8]] {
        Dictionary(uniqueKeysWithValues: pax.compactMap { key, value in
            key.hasPrefix("SCHILY.xattr.") ? (String(key.dropFirst("SCHILY.xattr.".count)), hexBytes(value)) : nil
        })
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = hex.startIndex
    while index < hex.endIndex {
        let next = hex.index(index, offsetBy: 2)
        bytes.append(UInt8(hex[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// What reading a layer back gave.
struct LayerReadBack {
    var members: [LayerMember]
    /// The decompressed tar.
    var tarPath: String
}

/// Checks a finished layer with other tools: `sha256sum` of the file is the digest and its size the
/// size; `gzip -t`/`gzip -dc` or `zstd -dc` decompress it to a tar whose `sha256sum` is the diffID;
/// Python's tarfile lists the tar.
func readLayerBack(_ path: String, _ digests: LayerDigests, in dir: String,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> LayerReadBack {
    let sha256sum = try #require(requireProgram("sha256sum", install: "apt-get install coreutils"))
    func sha(_ file: String) throws -> String {
        let result = try run(sha256sum, [file], package: "coreutils")
        return "sha256:" + String(result.text.prefix(64))
    }
    #expect(try sha(path) == digests.digest, sourceLocation: sourceLocation)
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
    #expect(Int64(size ?? -1) == digests.size, sourceLocation: sourceLocation)

    let tarPath = dir + "/" + UUID().uuidString + ".tar"
    switch digests.compression {
    case .none:
        try FileManager.default.copyItem(atPath: path, toPath: tarPath)
        #expect(digests.digest == digests.diffID, sourceLocation: sourceLocation)
    case .gzip:
        let gzip = try #require(requireProgram("gzip", install: "apt-get install gzip"))
        let test = try run(gzip, ["-t", path], package: "gzip")
        #expect(test.status == 0, "gzip -t: \(test.stderr)", sourceLocation: sourceLocation)
        let header = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)).prefix(10))
        #expect(header == [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03], "gzip header without time or name",
                sourceLocation: sourceLocation)
        let out = try run(gzip, ["-dc", path], package: "gzip")
        #expect(out.status == 0, "gzip -dc: \(out.stderr)", sourceLocation: sourceLocation)
        try Data(out.stdout).write(to: URL(fileURLWithPath: tarPath))
    case .zstd:
        let zstd = try #require(requireProgram("zstd", install: "apt-get install zstd"))
        let out = try run(zstd, ["-dc", path], package: "zstd")
        #expect(out.status == 0, "zstd -dc: \(out.stderr)", sourceLocation: sourceLocation)
        try Data(out.stdout).write(to: URL(fileURLWithPath: tarPath))
    }
    #expect(try sha(tarPath) == digests.diffID, sourceLocation: sourceLocation)
    let tarSize = try FileManager.default.attributesOfItem(atPath: tarPath)[.size] as? Int
    #expect(Int64(tarSize ?? -1) == digests.uncompressedSize, sourceLocation: sourceLocation)

    let python = try #require(requireProgram("python3", install: "apt-get install python3"))
    let script = dir + "/read_tar.py"
    try readTarScript.write(toFile: script, atomically: true, encoding: .utf8)
    let listed = try run(python, [script, tarPath], package: "python3")
    try #require(listed.status == 0, "tarfile: \(listed.stderr)", sourceLocation: sourceLocation)
    let members = try JSONDecoder().decode([LayerMember].self, from: Data(listed.stdout))
    for member in members {
        // Numeric owners only, no atime/ctime, no device/inode numbers: pax records only where needed.
        #expect(member.uname.isEmpty && member.gname.isEmpty, "\(member.text) has owner names",
                sourceLocation: sourceLocation)
        let allowed = ["path", "linkpath", "hdrcharset", "size", "uid", "gid"]
        for key in member.pax.keys where !(allowed.contains(key) || key.hasPrefix("SCHILY.xattr.")) {
            Issue.record("\(member.text) has pax record \(key)", sourceLocation: sourceLocation)
        }
    }
    return LayerReadBack(members: members, tarPath: tarPath)
}

/// GNU tar's list of entry names (raw bytes), in archive order.
func gnuTarNames(_ tarPath: String) throws -> [[UInt8]] {
    let tar = try #require(requireProgram("tar", install: "apt-get install tar"))
    let listed = try run(tar, ["--quoting-style=literal", "-tf", tarPath], package: "tar")
    #expect(listed.status == 0, "tar -tf: \(listed.stderr)")
    return listed.stdout.split(separator: UInt8(ascii: "\n")).map(Array.init)
}

let compressionCases: [(name: String, compression: LayerWriter.Compression)] = [
    ("none", .none), ("gzip", .gzip()), ("zstd", .zstd()),
]

// MARK: Entries added one by one

@Test(arguments: compressionCases.map(\.name))
func layerWriterEntriesReadBackByGzipZstdPythonAndGNUTar(name: String) throws {
    let compression = try #require(compressionCases.first { $0.name == name }).compression
    try withTemporaryDirectory { dir in
        let source = dir + "/source.bin"
        let sourceBytes = pseudoRandomBytes(count: 700_000)
        try Data(sourceBytes).write(to: URL(fileURLWithPath: source))
        let longPath = "opt/" + String(repeating: "very-long-directory/", count: 14) + "file.txt"
        let clamp: Int64 = 1_600_000_000
        let path = dir + "/layer"
        let writer = try LayerWriter(path: path, options: .init(compression: compression, threads: 2, clampMTime: clamp))
        try writer.addDirectory(path: "app", mtime: 1_500_000_000)
        try writer.addFile(path: "app/hello.txt", contents: Array("hello\n".utf8), mode: 0o600, uid: 1000, gid: 100,
                           mtime: 1_700_000_000)
        try writer.addFile(path: "app/source.bin", fromFileAt: source, mode: 0o755, mtime: 1_599_999_999)
        try writer.addSymlink(path: "app/link", target: "hello.txt", mtime: 1_700_000_000)
        try writer.addWhiteout(for: "app/old.txt")
        try writer.addWhiteout(for: "gone/")
        try writer.addOpaqueWhiteout(directory: "app")
        try writer.addOpaqueWhiteout(directory: "")
        try writer.addFile(path: longPath, contents: [], uid: 3_000_000, gid: 3_000_001)
        let digests = try writer.finish()
        #expect(digests.compression == compression)

        let back = try readLayerBack(path, digests, in: dir)
        let expected: [(name: String, type: String, mode: UInt32, uid: Int, gid: Int, mtime: Int64)] = [
            ("app/", "5", 0o755, 0, 0, 1_500_000_000),
            ("app/hello.txt", "0", 0o600, 1000, 100, clamp),
            ("app/source.bin", "0", 0o755, 0, 0, 1_599_999_999),
            ("app/link", "2", 0o777, 0, 0, clamp),
            ("app/.wh.old.txt", "0", 0o644, 0, 0, 0),
            (".wh.gone", "0", 0o644, 0, 0, 0),
            ("app/.wh..wh..opq", "0", 0o644, 0, 0, 0),
            (".wh..wh..opq", "0", 0o644, 0, 0, 0),
            (longPath, "0", 0o644, 3_000_000, 3_000_001, 0),
        ]
        try #require(back.members.count == expected.count, "\(back.members.map(\.text))")
        for (member, want) in zip(back.members, expected) {
            #expect(member.text == want.name)
            #expect(member.type == want.type, "\(want.name)")
            #expect(member.mode == want.mode, "\(want.name)")
            #expect(member.uid == want.uid && member.gid == want.gid, "\(want.name)")
            #expect(member.mtime == want.mtime, "\(want.name)")
        }
        #expect(back.members[1].sha256 == SHA256.hash(Array("hello\n".utf8)).hex)
        #expect(back.members[2].sha256 == SHA256.hash(sourceBytes).hex)
        #expect(String(decoding: back.members[3].link, as: UTF8.self) == "hello.txt")
        #expect(back.members[0].pax.isEmpty && back.members[1].pax.isEmpty, "plain ustar where ustar suffices")
        #expect(back.members[8].pax["path"] != nil, "a long path needs a pax record")
        #expect(try gnuTarNames(back.tarPath).map { String(decoding: $0, as: UTF8.self) } == expected.map(\.name))
    }
}

@Test func layerWriterRefusesBadPathsAndLateEntries() throws {
    try withTemporaryDirectory { dir in
        let writer = try LayerWriter(path: dir + "/layer.tar.gz")
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/.", "nul\u{0}byte"] {
            #expect(throws: KilnArchiveError.self, "\(String(reflecting: bad))") {
                try writer.addFile(path: bad, contents: [])
            }
        }
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "dir/", contents: []) }
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "a", contents: [], mode: 0o100644) }
        #expect(throws: KilnArchiveError.self) { try writer.addDirectory(path: "d", uid: -1) }
        #expect(throws: KilnArchiveError.self) { try writer.addSymlink(path: "l", target: "") }
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "f", fromFileAt: dir + "/missing") }
        // Refused paths leave the stream intact.
        try writer.addFile(path: "ok", contents: [1, 2, 3])
        let digests = try writer.finish()
        #expect(try writer.finish() == digests)
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "late", contents: []) }
        let back = try readLayerBack(dir + "/layer.tar.gz", digests, in: dir)
        #expect(back.members.map(\.text) == ["ok"])

        #expect(throws: KilnArchiveError.self) { _ = try LayerWriter(path: dir + "/no/such/dir/layer") }
        #expect(throws: KilnArchiveError.self) {
            _ = try LayerWriter(path: dir + "/x", options: .init(compression: .gzip(level: 10)))
        }
        #expect(throws: KilnArchiveError.self) { _ = try LayerWriter(path: dir + "/y", options: .init(threads: 0)) }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x"))
        // A device is never opened as a layer (nor unlinked when the layer is abandoned). The device is
        // a private copy of /dev/null's numbers, so a regression cannot damage the host's.
        let device = dir + "/null-device"
        #expect(mknod(device, S_IFCHR | 0o666, dev_t((1 << 8) | 3)) == 0)  // major 1, minor 3
        #expect(throws: KilnArchiveError.self) { _ = try LayerWriter(path: device) }
        var info = stat()
        #expect(lstat(device, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR, "the device is left alone")
    }
}

@Test(arguments: compressionCases.map(\.name))
func layerWriterDroppedWithoutFinishLeavesNoFile(name: String) throws {
    let compression = try #require(compressionCases.first { $0.name == name }).compression
    try withTemporaryDirectory { dir in
        let path = dir + "/layer"
        do {
            let writer = try LayerWriter(path: path, options: .init(compression: compression))
            try writer.addFile(path: "big", contents: pseudoRandomBytes(count: 1 << 20))
            #expect(FileManager.default.fileExists(atPath: path))
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM).
private func procStatusKiB(_ key: String) throws -> Int {
    let text = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    let line = try #require(text.split(separator: "\n").first { $0.hasPrefix(key + ":") })
    return try #require(Int(line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces).dropLast(3)
        .trimmingCharacters(in: .whitespaces)))
}

@Test func layerWriterMemoryStaysFlatFor300MiB() throws {
    try withTemporaryDirectory { dir in
        // A sparse 300 MiB file: nothing on disk, zeros when read.
        let source = dir + "/sparse"
        let size: Int64 = 300 << 20
        let fd = open(source, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        try #require(fd >= 0)
        try #require(ftruncate(fd, off_t(size)) == 0)
        close(fd)

        // getrusage's ru_maxrss cannot be reset and already holds the peak of whatever ran before (it is
        // even carried over exec), so a delta of it is 0 whatever happens here. Instead reset this
        // process's peak RSS (VmHWM; "5" to clear_refs, proc(5)) and compare it with the RSS before.
        try "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
        let before = try procStatusKiB("VmRSS")
        let writer = try LayerWriter(path: dir + "/layer.tar.gz", options: .init(threads: 2))
        try writer.addFile(path: "data/sparse.bin", fromFileAt: source)
        let digests = try writer.finish()
        let grewKiB = try procStatusKiB("VmHWM") - before
        #expect(digests.uncompressedSize > size)
        #expect(digests.size < size / 100, "zeros compress")
        #expect(grewKiB < 64 * 1024, "peak RSS grew by \(grewKiB) KiB while writing a 300 MiB layer")
    }
}
