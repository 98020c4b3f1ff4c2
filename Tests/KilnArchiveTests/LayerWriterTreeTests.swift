import Foundation
import Testing
import KilnArchive
import KilnTestSupport
import struct KilnCrypto.SHA256

/// Python: builds the plain fixture tree under argv[1] (as root: owners, devices, security.* xattrs).
private let makePlainTreeScript = """
import os, socket, struct, sys
root = sys.argv[1]
NEW, OLD = 1700000000, 1500000000
def p(rel): return os.path.join(root.encode(), rel)
def f(rel, data, mode=0o644, t=NEW):
    with open(p(rel), 'wb') as fh: fh.write(data)
    os.chmod(p(rel), mode)
for d in [b'a', b'a.b', b'bin', b'data', b'zz', b'dev']: os.mkdir(p(d))
f(b'B', b'upper', t=OLD)
f(b'a-b', b'ab', 0o600)
f(b'a/x', b'#!/bin/sh\\n', 0o4755)
f(b'a/big.bin', bytes((i * 7919 + (i >> 9)) & 0xff for i in range(300000)))
f(b'a!', b'bang')
f(b'a0', b'zero')
f(b'bin/ping', b'\\x7fELF', 0o755)
os.setxattr(p(b'bin/ping'), 'security.capability', struct.pack('<5I', 0x02000001, 0x400, 0, 0, 0))
os.setxattr(p(b'bin/ping'), 'user.kiln', b'hello')
f(b'data/a.txt', b'shared')
os.link(p(b'data/a.txt'), p(b'data/hl1'))
os.link(p(b'data/a.txt'), p(b'zz/hl2'))
os.symlink(b'a/x', p(b'link'))
os.mknod(p(b'dev/null'), 0o666 | 0o020000, os.makedev(1, 3))
os.mknod(p(b'dev/loop0'), 0o660 | 0o060000, os.makedev(7, 0))
os.mkfifo(p(b'dev/fifo'), 0o644)
s = socket.socket(socket.AF_UNIX); s.bind(p(b'dev/sock')); s.close()
f('café'.encode(), b'utf8 name')
f(b'raw\\xff', b'latin1 name')
os.chmod(p(b'a'), 0o750); os.chown(p(b'a'), 1234, 5678)
os.chown(p(b'a/x'), 0, 5678)
os.chmod(p(b'a/x'), 0o4755)   # chown cleared the setuid bit
os.chmod(p(b'dev/null'), 0o666); os.chmod(p(b'dev/fifo'), 0o644)
times = {b'B': OLD, b'a': OLD, b'link': NEW}
for dirpath, dirnames, filenames in os.walk(root.encode(), topdown=False):
    for name in filenames + dirnames:
        full = os.path.join(dirpath, name)
        t = times.get(os.path.relpath(full, root.encode()), NEW)
        os.utime(full, (t, t), follow_symlinks=False)
"""

/// Python: builds an overlayfs upper directory under argv[1], as the kernel leaves one.
private let makeUpperScript = """
import os, sys
root = sys.argv[1]
def p(rel): return os.path.join(root, rel)
for d in ['etc', 'opq', 'uopq']: os.mkdir(p(d))
os.mknod(p('etc/gone'), 0o600 | 0o020000, os.makedev(0, 0))
os.link(p('etc/gone'), p('etc/gone2'))   # overlayfs shares one whiteout inode
for rel in ['etc/kept.conf', 'etc/-dash', 'opq/new.txt', 'file', 'xw']:
    open(p(rel), 'w').write('' if rel == 'xw' else rel)
os.setxattr(p('opq'), 'trusted.overlay.opaque', b'y')
os.setxattr(p('opq'), 'trusted.overlay.origin', b'\\x00\\xfb')
os.setxattr(p('uopq'), 'user.overlay.opaque', b'y')
os.setxattr(p('xw'), 'trusted.overlay.whiteout', b'y')
os.setxattr(p('file'), 'user.overlay.impure', b'y')
os.setxattr(p('file'), 'user.keep', b'1')
"""

/// Python: describes extracted paths (argv[2:]) under argv[1] as JSON.
private let describeScript = """
import json, os, stat, sys
out = {}
for rel in sys.argv[2:]:
    full = os.path.join(sys.argv[1], rel)
    st = os.lstat(full)
    try: cap = os.getxattr(full, 'security.capability', follow_symlinks=False).hex()
    except OSError: cap = ''
    out[rel] = {'mode': st.st_mode, 'uid': st.st_uid, 'gid': st.st_gid, 'mtime': int(st.st_mtime),
                'ino': st.st_ino, 'major': os.major(st.st_rdev), 'minor': os.minor(st.st_rdev), 'cap': cap,
                'link': os.readlink(full) if stat.S_ISLNK(st.st_mode) else ''}
json.dump(out, sys.stdout)
"""

/// A file as Python describes it after GNU tar extracted it.
private struct Extracted: Decodable {
    var mode: UInt32
    var uid: Int
    var gid: Int
    var mtime: Int64
    var ino: UInt64
    var major: Int
    var minor: Int
    var cap: String
    var link: String
}

private func python(_ script: String, _ arguments: [String], in dir: String) throws -> ToolResult {
    let python = try #require(requireProgram("python3", install: "apt-get install python3"))
    let path = dir + "/script-\(UUID().uuidString).py"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    let result = try run(python, [path] + arguments, package: "python3")
    try #require(result.status == 0, "python: \(result.stderr)")
    return result
}

/// Writes the tree at `root` into a new layer and returns its path and digests.
private func writeTree(_ root: String, to path: String, _ options: LayerWriter.Options,
                       format: LayerWriter.TreeFormat = .plain, prefix: String = "") throws -> LayerDigests {
    let writer = try LayerWriter(path: path, options: options)
    try writer.addTree(at: root, prefix: prefix, format: format)
    return try writer.finish()
}

private let clamp: Int64 = 1_600_000_000
private let capability: [UInt8] = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04] + [UInt8](repeating: 0, count: 14)

/// The plain fixture's entries in the order they must appear: sorted by bytes, directories with `/`.
private let plainNames: [[UInt8]] = [
    "B", "a!", "a-b", "a.b/", "a/", "a/big.bin", "a/x", "a0", "bin/", "bin/ping", "café", "data/", "data/a.txt",
    "data/hl1", "dev/", "dev/fifo", "dev/loop0", "dev/null", "link",
].map { Array($0.utf8) } + [Array("raw".utf8) + [0xff], Array("zz/".utf8), Array("zz/hl2".utf8)]

@Test(arguments: compressionCases.map(\.name))
func layerWriterTreeIsSortedClampedAndKeepsLinksDevicesAndXattrs(name: String) throws {
    let compression = try #require(compressionCases.first { $0.name == name }).compression
    try withTemporaryDirectory { dir in
        let root = dir + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = try python(makePlainTreeScript, [root], in: dir)
        let digests = try writeTree(root, to: dir + "/layer", .init(compression: compression, threads: 3, clampMTime: clamp))
        let back = try readLayerBack(dir + "/layer", digests, in: dir)
        let names = back.members.map(\.entryName)
        #expect(names == plainNames, "\(back.members.map(\.text))")
        #expect(names == names.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(try gnuTarNames(back.tarPath) == plainNames, "GNU tar reads the same raw names, '/' on directories")

        let byName = Dictionary(uniqueKeysWithValues: back.members.map { ($0.text, $0) })
        func member(_ name: String) throws -> LayerMember { try #require(byName[name], "\(name) missing") }
        // mtimes: later ones clamped, earlier ones kept.
        #expect(try member("B").mtime == 1_500_000_000)
        #expect(try member("a/").mtime == 1_500_000_000)
        #expect(back.members.filter { !["B", "a/"].contains($0.text) }.allSatisfy { $0.mtime == clamp })
        // Modes and numeric owners.
        #expect(try member("a/").mode == 0o750 && member("a/").uid == 1234 && member("a/").gid == 5678)
        #expect(try member("a/x").mode == 0o4755 && member("a/x").gid == 5678)
        #expect(try member("a-b").mode == 0o600)
        // Contents.
        for file in ["B", "a!", "a0", "a-b", "a/big.bin", "a/x", "bin/ping", "data/a.txt", "café"] {
            #expect(try member(file).sha256 == SHA256.hash(fileAt: root + "/" + file).hex, "\(file)")
        }
        // Hardlinks: the first path in order is the file, later ones link to it.
        #expect(try member("data/a.txt").type == "0")
        #expect(try member("data/hl1").type == "1" && member("data/hl1").link == Array("data/a.txt".utf8))
        #expect(try member("zz/hl2").type == "1" && member("zz/hl2").link == Array("data/a.txt".utf8))
        #expect(try member("zz/hl2").size == 0)
        // Symlink, devices, FIFO; the socket is skipped.
        #expect(try member("link").type == "2" && member("link").link == Array("a/x".utf8))
        #expect(try member("dev/null").type == "3" && member("dev/null").devmajor == 1 && member("dev/null").devminor == 3)
        #expect(try member("dev/loop0").type == "4" && member("dev/loop0").devmajor == 7)
        #expect(try member("dev/fifo").type == "6" && member("dev/fifo").mode == 0o644)
        // xattrs: security.capability and user.* kept, byte for byte.
        #expect(try member("bin/ping").xattrs == ["security.capability": capability, "user.kiln": Array("hello".utf8)])
        #expect(back.members.filter { !$0.xattrs.isEmpty }.map(\.text) == ["bin/ping"])

        // GNU tar extracts it, xattrs included, with the same metadata.
        let tar = try #require(requireProgram("tar", install: "apt-get install tar"))
        let out = dir + "/out"
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let extract = try run(tar, ["--xattrs", "--xattrs-include=*", "--numeric-owner", "-xpf", back.tarPath, "-C", out],
                              package: "tar")
        #expect(extract.status == 0, "tar -x: \(extract.stderr)")
        let paths = ["bin/ping", "data/a.txt", "data/hl1", "zz/hl2", "link", "dev/null", "a", "a/x"]
        let described = try python(describeScript, [out] + paths, in: dir)
        let files = try JSONDecoder().decode([String: Extracted].self, from: Data(described.stdout))
        let ping = try #require(files["bin/ping"])
        #expect(ping.cap == capability.map { String(format: "%02x", $0) }.joined())
        #expect(ping.mtime == clamp)
        #expect(files["data/a.txt"]?.ino == files["data/hl1"]?.ino && files["data/a.txt"]?.ino == files["zz/hl2"]?.ino)
        #expect(files["link"]?.link == "a/x")
        #expect(files["dev/null"]?.major == 1 && files["dev/null"]?.minor == 3)
        #expect(files["a"]?.uid == 1234 && files["a"]?.gid == 5678 && files["a"]?.mode == 0o040750)
        #expect(files["a/x"]?.mode == 0o104755)
    }
}

@Test func layerWriterTreeDigestsAreReproducible() throws {
    try withTemporaryDirectory { dir in
        let root = dir + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        _ = try python(makePlainTreeScript, [root], in: dir)
        var diffIDs: Set<String> = []
        for compression in [LayerWriter.Compression.gzip(), .zstd(), .none] {
            let first = try writeTree(root, to: dir + "/one", .init(compression: compression, threads: 1, clampMTime: clamp))
            let second = try writeTree(root, to: dir + "/two", .init(compression: compression, threads: 4, clampMTime: clamp))
            #expect(first == second, "\(compression): same tree, other thread count")
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/one")) == Data(contentsOf: URL(fileURLWithPath: dir + "/two")))
            diffIDs.insert(first.diffID)
        }
        #expect(diffIDs.count == 1, "the tar stream does not depend on the compression")
        // The prefix is prepended to every name.
        let prefixed = try writeTree(root, to: dir + "/prefixed", .init(compression: .none), prefix: "opt/app")
        let back = try readLayerBack(dir + "/prefixed", prefixed, in: dir)
        #expect(back.members.map(\.entryName) == plainNames.map { Array("opt/app/".utf8) + $0 })
        #expect(try member(back, "opt/app/zz/hl2").link == Array("opt/app/data/a.txt".utf8))
    }
}

private func member(_ back: LayerReadBack, _ name: String) throws -> LayerMember {
    try #require(back.members.first { $0.text == name }, "\(name) missing")
}

@Test func layerWriterOverlayUpperBecomesOCIWhiteouts() throws {
    try withTemporaryDirectory { dir in
        let upper = dir + "/upper"
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        _ = try python(makeUpperScript, [upper], in: dir)
        let digests = try writeTree(upper, to: dir + "/layer", .init(compression: .gzip(), clampMTime: clamp),
                                    format: .overlayUpper)
        let back = try readLayerBack(dir + "/layer", digests, in: dir)
        // Whiteouts come before their siblings (layer.md), the opaque marker first; the rest is sorted.
        #expect(back.members.map(\.text) == [
            ".wh.xw", "etc/", "etc/.wh.gone", "etc/.wh.gone2", "etc/-dash", "etc/kept.conf", "file",
            "opq/", "opq/.wh..wh..opq", "opq/new.txt", "uopq/", "uopq/.wh..wh..opq",
        ])
        for whiteout in back.members where whiteout.text.contains(".wh.") {
            #expect(whiteout.type == "0" && whiteout.size == 0, "\(whiteout.text) is an empty regular file")
        }
        // overlayfs's own xattrs never reach the layer; others do.
        #expect(try member(back, "file").xattrs == ["user.keep": [UInt8(ascii: "1")]])
        #expect(try member(back, "opq/").xattrs.isEmpty)
        #expect(try member(back, "uopq/").xattrs.isEmpty)

        // The same tree as a plain tree keeps the device and no markers (but still drops overlay xattrs).
        let plain = try writeTree(upper, to: dir + "/plain", .init(compression: .none), format: .plain)
        let plainBack = try readLayerBack(dir + "/plain", plain, in: dir)
        #expect(try member(plainBack, "etc/gone").type == "3")
        #expect(try member(plainBack, "etc/gone2").type == "1", "a second link to the device")
        #expect(!plainBack.members.contains { $0.text.contains(".wh.") })
    }
}

@Test func layerWriterRefusesOverlayRedirects() throws {
    try withTemporaryDirectory { dir in
        let upper = dir + "/upper"
        try FileManager.default.createDirectory(atPath: upper + "/moved", withIntermediateDirectories: true)
        _ = try python("import os, sys; os.setxattr(sys.argv[1] + '/moved', 'trusted.overlay.redirect', b'/orig')",
                       [upper], in: dir)
        let writer = try LayerWriter(path: dir + "/layer")
        #expect {
            try writer.addTree(at: upper, format: .overlayUpper)
        } throws: { error in
            String(describing: error).contains("redirect_dir=off")
        }
        #expect(throws: KilnArchiveError.self) { try writer.addTree(at: dir + "/missing") }
    }
}
