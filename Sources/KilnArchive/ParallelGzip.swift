#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CZlib

/// Block-parallel gzip: one valid gzip member (RFC 1952) holding one raw deflate stream (RFC 1951),
/// compressed on several threads with pigz's scheme, so a multi-GB layer compresses at the speed of all
/// cores while any gzip reader still sees an ordinary stream.
///
/// The uncompressed stream is cut into fixed blocks of `blockSize` bytes. Each block is compressed on
/// its own as raw deflate (windowBits −15) at `level`, primed with the previous 32 KiB of input as a
/// preset dictionary (`deflateSetDictionary`), so matches may still reach back across the cut. Every
/// block but the last ends with `Z_SYNC_FLUSH` (an empty stored block, which byte-aligns it and leaves the
/// deflate stream open); the last ends with `Z_FINISH`. The blocks are concatenated in order. Because a
/// block's bytes depend only on its own input, its dictionary and the level, the output is identical
/// whatever the thread count or the way the input is split across `write` calls (for one zlib version).
///
/// The header is `1f 8b 08 00 00000000 XFL 03`: deflate, no flags (so no file name or comment), MTIME zero
/// (no timestamp), XFL as gzip and pigz set it (2 at level 9, 4 at level 1, otherwise 0) and OS 3 (Unix),
/// so for one input and level the header matches `pigz -n` / `gzip -n`. The trailer is the CRC-32 of the
/// input (per-block `crc32` values joined with `crc32_combine`) and ISIZE, the input length modulo 2^32
/// (RFC 1952 section 2.3.1).
///
/// Memory stays flat: at most `maxBlocksInFlight` (4 × threads + 16) blocks of about 290 KiB each exist
/// at once, whatever the input size; compressed blocks are handed to `output` in order as soon as they
/// and all earlier blocks are done. The window is deep enough that the workers keep busy while the
/// producing thread waits to be scheduled on a loaded machine.
/// `output` is only ever called on the thread that calls `write` or `finish`.
///
/// Not thread-safe: use one compressor from one thread at a time. Dropping it without `finish()` stops
/// its threads and discards what was not yet written.
public final class ParallelGzip {
    /// Receives compressed bytes, in order; a throw stops the compressor and is rethrown to the caller.
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    /// The size of the uncompressed blocks compressed independently (pigz's default, 128 KiB).
    public static let blockSize = 128 * 1024
    /// The deflate window: how much of the previous block primes the next one (RFC 1951 section 2).
    public static let windowSize = 32 * 1024

    /// The compression level, 1 (fastest) … 9 (smallest).
    public let level: Int
    /// The number of compression threads.
    public let threads: Int
    /// How many blocks may be queued, compressing or waiting to be written at once.
    public let maxBlocksInFlight: Int
    /// Uncompressed bytes accepted so far.
    public private(set) var uncompressedCount: Int64 = 0
    /// Compressed bytes handed to `output` so far (header and trailer included).
    public private(set) var compressedCount: Int64 = 0

    private let output: Output
    private let pool: DeflatePool
    /// The block being filled; always present until `finish()`.
    private var current: GzipBlock?
    /// Submitted blocks in stream order, oldest first.
    private var inFlight: [GzipBlock] = []
    /// Blocks that were written and can be refilled.
    private var spare: [GzipBlock] = []
    private var nextIndex = 0
    private var crc: UInt = 0
    private var headerWritten = false
    private var finished = false
    /// Set when `output` or a worker failed; every later call rethrows it.
    private var failure: (any Error)?

    /// Starts `threads` compression threads (default: the online processor count) at `level`.
    /// - Throws: `KilnArchiveError` for a level outside 1…9, a thread count below 1, or when threads
    ///   cannot be started.
    public init(level: Int = 6, threads: Int? = nil, output: @escaping Output) throws {
        guard (1...9).contains(level) else {
            throw KilnArchiveError.invalidArgument("gzip level \(level) is outside 1...9")
        }
        let threads = threads ?? onlineProcessorCount()
        guard threads >= 1 else {
            throw KilnArchiveError.invalidArgument("gzip thread count \(threads) must be at least 1")
        }
        self.level = level
        self.threads = threads
        self.maxBlocksInFlight = 4 * threads + 16
        self.output = output
        pool = try DeflatePool(level: Int32(level), threads: threads)
        current = GzipBlock(blockSize: Self.blockSize, windowSize: Self.windowSize)
    }

    deinit { pool.shutdown() }

    /// Compresses `bytes` (copied; the buffer may be reused as soon as this returns).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkUsable()
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            guard let block = current else { break }
            let n = min(Self.blockSize - block.inputCount, bytes.count - offset)
            (block.input.baseAddress! + block.inputCount).copyMemory(from: base + offset, byteCount: n)
            block.inputCount += n
            offset += n
            uncompressedCount += Int64(n)
            if block.inputCount == Self.blockSize {
                try submitCurrent(isLast: false)
            }
        }
    }

    /// Compresses `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Compresses the last block, writes everything still pending and the trailer, and stops the threads.
    /// Calling it again does nothing.
    public func finish() throws {
        if finished { return }
        try checkUsable()
        try submitCurrent(isLast: true)
        try drain(all: true)
        if !headerWritten { try emitHeader() }
        var trailer = [UInt8](repeating: 0, count: 8)
        let crc32 = UInt32(truncatingIfNeeded: crc)
        let size = UInt32(truncatingIfNeeded: uncompressedCount)
        for i in 0..<4 {
            trailer[i] = UInt8(truncatingIfNeeded: crc32 >> (8 * UInt32(i)))
            trailer[4 + i] = UInt8(truncatingIfNeeded: size >> (8 * UInt32(i)))
        }
        try emit(trailer)
        finished = true
        pool.shutdown()
    }

    private func checkUsable() throws {
        if let failure { throw failure }
        if finished {
            throw KilnArchiveError.invalidArgument("data written to a gzip stream after finish()")
        }
    }

    /// Hands the current block to the workers and starts the next one, primed with this one's last 32 KiB.
    private func submitCurrent(isLast: Bool) throws {
        guard let block = current else { return }
        block.index = nextIndex
        nextIndex += 1
        block.isLast = isLast
        if isLast {
            current = nil
        } else {
            let next = spare.popLast() ?? GzipBlock(blockSize: Self.blockSize, windowSize: Self.windowSize)
            next.reset()
            let keep = min(Self.windowSize, block.inputCount)
            next.dictionary.baseAddress!.copyMemory(from: block.input.baseAddress! + (block.inputCount - keep),
                                                    byteCount: keep)
            next.dictionaryCount = keep
            current = next
        }
        inFlight.append(block)
        pool.submit(block)
        try drain(all: false)
    }

    /// Writes finished blocks in order: those already done, waiting for the oldest while too many are in
    /// flight (or for all of them when `all`).
    private func drain(all: Bool) throws {
        while let first = inFlight.first {
            if all || inFlight.count >= maxBlocksInFlight {
                pool.waitUntilDone(first)
            } else if !pool.isDone(first) {
                break
            }
            inFlight.removeFirst()
            try write(block: first)
            spare.append(first)
        }
    }

    private func write(block: GzipBlock) throws {
        if let message = block.failure {
            let error = KilnArchiveError.compressor(function: "deflate", message: message,
                                                    hint: "the process may be out of memory")
            failure = error
            throw error
        }
        if !headerWritten { try emitHeader() }
        try emit(UnsafeRawBufferPointer(rebasing: block.output[0..<block.outputCount]))
        crc = crc32_combine(crc, block.crc, block.inputCount)
    }

    private func emitHeader() throws {
        // RFC 1952 section 2.3: ID1 ID2 CM FLG MTIME(4) XFL OS.
        let xfl: UInt8 = level >= 9 ? 2 : (level == 1 ? 4 : 0)
        try emit([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, xfl, 0x03])
        headerWritten = true
    }

    private func emit(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try emit($0) }
    }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            try output(bytes)
        } catch {
            failure = error
            throw error
        }
        compressedCount += Int64(bytes.count)
    }
}

/// The number of online processors (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
func onlineProcessorCount() -> Int {
    max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
}
