internal import CZstd

/// Streaming Zstandard compression (RFC 8878) over libzstd's `ZSTD_compressStream2`, one frame with a
/// content checksum, as `zstd` writes by default.
///
/// libzstd always runs in its multithreaded mode here, `ZSTD_c_nbWorkers = max(1, threads)`: in that
/// mode the frame is cut into jobs of a size fixed by the level, never by the worker count, so the
/// output is identical for any thread count (single-threaded mode, nbWorkers 0, would give other bytes;
/// the tests check 1 against 4 workers).
/// Memory is bounded by libzstd (a few jobs of a few MiB at the default level), whatever the input size.
///
/// `output` is only ever called on the thread that calls `write` or `finish`. Not thread-safe: use one
/// compressor from one thread at a time.
public final class ZstdStream {
    /// Receives compressed bytes, in order; a throw stops the compressor and is rethrown to the caller.
    public typealias Output = (UnsafeRawBufferPointer) throws -> Void

    /// The compression level, 1 … 19.
    public let level: Int
    /// The number of libzstd worker threads (at least 1).
    public let threads: Int
    /// Uncompressed bytes accepted so far.
    public private(set) var uncompressedCount: Int64 = 0
    /// Compressed bytes handed to `output` so far.
    public private(set) var compressedCount: Int64 = 0

    private let context: ZstdContext
    private let output: Output
    private let buffer: UnsafeMutableRawBufferPointer
    private var finished = false
    private var failure: (any Error)?

    /// Sets up a compressor at `level` with `max(1, threads)` workers (default: the online processor count).
    /// - Throws: `KilnArchiveError` for a level outside 1…19, or when this libzstd lacks multithreading.
    public init(level: Int = 3, threads: Int? = nil, output: @escaping Output) throws {
        guard (1...19).contains(level) else {
            throw KilnArchiveError.invalidArgument("zstd level \(level) is outside 1...19")
        }
        self.level = level
        self.threads = max(1, threads ?? onlineProcessorCount())
        self.output = output
        context = try ZstdContext()
        buffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
        let hint = "kiln needs libzstd 1.4 or newer built with multithreading (Debian's libzstd1 is)"
        try context.set(ZSTD_c_compressionLevel, Int32(level), "ZSTD_c_compressionLevel", hint: hint)
        try context.set(ZSTD_c_checksumFlag, 1, "ZSTD_c_checksumFlag", hint: hint)
        try context.set(ZSTD_c_nbWorkers, Int32(self.threads), "ZSTD_c_nbWorkers", hint: hint)
    }

    deinit { buffer.deallocate() }

    /// Compresses `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try checkUsable()
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try step(&input, ZSTD_e_continue)
        }
        uncompressedCount += Int64(bytes.count)
    }

    /// Compresses `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    /// Ends the frame and hands the rest to `output`. Calling it again does nothing.
    public func finish() throws {
        if finished { return }
        try checkUsable()
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try step(&input, ZSTD_e_end) != 0 {}
        finished = true
    }

    /// One ZSTD_compressStream2 call; hands what it produced to `output` and returns libzstd's hint
    /// (0 once a flush or end is complete).
    private func step(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var out = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
        let result = ZSTD_compressStream2(context.pointer, &out, &input, directive)
        if ZSTD_isError(result) != 0 {
            let error = KilnArchiveError.compressor(function: "ZSTD_compressStream2",
                                                    message: String(cString: ZSTD_getErrorName(result)),
                                                    hint: "the process may be out of memory")
            failure = error
            throw error
        }
        if out.pos > 0 {
            do {
                try output(UnsafeRawBufferPointer(start: buffer.baseAddress, count: out.pos))
            } catch {
                failure = error
                throw error
            }
            compressedCount += Int64(out.pos)
        }
        return result
    }

    private func checkUsable() throws {
        if let failure { throw failure }
        if finished {
            throw KilnArchiveError.invalidArgument("data written to a zstd stream after finish()")
        }
    }
}

/// Owns a `ZSTD_CCtx`; freed in deinit (which also stops its worker threads).
final class ZstdContext {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = ZSTD_createCCtx() else {
            throw KilnArchiveError.compressor(function: "ZSTD_createCCtx", message: "no context",
                                              hint: "the process is out of memory")
        }
        self.pointer = pointer
    }

    deinit { ZSTD_freeCCtx(pointer) }

    /// ZSTD_CCtx_setParameter, throwing libzstd's message on failure.
    func set(_ parameter: ZSTD_cParameter, _ value: Int32, _ name: String, hint: String) throws {
        let result = ZSTD_CCtx_setParameter(pointer, parameter, value)
        if ZSTD_isError(result) != 0 {
            throw KilnArchiveError.compressor(function: "ZSTD_CCtx_setParameter(\(name), \(value))",
                                              message: String(cString: ZSTD_getErrorName(result)), hint: hint)
        }
    }
}
