import Foundation
import KilnArchive
import KilnTestSupport
import Testing

// MARK: - Hostile layers

/// Writes a hostile layer with Python's tarfile, which stores names and link targets exactly as given:
/// `python3 -c SCRIPT OUT CASE SENTINEL`.
private let hostileLayerScript = #"""
import io, sys, tarfile
out, case, sentinel = sys.argv[1:4]
def entry(name, kind=tarfile.REGTYPE, data=b"pwned\n", link=""):
    t = tarfile.TarInfo(name)
    t.type, t.linkname, t.mtime, t.mode = kind, link, 1700000000, 0o644
    t.size = len(data) if kind == tarfile.REGTYPE else 0
    return t, data if kind == tarfile.REGTYPE else None
SYM, LNK, CHR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE
cases = {
    "absolute path": [entry(sentinel + "/pwned")],
    "dot-dot": [entry("../sentinel/pwned")],
    "dot-dot inside": [entry("a/", tarfile.DIRTYPE), entry("a/../../sentinel/pwned")],
    "symlink in layer, relative": [entry("esc", SYM, link="../sentinel"), entry("esc/pwned")],
    "symlink in layer, absolute": [entry("esc", SYM, link=sentinel), entry("esc/pwned")],
    "symlink in layer, chained": [entry("up", SYM, link=".."), entry("up/sentinel/pwned")],
    "symlink in root": [entry("esc/pwned")],
    "hard link with dot-dot": [entry("h", LNK, link="../sentinel/file")],
    "hard link, absolute": [entry("h", LNK, link=sentinel + "/file")],
    "hard link through symlink": [entry("esc", SYM, link="../sentinel"), entry("h", LNK, link="esc/file")],
    "whiteout through symlink": [entry("esc", SYM, link="../sentinel"), entry("esc/.wh.file", data=b"")],
    "opaque whiteout through symlink": [entry("esc", SYM, link="../sentinel"), entry("esc/.wh..wh..opq", data=b"")],
    "whiteout with dot-dot": [entry("../sentinel/.wh.file", data=b"")],
    "device node, rootless": [entry("null", CHR)],
    "declared size above the limit": [entry("big", data=b"x" * 2000)],
}
with open(out, "wb") as f:
    if case == "huge declared size":
        # A header claiming 1 PiB with no data behind it: refused before any data is read.
        t = tarfile.TarInfo("huge")
        t.size = 1 << 50
        f.write(t.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + b"\0" * 1024)
    else:
        with tarfile.open(fileobj=f, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for t, data in cases[case]:
                if t.type == CHR: t.devmajor, t.devminor = 1, 3
                tar.addfile(t, io.BytesIO(data) if data is not None else None)
"""#

/// A hostile layer case: its name (the script's case), the options, and what the refusal must say.
private struct HostileCase: Sendable {
    var name: String
    var reason: String
    var options = ExtractOptions()
}

private let hostileCases: [HostileCase] = [
    HostileCase(name: "absolute path", reason: "is an absolute path"),
    HostileCase(name: "dot-dot", reason: "has a '..' component"),
    HostileCase(name: "dot-dot inside", reason: "has a '..' component"),
    HostileCase(name: "symlink in layer, relative", reason: "traverses the symbolic link 'esc'"),
    HostileCase(name: "symlink in layer, absolute", reason: "traverses the symbolic link 'esc'"),
    HostileCase(name: "symlink in layer, chained", reason: "traverses the symbolic link 'up'"),
    HostileCase(name: "symlink in root", reason: "traverses the symbolic link 'esc'"),
    HostileCase(name: "hard link with dot-dot", reason: "has a '..' component in its hard link target"),
    HostileCase(name: "hard link, absolute", reason: "has the absolute hard link target"),
    HostileCase(name: "hard link through symlink", reason: "whose path traverses the symbolic link 'esc'"),
    HostileCase(name: "whiteout through symlink", reason: "traverses the symbolic link 'esc'"),
    HostileCase(name: "opaque whiteout through symlink", reason: "traverses the symbolic link 'esc'"),
    HostileCase(name: "whiteout with dot-dot", reason: "has a '..' component"),
    HostileCase(name: "device node, rootless", reason: "is a device node", options: ExtractOptions(rootless: true)),
    HostileCase(name: "huge declared size", reason: "declares 1125899906842624 bytes"),
    HostileCase(name: "declared size above the limit", reason: "declares 2000 bytes, more than the 1000 bytes allowed",
                options: ExtractOptions(maxEntrySize: 1000)),
]

@Test(arguments: hostileCases.map(\.name))
func hostileLayerIsRefused(name: String) throws {
    let c = try #require(hostileCases.first { $0.name == name })
    try withTemporaryDirectory { dir in
        let root = dir + "/root", sentinel = dir + "/sentinel", layer = dir + "/layer.tar"
        let files = FileManager.default
        try files.createDirectory(atPath: root, withIntermediateDirectories: true)
        try files.createDirectory(atPath: sentinel, withIntermediateDirectories: true)
        try "precious\n".write(toFile: sentinel + "/file", atomically: false, encoding: .utf8)
        if name == "symlink in root" {
            try files.createSymbolicLink(atPath: root + "/esc", withDestinationPath: sentinel)
        }
        let made = try runProgram("/usr/bin/env", ["python3", "-c", hostileLayerScript, layer, name, sentinel])
        try #require(made.status == 0, "python3 could not write the fixture: \(made.output)")
        let sentinelBefore = try describeTree(at: sentinel)
        let outsideBefore = try files.contentsOfDirectory(atPath: dir).sorted()

        let error = #expect(throws: KilnArchiveError.self) {
            _ = try LayerExtractor.apply(layerAt: layer, to: root, options: c.options)
        }
        let text = error.map(String.init(describing:)) ?? ""
        #expect(text.contains("refusing layer '\(layer)'"), "\(text)")
        #expect(text.contains(c.reason), "\(text)")
        #expect(try describeTree(at: sentinel) == sentinelBefore, "the sentinel outside the root changed")
        #expect(try files.contentsOfDirectory(atPath: dir).sorted() == outsideBefore)
        #expect(try String(contentsOfFile: sentinel + "/file", encoding: .utf8) == "precious\n")
    }
}

// MARK: - Whiteouts and replacements across layers

@Test func whiteoutsAndOpaqueDirectoriesAcrossTwoLayers() throws {
    try withTemporaryDirectory { dir in
        let root = dir + "/root"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let lower = try TarWriter(path: dir + "/lower.tar")
        try lower.addDirectory(path: "a/")
        try lower.addFile(path: "a/keep", contents: Array("keep\n".utf8))
        try lower.addFile(path: "a/gone", contents: Array("gone\n".utf8))
        try lower.addDirectory(path: "a/sub/")
        try lower.addFile(path: "a/sub/deep", contents: [])
        try lower.addDirectory(path: "opq/")
        try lower.addFile(path: "opq/old", contents: [])
        try lower.addDirectory(path: "opq/olddir/")
        try lower.addFile(path: "opq/olddir/x", contents: [])
        try lower.addDirectory(path: "x/")
        try lower.addFile(path: "x/y", contents: [])
        try lower.addFile(path: "f", contents: Array("file\n".utf8))
        try lower.addSymlink(path: "l", target: "x")
        try lower.finish()
        let lowerStats = try LayerExtractor.apply(layerAt: dir + "/lower.tar", to: root)
        #expect(lowerStats == ExtractStats(entries: 13, bytes: 15, whiteouts: 0))

        // The opaque marker comes after one of this layer's own entries and before others.
        let upper = try TarWriter(path: dir + "/upper.tar.gz", compression: .gzip())
        try upper.addFile(path: "a/.wh.gone", contents: [])
        try upper.addFile(path: "a/.wh.sub", contents: [])
        try upper.addFile(path: "a/mine", contents: Array("mine\n".utf8))
        try upper.addFile(path: "a/.wh.mine", contents: [])  // same layer: must not hide a/mine
        try upper.addFile(path: "opq/new", contents: [])
        try upper.addFile(path: "opq/.wh..wh..opq", contents: [])
        try upper.addDirectory(path: "opq/olddir/")
        try upper.addFile(path: "opq/olddir/fresh", contents: [])
        try upper.addFile(path: "opq/after", contents: [])
        try upper.addFile(path: "x", contents: Array("now a file\n".utf8))  // a file replaces a directory
        try upper.addDirectory(path: "f/")                                    // a directory replaces a file
        try upper.addFile(path: "f/z", contents: [])
        try upper.addDirectory(path: "l/")                                    // a directory replaces a symlink
        try upper.addFile(path: "l/inner", contents: [])
        try upper.addFile(path: ".wh.missing", contents: [])                  // nothing to remove
        try upper.finish()
        let stats = try LayerExtractor.apply(layerAt: dir + "/upper.tar.gz", to: root)
        #expect(stats == ExtractStats(entries: 15, bytes: 16, whiteouts: 5))

        let tree = try describeTree(at: root, times: false).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
        #expect(tree == [
            "a d", "a/keep f", "a/mine f",
            "f d", "f/z f",
            "l d", "l/inner f",
            "opq d", "opq/after f", "opq/new f", "opq/olddir d", "opq/olddir/fresh f",
            "x f",
        ])
        #expect(try String(contentsOfFile: root + "/x", encoding: .utf8) == "now a file\n")
        // Nothing followed the replaced symlink into x/ (which became a file anyway).
        #expect(!FileManager.default.fileExists(atPath: root + "/x/inner"))
    }
}

// MARK: - Layers made by GNU tar

/// Builds a tree with every kind of file kiln must carry: modes with setuid/setgid/sticky, owners,
/// symlinks (relative, absolute, dangling, to a directory), hard links, a FIFO, a device, xattrs
/// (user, trusted, security.capability), a non-ASCII name, a 3 MiB file; whole-second mtimes.
private let treeScript = #"""
import os, stat, struct, sys
root = sys.argv[1]
def p(rel): return os.path.join(root, rel)
def file(rel, data, mode=0o644, uid=0, gid=0):
    with open(p(rel), "wb") as f: f.write(data)
    os.chown(p(rel), uid, gid); os.chmod(p(rel), mode)
def folder(rel, mode=0o755, uid=0, gid=0):
    os.mkdir(p(rel)); os.chown(p(rel), uid, gid); os.chmod(p(rel), mode)
folder("dir"); folder("dir/sub"); folder("private", 0o700, 42, 42); folder("sticky", 0o1777); folder("empty")
file("dir/file.txt", b"hello\n", 0o640, 1234, 5678)
file("dir/setuid", b"#!/bin/sh\n", 0o4755)
file("dir/setgid", b"", 0o2750, 0, 50)
file("private/secret", b"s\n", 0o600, 42, 42)
file("dir/cap", b"\x7fELF", 0o755)
file("caf\u00e9-\u00fc.txt", "non-ascii\n".encode())
state = 12345
data = bytearray()
for _ in range(3 * 1024 * 1024):
    state = (state * 1103515245 + 12345) & 0x7fffffff
    data.append(state >> 16 & 0xff)
file("dir/sub/big.bin", bytes(data))
os.link(p("dir/file.txt"), p("dir/hard.txt"))
os.symlink("file.txt", p("dir/link"))
os.symlink("/nonexistent/target", p("dangling"))
os.symlink("dir/sub", p("dirlink"))
os.mkfifo(p("fifo"), 0o600)
os.mknod(p("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
os.chmod(p("null"), 0o666)
os.setxattr(p("dir/file.txt"), "user.kiln", b"value")
os.setxattr(p("dir/sub"), "trusted.kiln", b"dir")
os.setxattr(p("dir/cap"), "security.capability", struct.pack("<IIIII", 0x02000001, 0x400, 0, 0, 0))
t = 1600000000
for dirpath, dirs, files in os.walk(root, topdown=False):
    for name in sorted(files + dirs):
        t += 1
        os.utime(os.path.join(dirpath, name), ns=(t * 10**9, t * 10**9), follow_symlinks=False)
"""#

@Test(arguments: [("none", [String]()), ("gzip", ["--gzip"]), ("zstd", ["--zstd"])])
func layerFromGNUTarEqualsTheTree(compression: String, flags: [String]) throws {
    try #require(getuid() == 0, "this test creates devices and sets owners: run it as root")
    try withTemporaryDirectory { dir in
        let tree = dir + "/tree", root = dir + "/root", layer = dir + "/layer.tar"
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let made = try runProgram("/usr/bin/env", ["python3", "-c", treeScript, tree])
        try #require(made.status == 0, "python3 could not build the tree: \(made.output)")
        let tar = try run("/usr/bin/tar", ["--format=posix", "--xattrs", "--xattrs-include=*", "--numeric-owner"]
                          + flags + ["-C", tree, "-cf", layer, "."], package: "tar")
        try #require(tar.status == 0, "tar failed: \(tar.stderr)")

        let stats = try LayerExtractor.apply(layerAt: layer, to: root)
        let expected = try describeTree(at: tree)
        #expect(try describeTree(at: root) == expected)
        #expect(expected.count == 18)
        #expect(stats.entries == 19)  // the tree's entries plus "./"
        #expect(stats.bytes == 6 + 10 + 2 + 4 + 10 + 3 * 1024 * 1024)
        #expect(stats.whiteouts == 0)
    }
}

@Test func rootlessExtractionSkipsOwnersButKeepsModes() throws {
    try withTemporaryDirectory { dir in
        let root = dir + "/root", layer = dir + "/layer.tar"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let writer = try TarWriter(path: layer)
        try writer.addDirectory(path: "ro/", mode: 0o555, uid: 7, gid: 7, mtime: 1_700_000_000)
        try writer.addFile(path: "ro/inside", contents: Array("x".utf8), mode: 0o4711, uid: 7, gid: 7,
                           mtime: 1_700_000_001)
        try writer.finish()
        _ = try LayerExtractor.apply(layerAt: layer, to: root, options: ExtractOptions(rootless: true))
        let tree = try describeTree(at: root)
        let me = "\(getuid()):\(getgid())"
        #expect(tree == [
            "ro d 0o555 \(me) mtime=1700000000000000000",
            "ro/inside f 0o4711 \(me) 1 2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 mtime=1700000001000000000",
        ])
    }
}
