internal import CArchive

/// Owns a libarchive write handle (`struct archive *`); freed in deinit.
final class WriteHandle {
    let pointer: OpaquePointer
    /// Set once the archive was closed successfully; otherwise deinit discards it with archive_write_fail
    /// so that no trailer makes a half-written archive look complete.
    var closed = false

    init() throws {
        guard let pointer = archive_write_new() else {
            throw KilnArchiveError.libarchive("archive_write_new", nil, subject: "a new archive", hint: "the process is out of memory")
        }
        self.pointer = pointer
    }

    deinit {
        if !closed { archive_write_fail(pointer) }
        archive_write_free(pointer)
    }
}

/// Owns a libarchive read handle (`struct archive *`); freed in deinit.
final class ReadHandle {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = archive_read_new() else {
            throw KilnArchiveError.libarchive("archive_read_new", nil, subject: "a new archive", hint: "the process is out of memory")
        }
        self.pointer = pointer
    }

    deinit { archive_read_free(pointer) }

    /// A reader of the file at `path` in one format (`archive_read_support_format_tar` or `_raw`),
    /// decompressed by whatever filter libarchive detects, read in `TarWriter.chunkSize` blocks.
    static func open(path: String, format: (OpaquePointer) -> Int32, formatFunction: String,
                     hint: String) throws -> ReadHandle {
        let handle = try ReadHandle()
        let a = handle.pointer
        let subject = "'\(path)'"
        try check(format(a), formatFunction, a, subject: subject, hint: "this libarchive lacks that format")
        try check(archive_read_support_filter_all(a), "archive_read_support_filter_all", a, subject: subject,
                  hint: "this libarchive lacks filter support")
        try check(archive_read_open_filename(a, path, TarWriter.chunkSize), "archive_read_open_filename", a,
                  subject: subject, hint: hint)
        return handle
    }
}

/// Owns a `struct archive_entry *`; freed in deinit.
final class EntryHandle {
    let pointer: OpaquePointer

    init() throws {
        guard let pointer = archive_entry_new() else {
            throw KilnArchiveError.libarchive("archive_entry_new", nil, subject: "a new entry", hint: "the process is out of memory")
        }
        self.pointer = pointer
    }

    deinit { archive_entry_free(pointer) }
}

/// Collects what a write handle emits through archive_write_open's client callbacks.
final class ByteSink {
    var bytes: [UInt8] = []
}

/// archive_write_open's write callback: appends to the ByteSink passed as client data.
let byteSinkWrite: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, UnsafeRawPointer?, Int) -> Int = {
    _, clientData, buffer, length in
    guard let clientData, let buffer else { return length == 0 ? 0 : -1 }
    let sink = Unmanaged<ByteSink>.fromOpaque(clientData).takeUnretainedValue()
    sink.bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: length))
    return length
}
