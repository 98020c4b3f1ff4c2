import Foundation

/// Reads a file in fixed-size chunks; owns its handle, closed in deinit.
final class ChunkedFileReader {
    /// The size of the chunks read, 1 MiB, so memory stays flat whatever the file size.
    static let chunkSize = 1 << 20

    let path: String
    private let handle: FileHandle

    init(path: String) throws {
        self.path = path
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw OCIError.io("open", path, reason: FileManager.default.fileExists(atPath: path)
                ? "permission denied" : "no such file")
        }
        self.handle = handle
    }

    deinit { try? handle.close() }

    /// The next chunk, empty at end of file.
    func next() throws -> [UInt8] {
        do {
            guard let data = try handle.read(upToCount: Self.chunkSize) else { return [] }
            return Array(data)
        } catch {
            throw OCIError.io("read", path, error)
        }
    }
}

/// Writes a file through a handle it owns, closed in deinit.
final class FileWriter {
    let path: String
    private let handle: FileHandle
    private var closed = false

    /// Creates (or truncates) the file at `path`.
    init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw OCIError.io("create", path, reason: "cannot create the file")
        }
        self.handle = handle
    }

    deinit { if !closed { try? handle.close() } }

    func write(_ bytes: [UInt8]) throws {
        do { try handle.write(contentsOf: bytes) } catch { throw OCIError.io("write", path, error) }
    }

    /// Flushes to disk and closes.
    func close() throws {
        do {
            try handle.synchronize()
            try handle.close()
            closed = true
        } catch {
            throw OCIError.io("fsync/close", path, error)
        }
    }
}

/// Writes `bytes` to `path` atomically: to a temporary file beside it, then renamed over it.
func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let temp = (path as NSString).deletingLastPathComponent + "/.tmp-" + UUID().uuidString
    do {
        let writer = try FileWriter(path: temp)
        try writer.write(bytes)
        try writer.close()
        try renameFile(temp, to: path)
    } catch {
        try? FileManager.default.removeItem(atPath: temp)
        throw error
    }
}

/// rename(2): atomic replacement within one file system.
func renameFile(_ from: String, to: String) throws {
    guard rename(from, to) == 0 else {
        throw OCIError.io("rename to '\(to)' of", from, reason: String(cString: strerror(errno)))
    }
}
