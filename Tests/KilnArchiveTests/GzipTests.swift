import Foundation
import Testing
import KilnArchive

/// Inputs for the gzip tests: name and bytes.
private let inputs: [(name: String, bytes: [UInt8])] = [
    ("empty", []),
    ("hello", Array("hello, kiln\n".utf8)),
    ("random 1 MiB", pseudoRandomBytes(count: 1 << 20)),
    ("repetitive 3 MB", [UInt8](repeating: 0x41, count: 3_000_000)),
]

@Test(arguments: inputs.map(\.name))
func gzipRoundTrip(name: String) throws {
    let input = try #require(inputs.first { $0.name == name }).bytes
    let compressed = try Gzip.compress(input)
    #expect(try Gzip.decompress(compressed) == input)
    #expect(try Gzip.decompress(Gzip.compress(input, level: 1)) == input)
}

@Test(arguments: inputs.map(\.name))
func gzipOutputIsDeterministicWithoutNameOrTime(name: String) throws {
    let input = try #require(inputs.first { $0.name == name }).bytes
    let first = try Gzip.compress(input)
    let second = try Gzip.compress(input)
    #expect(first == second)
    try #require(first.count >= 18)
    #expect(first[0] == 0x1f && first[1] == 0x8b, "gzip magic")
    #expect(first[2] == 8, "CM = deflate")
    #expect(first[3] & 0x08 == 0, "FLG.FNAME must be clear")
    #expect(first[3] & 0x10 == 0, "FLG.FCOMMENT must be clear")
    #expect(Array(first[4..<8]) == [0, 0, 0, 0], "MTIME must be zero")
}

@Test(arguments: inputs.map(\.name))
func gunzipAcceptsOutput(name: String) throws {
    let input = try #require(inputs.first { $0.name == name }).bytes
    let result = try run("/usr/bin/gzip", ["-dc"], stdin: try Gzip.compress(input), package: "gzip")
    #expect(result.status == 0, "gzip -dc: \(result.stderr)")
    #expect(result.stdout == input)
}

@Test func decompressesGzipToolOutput() throws {
    let input = pseudoRandomBytes(count: 200_000) + Array("tail".utf8)
    let result = try run("/usr/bin/gzip", ["-c", "-6"], stdin: input, package: "gzip")
    try #require(result.status == 0, "gzip -c: \(result.stderr)")
    #expect(try Gzip.decompress(result.stdout) == input)
}

@Test(arguments: [
    ("plain text", Array("not gzip at all".utf8)),
    ("empty", []),
    ("truncated", [0x1f, 0x8b, 0x08, 0x00, 0x00]),
])
func decompressRejectsNonGzip(name: String, bytes: [UInt8]) {
    #expect(throws: KilnArchiveError.self, "\(name)") { try Gzip.decompress(bytes) }
}

@Test func corruptGzipErrorCarriesLibarchiveMessage() throws {
    var compressed = try Gzip.compress(Array(String(repeating: "kiln bakes images. ", count: 5000).utf8))
    for index in 12..<40 { compressed[index] ^= 0x5a }
    #expect {
        _ = try Gzip.decompress(compressed)
    } throws: { error in
        let text = String(describing: error)
        return error is KilnArchiveError && text.contains("archive_read") && text.contains("gzip")
            && text.contains("corrupt")
    }
}

@Test(arguments: [0, 10])
func invalidLevelIsRejected(level: Int) {
    #expect(throws: KilnArchiveError.self) { try Gzip.compress([1, 2, 3], level: level) }
}

@Test func trailerMismatchIsDetected() throws {
    let input = Array(String(repeating: "kiln bakes images. ", count: 5000).utf8)
    var compressed = try Gzip.compress(input)
    compressed[compressed.count - 6] ^= 0x01  // CRC32 in the trailer
    #expect {
        _ = try Gzip.decompress(compressed)
    } throws: { error in
        String(describing: error).contains("CRC-32")
    }
}
