import Foundation
import Testing
import KilnArchive

/// What the tests write: the expected headers, in order, and the data of regular files.
private struct Fixture {
    let longPath = "app/" + String(repeating: "deep/", count: 30) + "file.txt"
    let bigSource: [UInt8] = pseudoRandomBytes(count: 3 * TarWriter.chunkSize + 123)

    var expected: [(TarEntry, [UInt8])] {
        [
            (TarEntry(path: "app/", type: .directory, mode: 0o755, uid: 0, gid: 0, mtime: 1_700_000_000), []),
            (TarEntry(path: "app/hello.txt", type: .regular, size: 12, mode: 0o644, uid: 1000, gid: 100,
                      mtime: 1_700_000_001), Array("hello, kiln\n".utf8)),
            (TarEntry(path: "app/big.bin", type: .regular, size: Int64(bigSource.count), mode: 0o600, uid: 2,
                      gid: 3, mtime: 1_700_000_002), bigSource),
            (TarEntry(path: "app/run.sh", type: .regular, size: 0, mode: 0o4755, uid: 0, gid: 0, mtime: 0), []),
            (TarEntry(path: "app/link", type: .symlink, mode: 0o777, uid: 0, gid: 0, mtime: 1_700_000_003,
                      symlinkTarget: "hello.txt"), []),
            (TarEntry(path: longPath, type: .regular, size: 4, mode: 0o644, uid: 65534, gid: 65534,
                      mtime: 1_700_000_004), Array("long".utf8)),
            (TarEntry(path: "app/café-ü.txt", type: .regular, size: 2, mode: 0o644, mtime: 1_700_000_005),
             Array("ok".utf8)),
        ]
    }

    /// Writes the fixture with `compression` into `dir`; returns the archive's path.
    func write(in dir: String, compression: TarWriter.Compression, name: String = "layer.tar") throws -> String {
        let source = dir + "/big-source.bin"
        if !FileManager.default.fileExists(atPath: source) {
            try Data(bigSource).write(to: URL(fileURLWithPath: source))
        }
        let path = dir + "/" + name
        let writer = try TarWriter(path: path, compression: compression)
        let e = expected
        try writer.addDirectory(path: "app/", mode: 0o755, mtime: 1_700_000_000)
        try writer.addFile(path: "app/hello.txt", contents: e[1].1, mode: 0o644, uid: 1000, gid: 100,
                           mtime: 1_700_000_001)
        try writer.addFile(path: "app/big.bin", fromFileAt: source, mode: 0o600, uid: 2, gid: 3, mtime: 1_700_000_002)
        try writer.addFile(path: "app/run.sh", contents: [], mode: 0o4755)
        try writer.addSymlink(path: "app/link", target: "hello.txt", mtime: 1_700_000_003)
        try writer.addFile(path: longPath, contents: e[5].1, uid: 65534, gid: 65534, mtime: 1_700_000_004)
        try writer.addFile(path: "app/café-ü.txt", contents: e[6].1, mtime: 1_700_000_005)
        try writer.finish()
        return path
    }
}

/// The compressions under test, by name.
private let compressions: [(name: String, compression: TarWriter.Compression, tarFlag: String?)] = [
    ("none", .none, nil),
    ("gzip", .gzip(), "--gzip"),
    ("zstd", .zstd(), "--zstd"),
]

@Test(arguments: compressions.map(\.name))
func tarRoundTrip(name: String) throws {
    let c = try #require(compressions.first { $0.name == name })
    let fixture = Fixture()
    try withTemporaryDirectory { dir in
        let reader = try TarReader(path: try fixture.write(in: dir, compression: c.compression))
        var seen = 0
        for (expectedEntry, expectedData) in fixture.expected {
            let entry = try #require(try reader.next(), "missing entry \(expectedEntry.path)")
            #expect(entry == expectedEntry)
            var data: [UInt8] = []
            while true {
                let chunk = try reader.readChunk(maxLength: 100_000)
                if chunk.isEmpty { break }
                #expect(chunk.count <= 100_000)
                data += chunk
            }
            #expect(data == expectedData, "data of \(entry.path)")
            seen += 1
        }
        #expect(try reader.next() == nil)
        #expect(seen == fixture.expected.count)
    }
}

@Test(arguments: compressions.map(\.name))
func gnuTarListsAndExtractsWhatWasWritten(name: String) throws {
    let c = try #require(compressions.first { $0.name == name })
    if name == "zstd" && !FileManager.default.isExecutableFile(atPath: "/usr/bin/zstd") {
        return  // GNU tar needs the zstd CLI for --zstd; the round trip above still covers zstd.
    }
    let fixture = Fixture()
    try withTemporaryDirectory { dir in
        let path = try fixture.write(in: dir, compression: c.compression)
        let flags = c.tarFlag.map { [$0] } ?? []
        let list = try run("/usr/bin/tar", flags + ["--numeric-owner", "-tvf", path], package: "tar")
        #expect(list.status == 0, "tar -tvf: \(list.stderr)")
        let lines = list.text.split(separator: "\n").map(String.init)
        #expect(lines.count == fixture.expected.count, "\(list.text)")
        for (line, (entry, _)) in zip(lines, fixture.expected) {
            #expect(line.hasSuffix(entry.type == .symlink ? "\(entry.path) -> \(entry.symlinkTarget!)" : entry.path),
                    "\(line)")
            #expect(line.contains(" \(entry.uid)/\(entry.gid) "), "\(line)")
        }
        #expect(lines[0].hasPrefix("drwxr-xr-x"))
        #expect(lines[1].hasPrefix("-rw-r--r--"))
        #expect(lines[3].hasPrefix("-rwsr-xr-x"))
        #expect(lines[4].hasPrefix("lrwxrwxrwx"))

        for (entry, data) in fixture.expected where entry.type == .regular {
            let extracted = try run("/usr/bin/tar", flags + ["-xOf", path, entry.path], package: "tar")
            #expect(extracted.status == 0, "tar -xOf \(entry.path): \(extracted.stderr)")
            #expect(extracted.stdout == data, "contents of \(entry.path)")
        }
    }
}

@Test(arguments: compressions.map(\.name))
func tarOutputIsDeterministic(name: String) throws {
    let c = try #require(compressions.first { $0.name == name })
    let fixture = Fixture()
    try withTemporaryDirectory { dir in
        let first = try Data(contentsOf: URL(fileURLWithPath: try fixture.write(in: dir, compression: c.compression, name: "a")))
        let second = try Data(contentsOf: URL(fileURLWithPath: try fixture.write(in: dir, compression: c.compression, name: "b")))
        #expect(first == second)
    }
}

@Test func tarWriterRejectsMisuse() throws {
    try withTemporaryDirectory { dir in
        let writer = try TarWriter(path: dir + "/x.tar")
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "", contents: []) }
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "a", contents: [], mode: 0o100644) }
        #expect(throws: KilnArchiveError.self) { try writer.addDirectory(path: "d", uid: -1) }
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "d", fromFileAt: dir) }
        #expect {
            try writer.addFile(path: "missing", fromFileAt: dir + "/nope")
        } throws: { error in
            String(describing: error).contains("No such file or directory") && String(describing: error).contains("nope")
        }
        try writer.finish()
        try writer.finish()  // idempotent
        #expect(throws: KilnArchiveError.self) { try writer.addFile(path: "late", contents: []) }
        #expect(throws: KilnArchiveError.self) { try TarWriter(path: dir + "/x.tar", compression: .gzip(level: 42)) }
        #expect(throws: KilnArchiveError.self) { try TarWriter(path: "") }
        #expect(throws: KilnArchiveError.self) { try TarReader(path: "") }
    }
}

@Test func tarReaderErrorsNameTheFileAndCarryLibarchiveMessage() throws {
    #expect {
        _ = try TarReader(path: "/nonexistent/kiln.tar")
    } throws: { error in
        let text = String(describing: error)
        return text.contains("archive_read_open_filename") && text.contains("/nonexistent/kiln.tar")
            && text.contains("No such file")
    }
    try withTemporaryDirectory { dir in
        let path = dir + "/junk.tar"
        try Data(pseudoRandomBytes(count: 4096)).write(to: URL(fileURLWithPath: path))
        #expect {
            let reader = try TarReader(path: path)
            _ = try reader.next()
        } throws: { error in
            String(describing: error).contains(path) && String(describing: error).contains("Unrecognized archive format")
        }
    }
}

@Test func unfinishedWriterLeavesNoTrailer() throws {
    try withTemporaryDirectory { dir in
        let path = dir + "/partial.tar"
        do {
            let writer = try TarWriter(path: path)
            try writer.addFile(path: "a.txt", contents: Array("a".utf8))
        }
        // Header (512) + data block (512) at most; no 1024-byte end-of-archive marker.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size <= 1024)
    }
}
