#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import struct KilnCrypto.SHA256

/// A compressor the layer's tar stream flows through.
protocol StreamCompressor: AnyObject {
    /// Compresses `bytes`, handing output to the compressor's sink as it becomes ready.
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything; the stream is complete afterwards.
    func finish() throws
}

extension ParallelGzip: StreamCompressor {}
extension ZstdStream: StreamCompressor {}

/// No compression: bytes go straight through.
final class PassThrough: StreamCompressor {
    private let output: (UnsafeRawBufferPointer) throws -> Void

    init(output: @escaping (UnsafeRawBufferPointer) throws -> Void) { self.output = output }

    func write(_ bytes: UnsafeRawBufferPointer) throws { try output(bytes) }

    func finish() throws {}
}

/// Where libarchive's write callback sends the tar stream: the stage that hashes and compresses it on
/// its own thread, and the file the compressed bytes end in.
final class LayerSink {
    let stage: StreamStage
    let file: BlobFile
    /// The error a callback swallowed (libarchive only sees −1); the writer rethrows it.
    var error: (any Error)?

    init(stage: StreamStage, file: BlobFile) {
        self.stage = stage
        self.file = file
    }

    deinit { stage.abandon() }

    func consume(_ bytes: UnsafeRawBufferPointer) throws {
        try stage.write(bytes)
    }
}

/// archive_write_open2's write callback: hands the bytes to the LayerSink passed as client data.
let layerSinkWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
    _, clientData, buffer, length in
    guard let clientData else { return -1 }
    let sink = Unmanaged<LayerSink>.fromOpaque(clientData).takeUnretainedValue()
    guard let buffer, length > 0 else { return 0 }
    do {
        try sink.consume(UnsafeRawBufferPointer(start: buffer, count: length))
        return length
    } catch {
        if sink.error == nil { sink.error = error }
        return -1
    }
}

/// The layer file: every byte written is hashed (the blob digest) and counted; the descriptor is
/// closed in deinit if still open.
final class BlobFile {
    let path: String
    /// SHA-256 of the bytes written.
    var hasher = SHA256()
    /// Bytes written.
    var count: Int64 = 0
    private var fd: Int32

    /// Creates (or truncates) the regular file at `path`, mode 0644 before the umask. Anything else
    /// (a device, a FIFO) is refused untouched, since an abandoned layer's file is unlinked.
    init(path: String) throws {
        self.path = path
        var info = stat()
        if lstat(path, &info) == 0 && (info.st_mode & S_IFMT) != S_IFREG {
            throw KilnArchiveError.invalidArgument("layer output '\(path)' exists and is not a regular file")
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else {
            throw KilnArchiveError.system("open", errno: errno, path: path,
                                          hint: "check that the directory exists and is writable")
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        guard fd >= 0 else {
            throw KilnArchiveError.invalidArgument("'\(path)' was already closed")
        }
        hasher.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw KilnArchiveError.system("write", errno: errno, path: path, hint: "check free disk space")
            }
            offset += n
        }
        count += Int64(bytes.count)
    }

    /// fsync and close.
    func syncAndClose() throws {
        guard fd >= 0 else { return }
        if fsync(fd) != 0 {
            throw KilnArchiveError.system("fsync", errno: errno, path: path, hint: "check the disk")
        }
        let result = close(fd)
        fd = -1
        if result != 0 {
            throw KilnArchiveError.system("close", errno: errno, path: path, hint: "check the disk")
        }
    }

    /// Closes (if open) and unlinks the file, ignoring errors: used when the layer is abandoned.
    func closeAndRemove() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
        unlink(path)
    }
}

/// write(2), named apart from `BlobFile.write`.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
