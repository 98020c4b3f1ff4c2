internal import CArchive

/// In-memory gzip (RFC 1952) through libarchive's raw format and gzip filter.
///
/// `compress` is deterministic: the header carries no modification time (MTIME is zero) and no file
/// name, so the same input and level always give the same bytes.
public enum Gzip {
    /// Compresses `data` into one gzip member at `level` (1 fastest … 9 smallest).
    public static func compress(_ data: [UInt8], level: Int = 9) throws -> [UInt8] {
        guard (1...9).contains(level) else {
            throw KilnArchiveError.invalidArgument("gzip level \(level) is outside 1...9")
        }
        let subject = "in-memory gzip data"
        let hint = "this is a bug in kiln or libarchive; please report it"
        let archive = try WriteHandle()
        let a = archive.pointer
        try check(archive_write_set_format_raw(a), "archive_write_set_format_raw", a, subject: subject, hint: hint)
        try check(archive_write_add_filter_gzip(a), "archive_write_add_filter_gzip", a, subject: subject, hint: hint)
        try setGzipOptions(a, level: level, subject: subject)
        try check(archive_write_set_bytes_in_last_block(a, 1), "archive_write_set_bytes_in_last_block", a,
                  subject: subject, hint: hint)

        let sink = ByteSink()
        return try withExtendedLifetime(sink) { () throws -> [UInt8] in
            let client = Unmanaged.passUnretained(sink).toOpaque()
            try check(archive_write_open2(a, client, nil, byteSinkWrite, nil, nil), "archive_write_open2", a,
                      subject: subject, hint: hint)
            let entry = try EntryHandle()
            archive_entry_set_filetype(entry.pointer, kiln_ae_ifreg())
            archive_entry_set_size(entry.pointer, la_int64_t(data.count))
            try check(archive_write_header(a, entry.pointer), "archive_write_header", a, subject: subject, hint: hint)
            try data.withUnsafeBytes { (buffer) throws in
                try writeAll(a, buffer, subject: subject)
            }
            try check(archive_write_close(a), "archive_write_close", a, subject: subject, hint: hint)
            archive.closed = true
            return sink.bytes
        }
    }

    /// Decompresses one gzip member (what `compress` and `gzip` write); throws if `data` is not gzip or is
    /// corrupt. libarchive does not check the gzip trailer, so this verifies its CRC-32 and length itself.
    public static func decompress(_ data: [UInt8]) throws -> [UInt8] {
        let subject = "in-memory gzip data (\(data.count) bytes)"
        let hint = "the data is corrupt or truncated"
        guard data.count >= 2, data[0] == 0x1f, data[1] == 0x8b else {
            throw KilnArchiveError.unexpectedData("\(subject) is not gzip: it does not start with the gzip magic bytes 1f 8b")
        }
        let archive = try ReadHandle()
        let a = archive.pointer
        try check(archive_read_support_format_raw(a), "archive_read_support_format_raw", a, subject: subject, hint: hint)
        // The raw format does not bid on zero bytes of content; the empty format takes gzip of nothing.
        try check(archive_read_support_format_empty(a), "archive_read_support_format_empty", a, subject: subject, hint: hint)
        try check(archive_read_support_filter_all(a), "archive_read_support_filter_all", a, subject: subject, hint: hint)
        return try data.withUnsafeBytes { (buffer) throws -> [UInt8] in
            try check(archive_read_open_memory(a, buffer.baseAddress, buffer.count), "archive_read_open_memory", a,
                      subject: subject, hint: hint)
            guard archive_filter_code(a, 0) == ARCHIVE_FILTER_GZIP else {
                throw KilnArchiveError.unexpectedData("\(subject) is not gzip")
            }
            let entry = try EntryHandle()
            let header = archive_read_next_header2(a, entry.pointer)
            if header == ARCHIVE_EOF { return [] }
            try check(header, "archive_read_next_header2", a, subject: subject, hint: hint)
            var out: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 64 * 1024)
            while true {
                let n = chunk.withUnsafeMutableBytes { archive_read_data(a, $0.baseAddress, $0.count) }
                if n < 0 { throw KilnArchiveError.libarchive("archive_read_data", a, subject: subject, hint: hint) }
                if n == 0 { break }
                out.append(contentsOf: chunk[0..<n])
            }
            try verifyTrailer(data, out, subject: subject)
            return out
        }
    }
}

/// Checks the gzip trailer (CRC-32 and ISIZE, little-endian; RFC 1952 section 2.3.1) against `output`.
private func verifyTrailer(_ data: [UInt8], _ output: [UInt8], subject: String) throws {
    func le32(_ offset: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(data[offset + $1]) << (8 * $1) }
    }
    let hint = "the data is corrupt; note that only single-member gzip data is supported"
    guard data.count >= 18 else {
        throw KilnArchiveError.unexpectedData("\(subject) is too short to hold a gzip trailer; \(hint)")
    }
    let expectedCRC = le32(data.count - 8), expectedSize = le32(data.count - 4)
    let crc = CRC32.checksum(output)
    guard crc == expectedCRC, UInt32(truncatingIfNeeded: output.count) == expectedSize else {
        throw KilnArchiveError.unexpectedData(
            "gzip trailer check failed for \(subject): CRC-32 \(String(crc, radix: 16)) and length \(output.count), "
                + "trailer says \(String(expectedCRC, radix: 16)) and \(expectedSize); \(hint)")
    }
}

/// Sets the gzip filter's level and turns its timestamp off (MTIME = 0) for reproducible output.
func setGzipOptions(_ a: OpaquePointer, level: Int, subject: String) throws {
    let hint = "this libarchive may be too old; kiln needs libarchive 3.2 or newer"
    try check(archive_write_set_filter_option(a, "gzip", "compression-level", String(level)),
              "archive_write_set_filter_option(gzip, compression-level)", a, subject: subject, hint: hint)
    try check(archive_write_set_filter_option(a, "gzip", "timestamp", nil),
              "archive_write_set_filter_option(gzip, timestamp)", a, subject: subject, hint: hint)
}

/// archive_write_data until the whole buffer is written.
func writeAll(_ a: OpaquePointer, _ buffer: UnsafeRawBufferPointer, subject: String) throws {
    var offset = 0
    while offset < buffer.count {
        let n = archive_write_data(a, buffer.baseAddress! + offset, buffer.count - offset)
        if n <= 0 {
            throw KilnArchiveError.libarchive("archive_write_data", a, subject: subject, hint: "check free disk space and the output path")
        }
        offset += n
    }
}
