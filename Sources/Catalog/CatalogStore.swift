import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads and updates `images/catalog.json`. An update holds an advisory lock (`flock(2)` on
/// `catalog.json.lock` beside it) from read to rename, and replaces the file by writing a temporary file
/// in the same directory, `fsync`ing it and `rename(2)`ing it over the old one: a reader sees the old
/// file or the new one, never half of one, and two builds updating at once both land.
public struct CatalogStore: Sendable {
    /// The catalog's path.
    public let path: String
    /// How the path is shown in messages (as the user wrote it).
    public let shownAs: String

    /// A store for the catalog at `path`.
    public init(path: String, shownAs: String? = nil) {
        self.path = path
        self.shownAs = shownAs ?? path
    }

    /// The lock file's path.
    public var lockPath: String { path + ".lock" }

    /// The catalog as it is on disk; a missing file is an empty catalog.
    public func read() throws -> CatalogDocument {
        guard FileManager.default.fileExists(atPath: path) else { return CatalogDocument() }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CatalogError.unreadable(shownAs, "open failed: \(errnoText())")
        }
        return try CatalogStore.decode(data, shownAs: shownAs)
    }

    /// Reads the catalog under the lock, lets `body` change it, and writes it back atomically (only when it
    /// changed). Returns what `body` returns.
    @discardableResult
    public func update<T>(_ body: (inout CatalogDocument) throws -> T) throws -> T {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CatalogError.write(shownAs, "creating \(directory) failed: \(error)")
            }
        }
        let lock = try CatalogLock(path: lockPath)
        defer { lock.unlock() }
        let before = try read()
        var document = before
        let result = try body(&document)
        if document != before || !FileManager.default.fileExists(atPath: path) {
            try CatalogStore.writeAtomically(CatalogStore.encode(document), to: path, shownAs: shownAs)
        }
        return result
    }

    /// Decodes catalog JSON (dates are ISO 8601, UTC).
    public static func decode(_ data: Data, shownAs: String) throws -> CatalogDocument {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(CatalogDocument.self, from: data)
        } catch DecodingError.dataCorrupted(let context) {
            throw CatalogError.malformed(shownAs, context.underlyingError.map { "\($0)" } ?? context.debugDescription)
        } catch {
            throw CatalogError.malformed(shownAs, "\(error)")
        }
    }

    /// The catalog as committed: pretty, sorted keys, a trailing newline (stable diffs).
    public static func encode(_ document: CatalogDocument) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(document) + Data("\n".utf8)
    }

    /// Writes `data` to a temporary file beside `path`, flushes it to disk and renames it over `path`,
    /// then flushes the directory so the rename itself survives a crash.
    public static func writeAtomically(_ data: Data, to path: String, shownAs: String? = nil) throws {
        let shown = shownAs ?? path
        let directory = (path as NSString).deletingLastPathComponent
        let dir = directory.isEmpty ? "." : directory
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw CatalogError.write(shown, "creating \(dir) failed: \(error)")
        }
        let temporary = (dir as NSString).appendingPathComponent(
            ".\((path as NSString).lastPathComponent).tmp-\(getpid())-\(UUID().uuidString.prefix(8))")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CatalogError.write(shown, "open(\(temporary)) failed: \(errnoText())") }
        var failure: String?
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = "write failed: \(errnoText())"
                    return
                }
                offset += n
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = "fsync failed: \(errnoText())" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "rename failed: \(errnoText())" }
        if let failure {
            unlink(temporary)
            throw CatalogError.write(shown, failure)
        }
        let dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}

/// An exclusive `flock(2)` on a lock file, held until `unlock()` or deinit. Each lock opens the file
/// anew, so two locks conflict between threads of one process as well as between processes.
final class CatalogLock {
    private var fd: Int32

    /// Opens (creating) the lock file and waits for the lock.
    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CatalogError.lock(path, "open failed: \(errnoText())") }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let message = errnoText()
            close(fd)
            fd = -1
            throw CatalogError.lock(path, "flock failed: \(message)")
        }
    }

    /// Releases the lock (closing the file releases it).
    func unlock() {
        if fd >= 0 {
            close(fd)
            fd = -1
        }
    }

    deinit { unlock() }
}
