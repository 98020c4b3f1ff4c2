import Foundation
import KilnArchive
import struct KilnCrypto.SHA256
import KilnTestSupport
import Testing
@testable import OCI

/// Deterministic test data: a mix of incompressible (stored blocks) and repetitive (back-references) bytes.
private func sample(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        if (state >> 60) < 6 {
            out.append(UInt8(truncatingIfNeeded: state >> 33))
        } else {
            let text = Array("the quick brown fox \(state % 97) ".utf8)
            out.append(contentsOf: text.prefix(count - out.count))
        }
    }
    return out
}

/// The diffID of gzip data, through LayerBlob (libarchive decompresses it).
private func diffID(of compressed: [UInt8]) throws -> Digest {
    let dir = try TempDirectory()
    let path = dir.path + "/layer.gz"
    FileManager.default.createFile(atPath: path, contents: Data(compressed))
    return try LayerBlob.make(fromTarGz: path).diffID
}

@Suite struct LayerDecompressionTests {
    @Test("the diffID is the sha256 of the uncompressed bytes, whatever the size and level",
          arguments: [(1, 9), (1000, 1), (300_000, 9), (700_000, 1), (700_000, 6)])
    func diffIDOfGzip(_ c: (Int, Int)) throws {
        let data = sample(c.0, seed: UInt64(c.0 + c.1))
        #expect(try diffID(of: Gzip.compress(data, level: c.1)) == Digest(sha256: SHA256.hash(data)))
    }

    @Test func concatenatedMembers() throws {
        let a = sample(5000, seed: 1), b = sample(7000, seed: 2)
        #expect(try diffID(of: Gzip.compress(a) + Gzip.compress(b)) == Digest(sha256: SHA256.hash(a + b)))
    }

    @Test func rejectsTruncatedAndNonCompressedData() throws {
        let compressed = try Gzip.compress(sample(50_000, seed: 3))
        #expect(throws: OCIError.self) { try diffID(of: Array(compressed.dropLast(40))) }
    }

    @Test func layerBlobDigestsMatchSha256sum() throws {
        let dir = try TempDirectory()
        let tarGz = dir.path + "/layer.tar.gz", tar = dir.path + "/layer.tar"
        for (path, compression) in [(tarGz, TarWriter.Compression.gzip(level: 9)), (tar, .none)] {
            let writer = try TarWriter(path: path, compression: compression)
            try writer.addDirectory(path: "data")
            try writer.addFile(path: "data/blob.bin", contents: sample(400_000, seed: 9))
            try writer.finish()
        }
        let layer = try LayerBlob.make(fromTarGz: tarGz)
        #expect(layer.digest.hex == (try sha256sum(tarGz)))
        #expect(layer.diffID.hex == (try sha256sum(tar)))
        let size = try #require(FileManager.default.attributesOfItem(atPath: tarGz)[.size] as? NSNumber)
        #expect(layer.size == size.int64Value)
        #expect(layer.mediaType == MediaType.layerTarGzip)
    }
}

/// The hex digest `sha256sum` (coreutils) prints for a file: an independent check of kiln's hashing.
func sha256sum(_ path: String) throws -> String {
    let result = try runProgram("/usr/bin/sha256sum", [path])
    guard result.status == 0, let hex = result.output.split(separator: " ").first else {
        throw TestSupportError("sha256sum \(path) failed: \(result.output)")
    }
    return String(hex)
}
