internal import CArchive

/// Streams the decompressed bytes of a compressed file (gzip, zstd, xz, bzip2: any filter libarchive
/// knows, detected from the data), in chunks, so memory stays flat whatever the size. Used to compute
/// an OCI layer's diffID (the sha256 of the uncompressed tar).
///
/// Not thread-safe: use one decompressor from one task at a time.
public final class Decompressor {
    private let handle: ReadHandle
    private let entry: EntryHandle
    private let inputPath: String

    /// Opens the file at `path`.
    public init(path: String) throws {
        guard !path.isEmpty else { throw KilnArchiveError.invalidArgument("Decompressor needs an input path") }
        inputPath = path
        // The raw format: the whole (decompressed) stream is one entry.
        handle = try ReadHandle.open(path: path, format: { archive_read_support_format_raw($0) },
                                     formatFunction: "archive_read_support_format_raw",
                                     hint: "check that the file exists and is readable")
        entry = try EntryHandle()
        let result = archive_read_next_header2(handle.pointer, entry.pointer)
        if result != ARCHIVE_EOF {
            try check(result, "archive_read_next_header2", handle.pointer, subject: "'\(path)'",
                      hint: "the file is corrupt or truncated")
        }
    }

    /// Reads up to `buffer.count` decompressed bytes; returns 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        let n = archive_read_data(handle.pointer, buffer.baseAddress, buffer.count)
        if n < 0 {
            throw KilnArchiveError.libarchive("archive_read_data", handle.pointer, subject: "'\(inputPath)'",
                                              hint: "the compressed data is corrupt or truncated")
        }
        return n
    }
}
