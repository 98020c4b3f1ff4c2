import Foundation
import Testing
import KilnArchive
import KilnTestSupport
import struct KilnCrypto.SHA256

/// Compresses `input` with ParallelGzip, fed in `chunk`-byte writes.
private func parallelGzip(_ input: [UInt8], level: Int = 6, threads: Int, chunk: Int = 1 << 20) throws -> [UInt8] {
    var out: [UInt8] = []
    let gzip = try ParallelGzip(level: level, threads: threads) { out.append(contentsOf: $0) }
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        try input[offset..<end].withUnsafeBytes { try gzip.write($0) }
        offset = end
    }
    try gzip.finish()
    #expect(gzip.uncompressedCount == Int64(input.count))
    #expect(gzip.compressedCount == Int64(out.count))
    return out
}

/// Compresses `input` with ZstdStream, fed in `chunk`-byte writes.
private func zstdStream(_ input: [UInt8], threads: Int, chunk: Int = 1 << 20) throws -> [UInt8] {
    var out: [UInt8] = []
    let zstd = try ZstdStream(level: 3, threads: threads) { out.append(contentsOf: $0) }
    var offset = 0
    while offset < input.count {
        let end = min(input.count, offset + chunk)
        try input[offset..<end].withUnsafeBytes { try zstd.write($0) }
        offset = end
    }
    try zstd.finish()
    return out
}

/// Text-like data: words from a small vocabulary, as source code and logs compress.
func compressibleBytes(count: Int, seed: UInt64 = 42) -> [UInt8] {
    let words = ["import", "numpy", "def", "return", "self", "the", "layer", "kiln", "=", "(", ")", "\n", "    ",
                 "data", "science", "0.5", "for", "in", "range", "print", "tensor", "cuda", "lib", ".so", "#"]
    var state = seed
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    while out.count < count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        out += Array(words[Int(state >> 33) % words.count].utf8)
        if state & 0x3 == 0 { out.append(0x20) }
    }
    return Array(out.prefix(count))
}

/// The data sets, by name: sizes around the 128 KiB block boundary and larger random and compressible data.
private let gzipCases: [(name: String, make: @Sendable () -> [UInt8])] = [
    ("empty", { [] }),
    ("one byte", { [0x41] }),
    ("block - 1", { pseudoRandomBytes(count: ParallelGzip.blockSize - 1) }),
    ("exactly one block", { compressibleBytes(count: ParallelGzip.blockSize) }),
    ("block + 1", { compressibleBytes(count: ParallelGzip.blockSize + 1) }),
    ("two blocks exactly", { pseudoRandomBytes(count: 2 * ParallelGzip.blockSize) }),
    ("3 MiB random", { pseudoRandomBytes(count: 3 << 20, seed: 7) }),
    ("5 MiB compressible", { compressibleBytes(count: 5 << 20) }),
]

@Test(arguments: gzipCases.map(\.name))
func parallelGzipIsValidGzipAndIndependentOfThreadsAndChunking(name: String) throws {
    let input = try #require(gzipCases.first { $0.name == name }).make()
    let reference = try parallelGzip(input, threads: 1)
    for threads in [2, 3, 8] {
        #expect(try parallelGzip(input, threads: threads) == reference, "\(threads) threads")
    }
    // Another split of the input into writes, and a second run: the same bytes.
    #expect(try parallelGzip(input, threads: 3, chunk: 7_777) == reference, "7777-byte writes")
    #expect(try parallelGzip(input, threads: 1) == reference, "second run")

    // The header: deflate, no flags (no name), no mtime, XFL 0 at level 6, OS Unix.
    #expect(Array(reference.prefix(10)) == [0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03])
    let gzipPath = try #require(requireProgram("gzip", install: "apt-get install gzip"))
    try withTemporaryDirectory { dir in
        let path = dir + "/data.gz"
        try Data(reference).write(to: URL(fileURLWithPath: path))
        let test = try run(gzipPath, ["-t", path], package: "gzip")
        #expect(test.status == 0, "gzip -t: \(test.stderr)")
        let decompressed = try run(gzipPath, ["-dc", path], package: "gzip")
        #expect(decompressed.status == 0, "gzip -dc: \(decompressed.stderr)")
        #expect(decompressed.stdout == input)
    }
}

@Test func parallelGzipOfNothingIsTheSmallestValidStream() throws {
    // Header, an empty final fixed-Huffman block (03 00), CRC-32 0 and ISIZE 0.
    #expect(try parallelGzip([], threads: 2) == [0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0x03, 0x00,
                                                 0, 0, 0, 0, 0, 0, 0, 0])
}

@Test func parallelGzipMatchesPigzSize() throws {
    // A mixed corpus: random (incompressible), text-like and structured binary data, interleaved.
    var corpus: [UInt8] = []
    for part in 0..<4 {
        corpus += pseudoRandomBytes(count: 400_000, seed: UInt64(part + 1))
        corpus += compressibleBytes(count: 1_000_000, seed: UInt64(part + 10))
        corpus += (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 * (part + 3)) ^ ($0 >> 7)) }
    }
    let ours = try parallelGzip(corpus, threads: 2)
    let pigzPath = try #require(requireProgram("pigz", install: "apt-get install pigz"))
    let pigz = try run(pigzPath, ["-6", "-n", "-p", "2", "-c"], stdin: corpus, package: "pigz")
    #expect(pigz.status == 0, "pigz: \(pigz.stderr)")
    let ratio = Double(ours.count) / Double(pigz.stdout.count)
    #expect(ratio <= 1.01 && ratio >= 0.99, "ours \(ours.count) bytes, pigz -6 \(pigz.stdout.count) bytes")
    // pigz reads it back too.
    try withTemporaryDirectory { dir in
        try Data(ours).write(to: URL(fileURLWithPath: dir + "/corpus.gz"))
        let back = try run(pigzPath, ["-dc", dir + "/corpus.gz"], package: "pigz")
        #expect(back.status == 0 && back.stdout == corpus)
    }
}

@Test func parallelGzipLevelsChangeXFLAndSize() throws {
    let input = compressibleBytes(count: 600_000)
    let fast = try parallelGzip(input, level: 1, threads: 2)
    let best = try parallelGzip(input, level: 9, threads: 2)
    #expect(fast[8] == 4 && best[8] == 2)
    #expect(best.count < fast.count)
    #expect(throws: KilnArchiveError.self) { _ = try ParallelGzip(level: 0) { _ in } }
    #expect(throws: KilnArchiveError.self) { _ = try ParallelGzip(level: 10) { _ in } }
    #expect(throws: KilnArchiveError.self) { _ = try ParallelGzip(threads: 0) { _ in } }
}

/// The error an output throws.
private struct DiskFull: Error {}

@Test func parallelGzipRethrowsTheOutputsError() throws {
    var calls = 0
    let gzip = try ParallelGzip(threads: 2) { _ in
        calls += 1
        if calls > 1 { throw DiskFull() }
    }
    let input = pseudoRandomBytes(count: 40 * ParallelGzip.blockSize)
    #expect(throws: DiskFull.self) {
        try gzip.write(input)
        try gzip.finish()
    }
    // The stream stays broken.
    #expect(throws: DiskFull.self) { try gzip.finish() }
}

@Test func zstdIsIndependentOfThreadsAndReadByZstd() throws {
    let zstdPath = try #require(requireProgram("zstd", install: "apt-get install zstd"))
    for input in [[], [0x41], compressibleBytes(count: 9 << 20), pseudoRandomBytes(count: 3 << 20)] as [[UInt8]] {
        let one = try zstdStream(input, threads: 1)
        #expect(try zstdStream(input, threads: 4) == one, "\(input.count) bytes, 4 threads")
        #expect(try zstdStream(input, threads: 2, chunk: 10_001) == one, "\(input.count) bytes, 10001-byte writes")
        try withTemporaryDirectory { dir in
            try Data(one).write(to: URL(fileURLWithPath: dir + "/data.zst"))
            let back = try run(zstdPath, ["-dc", dir + "/data.zst"], package: "zstd")
            #expect(back.status == 0, "zstd -dc: \(back.stderr)")
            #expect(back.stdout == input)
        }
    }
    #expect(throws: KilnArchiveError.self) { _ = try ZstdStream(level: 0) { _ in } }
}
