#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import struct KilnCrypto.SHA256

/// The consuming half of a layer's pipeline: hashes the uncompressed tar stream (the diffID) and feeds
/// the compressor, whose output hashes and writes the file. Only the stage's thread touches it until
/// `StreamStage.finish()` has joined that thread.
final class StreamConsumer {
    /// SHA-256 of the uncompressed tar stream.
    var uncompressed = SHA256()
    /// Bytes of the uncompressed tar stream.
    var uncompressedCount: Int64 = 0
    let compressor: any StreamCompressor

    init(compressor: any StreamCompressor) { self.compressor = compressor }

    func process(_ bytes: UnsafeRawBufferPointer) throws {
        uncompressed.update(bytes)
        uncompressedCount += Int64(bytes.count)
        try compressor.write(bytes)
    }

    func complete() throws { try compressor.finish() }
}

/// Runs a `StreamConsumer` on a thread of its own, fed through a few 1 MiB chunks, so that reading the
/// tree and making the tar (the caller's thread) overlap hashing and compressing (this thread), as
/// `tar | pigz` overlaps them in two processes. Bytes are processed in the order written.
///
/// Memory is `chunkCount` × `chunkSize`. The producer blocks while every chunk is full; a consumer error
/// is rethrown by the producer's next call, and the consumer then discards what is still queued.
final class StreamStage: @unchecked Sendable {
    static let chunkSize = 1 << 20
    static let chunkCount = 4

    let consumer: StreamConsumer
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Broadcast whenever a chunk is filled or freed, or the stream ends.
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let chunks: [UnsafeMutableRawBufferPointer]
    /// Chunk indices free for the producer (guarded by `mutex`).
    private var free: [Int]
    /// Filled chunks with their byte counts, oldest first (guarded by `mutex`).
    private var filled: [(chunk: Int, count: Int)] = []
    /// Set by the producer when no more chunks come (guarded by `mutex`).
    private var ended = false
    /// Set when the stream is abandoned: the consumer discards everything (guarded by `mutex`).
    private var abandoned = false
    /// The consumer's first error (guarded by `mutex`).
    private var failure: (any Error)?
    /// The chunk the producer is filling, and how full it is (producer only).
    private var current: Int?
    private var currentCount = 0
    /// The consumer thread until it is joined (producer only).
    private var thread: pthread_t?

    init(consumer: StreamConsumer) throws {
        self.consumer = consumer
        chunks = (0..<Self.chunkCount).map { _ in .allocate(byteCount: Self.chunkSize, alignment: 16) }
        free = Array((0..<Self.chunkCount).reversed())
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(changed, nil)
        let context = Unmanaged.passRetained(self).toOpaque()
        #if canImport(Darwin)
        var started: pthread_t?
        #else
        var started = pthread_t()
        #endif
        let result = pthread_create(&started, nil, { raw in
            let stage = Unmanaged<StreamStage>.fromOpaque(raw!).takeRetainedValue()
            stage.consume()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<StreamStage>.fromOpaque(context).release()
            throw KilnArchiveError.compressor(function: "pthread_create", message: String(cString: strerror(result)),
                                              hint: "the system is out of threads or memory")
        }
        thread = started
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
        for chunk in chunks { chunk.deallocate() }
    }

    /// Queues a copy of `bytes` (producer).
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            let chunk = try currentChunk()
            let n = min(Self.chunkSize - currentCount, bytes.count - offset)
            (chunks[chunk].baseAddress! + currentCount).copyMemory(from: base + offset, byteCount: n)
            currentCount += n
            offset += n
            if currentCount == Self.chunkSize { submitCurrent() }
        }
    }

    /// Queues what is left, waits until the consumer has processed everything and completed, and
    /// rethrows its error (producer). Joins the thread; call once.
    func finish() throws {
        submitCurrent()
        pthread_mutex_lock(mutex)
        ended = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        join()
        if let failure { throw failure }
    }

    /// Stops the consumer without completing the stream and joins it; idempotent.
    func abandon() {
        guard thread != nil else { return }
        pthread_mutex_lock(mutex)
        abandoned = true
        ended = true
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
        join()
    }

    private func join() {
        guard let running = thread else { return }
        thread = nil
        pthread_join(running, nil)
    }

    /// The chunk being filled, taking a free one (waiting if need be) when there is none.
    private func currentChunk() throws -> Int {
        if let current { return current }
        pthread_mutex_lock(mutex)
        while free.isEmpty && failure == nil { pthread_cond_wait(changed, mutex) }
        let error = failure
        let chunk = free.popLast()
        pthread_mutex_unlock(mutex)
        if let error { throw error }
        current = chunk
        currentCount = 0
        return chunk!
    }

    private func submitCurrent() {
        guard let chunk = current else { return }
        current = nil
        guard currentCount > 0 else {
            pthread_mutex_lock(mutex)
            free.append(chunk)
            pthread_mutex_unlock(mutex)
            return
        }
        pthread_mutex_lock(mutex)
        filled.append((chunk, currentCount))
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }

    /// The consumer thread: process filled chunks in order, then complete the stream.
    private func consume() {
        pthread_mutex_lock(mutex)
        while true {
            while filled.isEmpty && !ended { pthread_cond_wait(changed, mutex) }
            if filled.isEmpty { break }
            let (chunk, count) = filled.removeFirst()
            let skip = failure != nil || abandoned
            pthread_mutex_unlock(mutex)
            var error: (any Error)?
            if !skip {
                do {
                    try consumer.process(UnsafeRawBufferPointer(rebasing: chunks[chunk][0..<count]))
                } catch let thrown {
                    error = thrown
                }
            }
            pthread_mutex_lock(mutex)
            if let error, failure == nil { failure = error }
            free.append(chunk)
            pthread_cond_broadcast(changed)
        }
        let complete = failure == nil && !abandoned
        pthread_mutex_unlock(mutex)
        if complete {
            do {
                try consumer.complete()
            } catch {
                pthread_mutex_lock(mutex)
                failure = error
                pthread_mutex_unlock(mutex)
            }
        }
    }
}
