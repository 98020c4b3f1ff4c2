#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CZlib

/// One block of a `ParallelGzip` stream: its input, the dictionary that primes it, and, once a worker
/// is done, its compressed bytes and CRC-32.
///
/// Ownership passes by hand-off under the pool's mutex: the producer fills the input and dictionary,
/// then `DeflatePool.submit` gives the block to one worker, which fills the output and sets `done`;
/// the producer reads the output only after seeing `done` under the same mutex.
final class GzipBlock: @unchecked Sendable {
    /// The position of the block in the stream.
    var index = 0
    /// Uncompressed input, `blockSize` bytes of room.
    let input: UnsafeMutableRawBufferPointer
    /// Bytes of `input` in use.
    var inputCount = 0
    /// The last bytes of the previous block (up to the deflate window), empty for the first block.
    let dictionary: UnsafeMutableRawBufferPointer
    /// Bytes of `dictionary` in use.
    var dictionaryCount = 0
    /// Whether this block ends the deflate stream (`Z_FINISH` rather than `Z_SYNC_FLUSH`).
    var isLast = false
    /// The compressed bytes; grown by the worker if deflate needs more room.
    var output: UnsafeMutableRawBufferPointer
    /// Bytes of `output` in use.
    var outputCount = 0
    /// The CRC-32 of `input[0..<inputCount]`.
    var crc: UInt = 0
    /// zlib's message when compressing the block failed.
    var failure: String?
    /// Set by the worker, under the pool's mutex, when `output`, `crc` and `failure` are final.
    var done = false

    init(blockSize: Int, windowSize: Int) {
        input = .allocate(byteCount: blockSize, alignment: 16)
        dictionary = .allocate(byteCount: windowSize, alignment: 16)
        // Incompressible input grows by about 5 bytes per 16 KiB stored block, plus the sync flush.
        output = .allocate(byteCount: blockSize + blockSize / 1024 + 64, alignment: 16)
    }

    deinit {
        input.deallocate()
        dictionary.deallocate()
        output.deallocate()
    }

    /// Empties the block for reuse.
    func reset() {
        inputCount = 0
        dictionaryCount = 0
        isLast = false
        outputCount = 0
        crc = 0
        failure = nil
        done = false
    }

    /// Makes `output` at least `capacity` bytes, keeping what it holds.
    func growOutput(to capacity: Int) {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        bigger.baseAddress!.copyMemory(from: output.baseAddress!, byteCount: outputCount)
        output.deallocate()
        output = bigger
    }
}

/// Worker threads that compress `GzipBlock`s, each with its own zlib deflate stream; a mutex and two
/// condition variables guard the queue and each block's `done` flag.
///
/// Each worker holds a strong reference to the pool until it exits, so the owner must call `shutdown()`
/// (which joins the threads) before letting go of it; `ParallelGzip.deinit` does.
final class DeflatePool: @unchecked Sendable {
    private let level: Int32
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a block is queued or the pool shuts down.
    private let workAvailable = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Broadcast when a block is done.
    private let blockDone = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var queue: [GzipBlock] = []
    private var queueHead = 0
    private var stopping = false
    private var threads: [pthread_t] = []

    init(level: Int32, threads count: Int) throws {
        self.level = level
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(workAvailable, nil)
        pthread_cond_init(blockDone, nil)
        for _ in 0..<count {
            let context = Unmanaged.passRetained(self).toOpaque()
            #if canImport(Darwin)
            var thread: pthread_t?
            #else
            var thread = pthread_t()
            #endif
            let result = pthread_create(&thread, nil, { raw in
                let pool = Unmanaged<DeflatePool>.fromOpaque(raw!).takeRetainedValue()
                pool.work()
                return nil
            }, context)
            guard result == 0 else {
                Unmanaged<DeflatePool>.fromOpaque(context).release()
                shutdown()
                throw KilnArchiveError.compressor(function: "pthread_create", message: String(cString: strerror(result)),
                                                  hint: "the system is out of threads or memory")
            }
            #if canImport(Darwin)
            if let thread { threads.append(thread) }
            #else
            threads.append(thread)
            #endif
        }
    }

    deinit {
        pthread_cond_destroy(blockDone)
        pthread_cond_destroy(workAvailable)
        pthread_mutex_destroy(mutex)
        blockDone.deallocate()
        workAvailable.deallocate()
        mutex.deallocate()
    }

    /// Queues `block` for compression.
    func submit(_ block: GzipBlock) {
        pthread_mutex_lock(mutex)
        block.done = false
        queue.append(block)
        pthread_cond_signal(workAvailable)
        pthread_mutex_unlock(mutex)
    }

    /// Whether a worker has finished `block`.
    func isDone(_ block: GzipBlock) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return block.done
    }

    /// Blocks until a worker has finished `block`.
    func waitUntilDone(_ block: GzipBlock) {
        pthread_mutex_lock(mutex)
        while !block.done { pthread_cond_wait(blockDone, mutex) }
        pthread_mutex_unlock(mutex)
    }

    /// Stops the workers once the queue is empty and joins them. Idempotent; called by the owner only.
    func shutdown() {
        pthread_mutex_lock(mutex)
        stopping = true
        pthread_cond_broadcast(workAvailable)
        pthread_mutex_unlock(mutex)
        let joining = threads
        threads = []
        for thread in joining { pthread_join(thread, nil) }
    }

    /// A worker's loop: take the next block, compress it, mark it done.
    private func work() {
        let deflater = Deflater(level: level)
        pthread_mutex_lock(mutex)
        while true {
            while queueHead == queue.count && !stopping { pthread_cond_wait(workAvailable, mutex) }
            if queueHead == queue.count { break }
            let block = queue[queueHead]
            queueHead += 1
            if queueHead > 64 {
                queue.removeFirst(queueHead)
                queueHead = 0
            }
            pthread_mutex_unlock(mutex)
            deflater.compress(block)
            pthread_mutex_lock(mutex)
            block.done = true
            pthread_cond_broadcast(blockDone)
        }
        pthread_mutex_unlock(mutex)
    }
}

/// One raw deflate stream (`z_stream`, windowBits −15) reused for block after block; freed in deinit.
final class Deflater {
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    /// zlib's message when deflateInit2 failed; every block then fails with it.
    private let initFailure: String?

    init(level: Int32) {
        stream.initialize(to: z_stream())
        let result = kiln_deflate_init2(stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY)
        initFailure = result == Z_OK ? nil : "deflateInit2 returned \(result)"
    }

    deinit {
        if initFailure == nil { deflateEnd(stream) }
        stream.deallocate()
    }

    /// Compresses `block.input` into `block.output` and sets `block.crc`, or sets `block.failure`.
    func compress(_ block: GzipBlock) {
        block.crc = crc32(0, block.input.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(block.inputCount))
        if let initFailure {
            block.failure = initFailure
            return
        }
        var result = deflateReset(stream)
        guard result == Z_OK else {
            block.failure = message("deflateReset", result)
            return
        }
        if block.dictionaryCount > 0 {
            result = deflateSetDictionary(stream, block.dictionary.baseAddress!.assumingMemoryBound(to: Bytef.self),
                                          uInt(block.dictionaryCount))
            guard result == Z_OK else {
                block.failure = message("deflateSetDictionary", result)
                return
            }
        }
        let flush = block.isLast ? Z_FINISH : Z_SYNC_FLUSH
        stream.pointee.next_in = block.input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(block.inputCount)
        block.outputCount = 0
        while true {
            if block.outputCount == block.output.count {
                block.growOutput(to: block.output.count * 2)
            }
            let room = block.output.count - block.outputCount
            stream.pointee.next_out = (block.output.baseAddress! + block.outputCount).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            result = deflate(stream, flush)
            block.outputCount += room - Int(stream.pointee.avail_out)
            if result == Z_STREAM_END { break }
            guard result == Z_OK || result == Z_BUF_ERROR else {
                block.failure = message("deflate", result)
                return
            }
            // A sync flush is complete once deflate returns with output room to spare (zlib.h, deflate).
            if flush == Z_SYNC_FLUSH && stream.pointee.avail_out > 0 && stream.pointee.avail_in == 0 { break }
        }
    }

    private func message(_ function: String, _ result: Int32) -> String {
        if let text = stream.pointee.msg { return "\(function): \(String(cString: text))" }
        return "\(function) returned \(result)"
    }
}
