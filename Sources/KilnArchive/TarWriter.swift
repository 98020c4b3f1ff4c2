#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CArchive

/// Streams a tar archive to a file: restricted pax (POSIX ustar headers, with a pax extended header
/// only for what ustar cannot hold, such as long or non-ASCII paths), optionally gzip or zstd compressed.
///
/// Paths are stored as given, as UTF-8 bytes; libarchive marks non-ASCII ones `hdrcharset=BINARY` in their
/// pax header, which GNU tar and Python's tarfile read back unchanged.
///
/// Entries carry exactly the metadata given — mode, numeric uid/gid, mtime in whole seconds — and no
/// user or group names, atime or ctime, so the same calls always produce the same bytes. Entries are
/// written in call order; sort them first if the archive must be reproducible from a file tree.
/// Call `finish()` to complete the archive; a writer dropped without it leaves no valid trailer.
/// Not thread-safe: use one writer from one task at a time.
public final class TarWriter {
    /// The compression applied to the whole tar stream.
    public enum Compression: Sendable, Hashable {
        /// Plain tar.
        case none
        /// gzip (RFC 1952) at level 1…9, with no timestamp or file name in the header.
        case gzip(level: Int = 9)
        /// Zstandard (RFC 8878) at level 1…19.
        case zstd(level: Int = 3)
    }

    /// The size of the chunks `addFile(path:fromFileAt:)` reads.
    public static let chunkSize = 1 << 20

    private let handle: WriteHandle
    private let outputPath: String

    /// Creates (or truncates) the archive at `path`.
    public init(path: String, compression: Compression = .none) throws {
        guard !path.isEmpty else {
            // libarchive would write to standard output.
            throw KilnArchiveError.invalidArgument("TarWriter needs an output path")
        }
        outputPath = path
        handle = try WriteHandle()
        let a = handle.pointer
        let subject = "'\(path)'"
        let hint = "this libarchive lacks a needed feature; install libarchive 3.6 or newer built with zlib and zstd"
        try check(archive_write_set_format_pax_restricted(a), "archive_write_set_format_pax_restricted", a,
                  subject: subject, hint: hint)
        switch compression {
        case .none:
            break
        case let .gzip(level):
            guard (1...9).contains(level) else {
                throw KilnArchiveError.invalidArgument("gzip level \(level) is outside 1...9")
            }
            try check(archive_write_add_filter_gzip(a), "archive_write_add_filter_gzip", a, subject: subject, hint: hint)
            try setGzipOptions(a, level: level, subject: subject)
        case let .zstd(level):
            guard (1...19).contains(level) else {
                throw KilnArchiveError.invalidArgument("zstd level \(level) is outside 1...19")
            }
            try check(archive_write_add_filter_zstd(a), "archive_write_add_filter_zstd", a, subject: subject, hint: hint)
            try check(archive_write_set_filter_option(a, "zstd", "compression-level", String(level)),
                      "archive_write_set_filter_option(zstd, compression-level)", a, subject: subject, hint: hint)
        }
        // No padding to a 10 KiB block after the end-of-archive marker.
        try check(archive_write_set_bytes_in_last_block(a, 1), "archive_write_set_bytes_in_last_block", a,
                  subject: subject, hint: hint)
        try check(archive_write_open_filename(a, path), "archive_write_open_filename", a, subject: subject,
                  hint: "check that the directory exists and is writable")
    }

    /// Adds a regular file whose contents are `contents`.
    public func addFile(path: String, contents: [UInt8], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                        mtime: Int64 = 0) throws {
        let entry = try makeEntry(path: path, type: kiln_ae_ifreg(), mode: mode, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_size(entry.pointer, la_int64_t(contents.count))
        try writeHeader(entry, path: path)
        try contents.withUnsafeBytes { buffer in
            try writeAll(handle.pointer, buffer, subject: "'\(path)' in '\(outputPath)'")
        }
    }

    /// Adds a regular file whose contents are streamed from the file at `source` in 1 MiB chunks.
    /// The source's own metadata is ignored; the entry gets exactly `mode`, `uid`, `gid` and `mtime`.
    public func addFile(path: String, fromFileAt source: String, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                        mtime: Int64 = 0) throws {
        let (fd, size) = try openRegularFile(source)
        defer { close(fd) }
        let entry = try makeEntry(path: path, type: kiln_ae_ifreg(), mode: mode, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_size(entry.pointer, la_int64_t(size))
        try writeHeader(entry, path: path)

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var remaining = size
        while remaining > 0 {
            let n = read(fd, buffer.baseAddress, Int(min(Int64(buffer.count), remaining)))
            if n < 0 {
                if errno == EINTR { continue }
                throw KilnArchiveError.system("read", errno: errno, path: source, hint: "check the file and its disk")
            }
            if n == 0 {
                throw KilnArchiveError.unexpectedData(
                    "'\(source)' shrank from \(size) to \(size - remaining) bytes while it was being archived; "
                        + "do not modify files while kiln archives them")
            }
            try writeAll(handle.pointer, UnsafeRawBufferPointer(rebasing: buffer[0..<n]),
                         subject: "'\(path)' in '\(outputPath)'")
            remaining -= Int64(n)
        }
    }

    /// Adds a directory.
    public func addDirectory(path: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0, mtime: Int64 = 0) throws {
        let entry = try makeEntry(path: path, type: kiln_ae_ifdir(), mode: mode, uid: uid, gid: gid, mtime: mtime)
        try writeHeader(entry, path: path)
    }

    /// Adds a symbolic link at `path` pointing to `target` (stored verbatim, not resolved).
    public func addSymlink(path: String, target: String, mode: UInt32 = 0o777, uid: Int = 0, gid: Int = 0,
                           mtime: Int64 = 0) throws {
        let entry = try makeEntry(path: path, type: kiln_ae_iflnk(), mode: mode, uid: uid, gid: gid, mtime: mtime)
        archive_entry_copy_symlink(entry.pointer, target)
        try writeHeader(entry, path: path)
    }

    /// Writes the end-of-archive marker, flushes the compressor and closes the file.
    public func finish() throws {
        guard !handle.closed else { return }
        try check(archive_write_close(handle.pointer), "archive_write_close", handle.pointer,
                  subject: "'\(outputPath)'", hint: "check free disk space")
        handle.closed = true
    }

    private func makeEntry(path: String, type: UInt32, mode: UInt32, uid: Int, gid: Int, mtime: Int64) throws -> EntryHandle {
        guard !path.isEmpty, !path.utf8.contains(0) else {
            throw KilnArchiveError.invalidArgument("tar entry path \(String(reflecting: path)) is empty or contains NUL")
        }
        guard mode & ~0o7777 == 0 else {
            throw KilnArchiveError.invalidArgument("mode \(String(mode, radix: 8)) for '\(path)' has bits outside 0o7777")
        }
        guard uid >= 0, gid >= 0 else {
            throw KilnArchiveError.invalidArgument("uid \(uid) / gid \(gid) for '\(path)' must not be negative")
        }
        guard !handle.closed else {
            throw KilnArchiveError.invalidArgument("'\(path)' added after finish() on '\(outputPath)'")
        }
        let entry = try EntryHandle()
        let e = entry.pointer
        archive_entry_copy_pathname(e, path)
        archive_entry_set_filetype(e, type)
        archive_entry_set_perm(e, mode_t(mode))
        archive_entry_set_uid(e, la_int64_t(uid))
        archive_entry_set_gid(e, la_int64_t(gid))
        archive_entry_set_mtime(e, time_t(mtime), 0)
        return entry
    }

    private func writeHeader(_ entry: EntryHandle, path: String) throws {
        try check(archive_write_header(handle.pointer, entry.pointer), "archive_write_header", handle.pointer,
                  subject: "'\(path)' in '\(outputPath)'", hint: "check the entry's path and metadata and free disk space")
    }
}

/// Opens `source` for reading and checks that it is a regular file; returns the descriptor (the caller
/// closes it) and the file's size.
func openRegularFile(_ source: String) throws -> (fd: Int32, size: Int64) {
    let fd = open(source, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
        throw KilnArchiveError.system("open", errno: errno, path: source, hint: "check that the file exists and is readable")
    }
    var info = stat()
    guard fstat(fd, &info) == 0 else {
        let code = errno
        close(fd)
        throw KilnArchiveError.system("fstat", errno: code, path: source, hint: "check the file")
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
        close(fd)
        throw KilnArchiveError.invalidArgument("'\(source)' is not a regular file; add directories and links with their own methods")
    }
    return (fd, Int64(info.st_size))
}
