internal import CArchive

/// Reads a tar archive (ustar, pax or GNU; plain or compressed with any filter libarchive knows) from a
/// file, one entry at a time, with entry data in chunks so memory stays flat.
///
/// Not thread-safe: use one reader from one task at a time.
public final class TarReader {
    private let handle: ReadHandle
    private let inputPath: String
    private let entry: EntryHandle
    private var currentPath = ""

    /// Opens the archive at `path`; the compression is detected from the data.
    public init(path: String) throws {
        guard !path.isEmpty else {
            // libarchive would read standard input.
            throw KilnArchiveError.invalidArgument("TarReader needs an input path")
        }
        inputPath = path
        handle = try ReadHandle.open(path: path, format: { archive_read_support_format_tar($0) },
                                     formatFunction: "archive_read_support_format_tar",
                                     hint: "check that the file exists and is a tar archive")
        entry = try EntryHandle()
    }

    /// The next entry's header, or nil after the last entry. Unread data of the previous entry is skipped.
    public func next() throws -> TarEntry? {
        let a = handle.pointer
        let result = archive_read_next_header2(a, entry.pointer)
        if result == ARCHIVE_EOF { return nil }
        try check(result, "archive_read_next_header2", a, subject: "'\(inputPath)'",
                  hint: "the archive is corrupt, truncated or not a tar archive")
        let e = entry.pointer
        let path = string(archive_entry_pathname_utf8(e)) ?? string(archive_entry_pathname(e)) ?? ""
        currentPath = path
        let fileType = UInt32(archive_entry_filetype(e))
        let type: TarEntryType
        switch fileType {
        case kiln_ae_ifreg():
            type = archive_entry_hardlink(e) != nil ? .hardlink : .regular
        case kiln_ae_ifdir(): type = .directory
        case kiln_ae_iflnk(): type = .symlink
        default: type = archive_entry_hardlink(e) != nil ? .hardlink : .other(fileType)
        }
        return TarEntry(
            path: path,
            type: type,
            size: Int64(archive_entry_size(e)),
            mode: UInt32(archive_entry_perm(e)),
            uid: Int64(archive_entry_uid(e)),
            gid: Int64(archive_entry_gid(e)),
            mtime: Int64(archive_entry_mtime(e)),
            symlinkTarget: type == .symlink
                ? string(archive_entry_symlink_utf8(e)) ?? string(archive_entry_symlink(e)) : nil,
            hardlinkTarget: type == .hardlink
                ? string(archive_entry_hardlink_utf8(e)) ?? string(archive_entry_hardlink(e)) : nil)
    }

    /// Reads up to `buffer.count` bytes of the current entry's data; returns 0 at the end of the entry.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = archive_read_data(handle.pointer, buffer.baseAddress, buffer.count)
        if n < 0 {
            throw KilnArchiveError.libarchive("archive_read_data", handle.pointer, subject: "'\(currentPath)' in '\(inputPath)'",
                                              hint: "the archive is corrupt or truncated")
        }
        return n
    }

    /// The next chunk (at most `maxLength` bytes) of the current entry's data; empty at the end of the entry.
    public func readChunk(maxLength: Int = TarWriter.chunkSize) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: max(maxLength, 1))
        let n = try chunk.withUnsafeMutableBytes { try read(into: $0) }
        chunk.removeSubrange(n...)
        return chunk
    }

    /// The rest of the current entry's data in one array; for small entries only.
    public func readAll() throws -> [UInt8] {
        var out: [UInt8] = []
        while true {
            let chunk = try readChunk(maxLength: 64 * 1024)
            if chunk.isEmpty { return out }
            out += chunk
        }
    }

    private func string(_ pointer: UnsafePointer<CChar>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
