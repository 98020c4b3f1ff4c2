#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CArchive
import struct KilnCrypto.SHA256

/// Digests of a written layer: what an OCI manifest and config need (image-spec config.md, "Layer
/// DiffID"; descriptor.md).
public struct LayerDigests: Sendable, Hashable {
    /// `sha256:<hex>` of the uncompressed tar stream (the config's `rootfs.diff_ids` entry).
    public var diffID: String
    /// `sha256:<hex>` of the bytes written to the file (the manifest's layer digest).
    public var digest: String
    /// Bytes written to the file (compressed).
    public var size: Int64
    /// Bytes of the uncompressed tar stream.
    public var uncompressedSize: Int64
    /// How the file is compressed, which decides its media type.
    public var compression: LayerWriter.Compression

    /// Makes digests from their parts.
    public init(diffID: String, digest: String, size: Int64, uncompressedSize: Int64,
                compression: LayerWriter.Compression) {
        self.diffID = diffID
        self.digest = digest
        self.size = size
        self.uncompressedSize = uncompressedSize
        self.compression = compression
    }
}

/// Writes one OCI image layer (image-spec layer.md) in a single streaming pass: a tar stream made by
/// libarchive (restricted pax: ustar headers, with a pax extended header only where ustar cannot say
/// it, e.g. long or non-ASCII paths, large ids, xattrs), compressed, hashed twice and written to a file.
///
/// libarchive writes the tar with no compression filter of its own, unblocked, into a write callback;
/// the callback hands the bytes (through a few 1 MiB chunks) to a thread of their own, which feeds the
/// SHA-256 of the uncompressed stream (the diffID) and the compressor; the compressor's output feeds
/// the SHA-256 of the blob (its digest), a byte count and the file. Reading the tree overlaps hashing
/// and compressing, as in `tar | pigz`. Nothing is read back and memory stays flat (about 12 MiB with
/// gzip on 2 threads) whatever the layer's size.
///
/// Reproducible entries: numeric uid/gid with no user or group names; mtimes in whole seconds, clamped
/// to `Options.clampMTime` (`SOURCE_DATE_EPOCH`) for every entry; no atime, ctime, device or inode
/// numbers; directories named with a trailing `/`; paths relative, with no leading `/` or `./`.
/// Compression is `ParallelGzip` (pigz-style blocks, the same bytes for any thread count; header without
/// time or name), `ZstdStream` (always with at least one worker, the same bytes for any thread count) or
/// none.
///
/// Call `finish()` to complete the layer. A writer dropped without `finish()`, or whose `finish()` threw,
/// removes its output file, so no half-written layer is left looking complete. After any error the
/// writer refuses further entries. Not thread-safe: use one writer from one thread at a time.
public final class LayerWriter {
    /// How the layer file is compressed.
    public enum Compression: Sendable, Hashable {
        /// A plain tar (`application/vnd.oci.image.layer.v1.tar`).
        case none
        /// Block-parallel gzip at level 1…9 (`…tar+gzip`).
        case gzip(level: Int = 6)
        /// Zstandard at level 1…19 (`…tar+zstd`).
        case zstd(level: Int = 3)
    }

    /// What `addTree` reads.
    public enum TreeFormat: Sendable {
        /// An ordinary directory tree: every object becomes an entry as it is.
        case plain
        /// An overlayfs upper directory: its whiteouts and opaque directories become OCI whiteouts.
        case overlayUpper
    }

    /// How a layer is written.
    public struct Options: Sendable {
        /// The compression, `.gzip()` (level 6) by default.
        public var compression: Compression
        /// Compression threads, at least 1; by default the number of online processors. The output is
        /// the same for any value.
        public var threads: Int
        /// `SOURCE_DATE_EPOCH`: mtimes later than this become this (seconds since the Unix epoch).
        public var clampMTime: Int64?

        /// Options with the given compression, thread count (nil: the online processor count) and clamp.
        public init(compression: Compression = .gzip(), threads: Int? = nil, clampMTime: Int64? = nil) {
            self.compression = compression
            self.threads = threads ?? onlineProcessorCount()
            self.clampMTime = clampMTime
        }
    }

    /// The size of the chunks file contents are read in.
    public static let chunkSize = 1 << 20

    /// The layer file.
    public let path: String
    /// How it is written.
    public let options: Options

    let handle: WriteHandle
    let sink: LayerSink
    /// A 1 MiB buffer for file contents.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// The first error that broke the stream; every later call rethrows it.
    private var failure: (any Error)?
    private var digests: LayerDigests?
    private var outputRemoved = false

    /// Creates (or truncates) the layer file at `path` and starts the tar stream.
    /// - Throws: `KilnArchiveError` for an empty path, a level or thread count out of range, or when the
    ///   file cannot be created.
    public init(path: String, options: Options = Options()) throws {
        guard !path.isEmpty else { throw KilnArchiveError.invalidArgument("LayerWriter needs an output path") }
        guard options.threads >= 1 else {
            throw KilnArchiveError.invalidArgument("thread count \(options.threads) must be at least 1")
        }
        self.path = path
        self.options = options
        let file = try BlobFile(path: path)
        do {
            let compressor: any StreamCompressor
            switch options.compression {
            case .none:
                compressor = PassThrough { try file.write($0) }
            case let .gzip(level):
                compressor = try ParallelGzip(level: level, threads: options.threads) { try file.write($0) }
            case let .zstd(level):
                compressor = try ZstdStream(level: level, threads: options.threads) { try file.write($0) }
            }
            sink = LayerSink(stage: try StreamStage(consumer: StreamConsumer(compressor: compressor)), file: file)
        } catch {
            file.closeAndRemove()
            throw error
        }
        readBuffer = .allocate(byteCount: Self.chunkSize, alignment: 16)
        do {
            handle = try WriteHandle()
        } catch {
            file.closeAndRemove()
            readBuffer.deallocate()
            throw error
        }
        do {
            try configure()
        } catch {
            removeOutput()
            throw error
        }
    }

    deinit {
        if digests == nil {
            // No trailer through the callback: the archive is marked failed before it is freed.
            archive_write_fail(handle.pointer)
            removeOutput()
        }
        readBuffer.deallocate()
    }

    private func configure() throws {
        let a = handle.pointer
        let subject = "'\(path)'"
        let hint = "this libarchive lacks a needed feature; install libarchive 3.6 or newer"
        try check(archive_write_set_format_pax_restricted(a), "archive_write_set_format_pax_restricted", a,
                  subject: subject, hint: hint)
        // xattrs as SCHILY.xattr.<name> records only (what GNU tar, Go's archive/tar and Python's tarfile
        // read), not also as LIBARCHIVE.xattr copies.
        try check(archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY"),
                  "archive_write_set_format_option(pax, xattrheader)", a, subject: subject, hint: hint)
        // Unblocked: every write goes straight to the callback, and the stream ends right after the
        // two zero blocks of the end-of-archive marker, with no padding to a 10 KiB record.
        try check(archive_write_set_bytes_per_block(a, 0), "archive_write_set_bytes_per_block", a,
                  subject: subject, hint: hint)
        let client = Unmanaged.passUnretained(sink).toOpaque()
        try call(archive_write_open2(a, client, nil, layerSinkWrite, nil, nil), "archive_write_open2",
                 subject: subject, hint: hint)
    }

    // MARK: Entries

    /// Adds a regular file whose contents are `contents`.
    public func addFile(path: String, contents: [UInt8], mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                        mtime: Int64 = 0) throws {
        let name = try entryName(path, directory: false)
        let entry = try makeEntry(name: name, type: fileTypeRegular, mode: mode, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_size(entry.pointer, la_int64_t(contents.count))
        try writeHeader(entry, name: name)
        try contents.withUnsafeBytes { try writeData($0, name: name) }
    }

    /// Adds a regular file whose contents are streamed from the file at `source` (its own metadata is
    /// ignored; the entry gets exactly `mode`, `uid`, `gid` and the clamped `mtime`).
    public func addFile(path: String, fromFileAt source: String, mode: UInt32 = 0o644, uid: Int = 0, gid: Int = 0,
                        mtime: Int64 = 0) throws {
        let name = try entryName(path, directory: false)
        let (fd, size) = try openRegularFile(source)
        defer { close(fd) }
        let entry = try makeEntry(name: name, type: fileTypeRegular, mode: mode, uid: uid, gid: gid, mtime: mtime)
        archive_entry_set_size(entry.pointer, la_int64_t(size))
        try writeHeader(entry, name: name)
        try copyContents(of: fd, size: size, source: source, name: name)
    }

    /// Adds a directory; its entry is named with a trailing `/`.
    public func addDirectory(path: String, mode: UInt32 = 0o755, uid: Int = 0, gid: Int = 0, mtime: Int64 = 0) throws {
        let name = try entryName(path, directory: true)
        let entry = try makeEntry(name: name, type: fileTypeDirectory, mode: mode, uid: uid, gid: gid, mtime: mtime)
        try writeHeader(entry, name: name)
    }

    /// Adds a symbolic link at `path` pointing to `target` (stored verbatim, not resolved), mode 0777.
    public func addSymlink(path: String, target: String, uid: Int = 0, gid: Int = 0, mtime: Int64 = 0) throws {
        let name = try entryName(path, directory: false)
        guard !target.isEmpty, !target.utf8.contains(0) else {
            throw KilnArchiveError.invalidArgument("symlink target \(String(reflecting: target)) for '\(path)' is empty or contains NUL")
        }
        let entry = try makeEntry(name: name, type: fileTypeSymlink, mode: 0o777, uid: uid, gid: gid, mtime: mtime)
        archive_entry_copy_symlink(entry.pointer, target)
        try writeHeader(entry, name: name)
    }

    /// Adds the OCI whiteout for `path` (layer.md, "Whiteouts"): an empty file `<dir>/.wh.<name>` that
    /// deletes `<dir>/<name>` of the lower layers.
    public func addWhiteout(for path: String, mtime: Int64 = 0) throws {
        var bytes = try entryName(path, directory: false, allowTrailingSlash: true)
        if bytes.last == slashByte { bytes.removeLast() }
        let cut = bytes.lastIndex(of: slashByte).map { $0 + 1 } ?? 0
        let name = Array(bytes[..<cut]) + Array(layerWhiteoutPrefix) + Array(bytes[cut...])
        try writeWhiteoutEntry(name: name, mtime: mtime)
    }

    /// Adds the OCI opaque whiteout of `directory` (layer.md, "Opaque Whiteout"): an empty file
    /// `<directory>/.wh..wh..opq` that hides everything the lower layers hold in it. An empty `directory`
    /// means the layer's root.
    public func addOpaqueWhiteout(directory: String, mtime: Int64 = 0) throws {
        let prefix = directory.isEmpty ? [] : try entryName(directory, directory: true)
        try writeWhiteoutEntry(name: prefix + Array(layerOpaqueWhiteoutName), mtime: mtime)
    }

    /// Writes the end-of-archive marker, flushes the compressor, fsyncs and closes the file, and returns
    /// the layer's digests. Calling it again returns the same digests.
    /// - Throws: `KilnArchiveError` (or the output's error); the file is then removed.
    public func finish() throws -> LayerDigests {
        if let digests { return digests }
        try checkUsable()
        do {
            try call(archive_write_close(handle.pointer), "archive_write_close", subject: "'\(path)'",
                     hint: "check free disk space")
            handle.closed = true
            try sink.stage.finish()
            try sink.file.syncAndClose()
        } catch {
            failure = error
            removeOutput()
            throw error
        }
        // The stage's thread has been joined: its hashes and counts are final and safe to read here.
        let consumer = sink.stage.consumer
        let result = LayerDigests(diffID: "sha256:" + consumer.uncompressed.finalize().hex,
                                  digest: "sha256:" + sink.file.hasher.finalize().hex,
                                  size: sink.file.count, uncompressedSize: consumer.uncompressedCount,
                                  compression: options.compression)
        digests = result
        return result
    }

    // MARK: Shared by the entry methods and addTree

    /// `mtime`, or the clamp when it is later.
    func clamp(_ mtime: Int64) -> Int64 {
        guard let limit = options.clampMTime else { return mtime }
        return min(mtime, limit)
    }

    /// Throws the error that broke the stream, or refuses entries after `finish()`.
    func checkUsable() throws {
        if let failure { throw failure }
        if digests != nil {
            throw KilnArchiveError.invalidArgument("entry added to '\(path)' after finish()")
        }
    }

    /// A fresh entry with exactly these fields (mtime clamped, whole seconds) and nothing else: no names,
    /// atime, ctime, device or inode numbers.
    func makeEntry(name: [UInt8], type: UInt32, mode: UInt32, uid: Int, gid: Int, mtime: Int64) throws -> EntryHandle {
        try checkUsable()
        guard mode & ~0o7777 == 0 else {
            throw KilnArchiveError.invalidArgument("mode \(String(mode, radix: 8)) for '\(pathText(name))' has bits outside 0o7777")
        }
        guard uid >= 0, gid >= 0 else {
            throw KilnArchiveError.invalidArgument("uid \(uid) / gid \(gid) for '\(pathText(name))' must not be negative")
        }
        let entry = try EntryHandle()
        let e = entry.pointer
        withCPath(name) { archive_entry_copy_pathname(e, $0) }
        archive_entry_set_filetype(e, type)
        archive_entry_set_perm(e, mode_t(mode))
        archive_entry_set_uid(e, la_int64_t(uid))
        archive_entry_set_gid(e, la_int64_t(gid))
        archive_entry_set_mtime(e, time_t(clamp(mtime)), 0)
        return entry
    }

    /// archive_write_header for `entry`.
    func writeHeader(_ entry: EntryHandle, name: [UInt8]) throws {
        try checkUsable()
        try call(archive_write_header(handle.pointer, entry.pointer), "archive_write_header",
                 subject: "'\(pathText(name))' in '\(path)'", hint: "check the entry's path and metadata and free disk space")
    }

    /// archive_write_data until all of `buffer` is written.
    func writeData(_ buffer: UnsafeRawBufferPointer, name: [UInt8]) throws {
        var offset = 0
        while offset < buffer.count {
            let n = archive_write_data(handle.pointer, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 {
                throw broken("archive_write_data", subject: "'\(pathText(name))' in '\(path)'",
                             hint: "check free disk space and the output path")
            }
            offset += n
        }
    }

    /// Streams exactly `size` bytes of the open file `fd` into the current entry.
    func copyContents(of fd: Int32, size: Int64, source: String, name: [UInt8]) throws {
        var remaining = size
        while remaining > 0 {
            let n = read(fd, readBuffer.baseAddress, Int(min(Int64(readBuffer.count), remaining)))
            if n < 0 {
                if errno == EINTR { continue }
                let error = KilnArchiveError.system("read", errno: errno, path: source, hint: "check the file and its disk")
                failure = error
                throw error
            }
            if n == 0 {
                let error = KilnArchiveError.unexpectedData(
                    "'\(source)' shrank from \(size) to \(size - remaining) bytes while it was being archived; "
                        + "do not modify files while kiln archives them")
                failure = error
                throw error
            }
            try writeData(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n]), name: name)
            remaining -= Int64(n)
        }
    }

    /// Writes an empty regular file named `name` (an OCI whiteout), mode 0644, owned by 0:0.
    func writeWhiteoutEntry(name: [UInt8], mtime: Int64) throws {
        let entry = try makeEntry(name: name, type: fileTypeRegular, mode: 0o644, uid: 0, gid: 0, mtime: mtime)
        archive_entry_set_size(entry.pointer, 0)
        try writeHeader(entry, name: name)
    }

    /// Throws libarchive's error unless `result` is ARCHIVE_OK or ARCHIVE_WARN.
    private func call(_ result: Int32, _ function: String, subject: String, hint: String) throws {
        if result < ARCHIVE_WARN { throw broken(function, subject: subject, hint: hint) }
    }

    /// The error that broke the stream: the output's own error if the write callback failed, otherwise
    /// libarchive's. Recorded, so every later call rethrows it.
    private func broken(_ function: String, subject: String, hint: String) -> any Error {
        let error = sink.error ?? KilnArchiveError.libarchive(function, handle.pointer, subject: subject, hint: hint)
        failure = error
        return error
    }

    /// Stops the stage's thread, then closes and removes the output file (once).
    private func removeOutput() {
        guard !outputRemoved else { return }
        outputRemoved = true
        sink.stage.abandon()
        sink.file.closeAndRemove()
    }

    /// Validates an entry path given by a caller: relative (no leading `/`), no empty, `.` or `..`
    /// components, no NUL; returns its bytes, with a trailing `/` for a directory.
    func entryName(_ path: String, directory: Bool, allowTrailingSlash: Bool = false) throws -> [UInt8] {
        var bytes = Array(path.utf8)
        let problem: String?
        if bytes.isEmpty || bytes.contains(0) {
            problem = "is empty or contains NUL"
        } else if bytes.first == slashByte {
            problem = "is absolute; layer paths are relative to the root, without a leading '/'"
        } else if !directory && !allowTrailingSlash && bytes.last == slashByte {
            problem = "ends with '/' but is not a directory"
        } else {
            let components = (bytes.last == slashByte ? bytes.dropLast() : bytes[...]).split(separator: slashByte,
                                                                                          omittingEmptySubsequences: false)
            if components.contains(where: { $0.isEmpty || $0.elementsEqual([dotByte]) || $0.elementsEqual([dotByte, dotByte]) }) {
                problem = "has an empty, '.' or '..' component"
            } else {
                problem = nil
            }
        }
        if let problem {
            throw KilnArchiveError.invalidArgument("layer entry path \(String(reflecting: path)) \(problem)")
        }
        if directory && bytes.last != slashByte { bytes.append(slashByte) }
        return bytes
    }
}

/// The bytes of a path, for messages.
func pathText(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Calls `body` with `bytes` as a NUL-terminated C string.
func withCPath<T>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
    try (bytes + [0]).withUnsafeBufferPointer { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
}

let slashByte = UInt8(ascii: "/")
let dotByte = UInt8(ascii: ".")
/// The prefix of an OCI whiteout file's name (layer.md, "Whiteouts").
let layerWhiteoutPrefix = Array(".wh.".utf8)
/// The name of an OCI opaque whiteout (layer.md, "Opaque Whiteout").
let layerOpaqueWhiteoutName = Array(".wh..wh..opq".utf8)

// libarchive's AE_IF* file types (archive_entry.h); they equal the POSIX S_IF* values on every platform
// libarchive supports. The shim only exposes some of them as functions.
let fileTypeRegular: UInt32 = 0o100000
let fileTypeDirectory: UInt32 = 0o040000
let fileTypeSymlink: UInt32 = 0o120000
let fileTypeCharacterDevice: UInt32 = 0o020000
let fileTypeBlockDevice: UInt32 = 0o060000
let fileTypeFIFO: UInt32 = 0o010000
