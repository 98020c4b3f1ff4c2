#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CCurl

/// The state of one transfer, shared with libcurl's callbacks through their user-data pointer.
/// Owns the body files' descriptors; `closeFiles()` (always called) closes them.
final class Transfer {
    /// The most of a non-2xx body kept in memory when the caller asked for the body in a file.
    static let errorBodyCap = 1 << 20

    let target: String
    let progress: (@Sendable (Int64, Int64, Int64, Int64) -> Void)?
    private let logSink: (@Sendable (String) -> Void)?
    private let query: String

    /// Set when the request forbids libcurl to resend its body by itself.
    var refusesRewind = false
    var uploadBytes: [UInt8] = []
    var uploadOffset = 0
    private var uploadFD: Int32 = -1
    private var uploadPath = ""
    /// Where in the upload file the body starts, and how many bytes of it are still to send (a range body).
    private var uploadBase: Int64 = 0
    private var uploadLength: Int64 = -1
    private var uploadRemaining: Int64 = -1
    private var downloadFD: Int32 = -1
    private var downloadPath: String?

    /// The status of the response currently being received (interim 1xx responses included).
    var status = 0
    /// The header fields of the response currently being received.
    var headers: [(String, String)] = []
    /// The body received into memory.
    var body: [UInt8] = []
    /// A failure inside a callback (file I/O), reported instead of curl's generic abort code.
    var callbackError: KilnHTTPError?

    init(target: String, progress: (@Sendable (Int64, Int64, Int64, Int64) -> Void)?,
         logSink: (@Sendable (String) -> Void)?, query: String) {
        self.target = target
        self.progress = progress
        self.logSink = logSink
        self.query = query
    }

    /// Opens a file body (or the byte range `range` of it); returns the size sent, which becomes the
    /// Content-Length.
    func openUpload(_ path: String, range: Range<Int64>? = nil) throws -> Int64 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw KilnHTTPError.file("open", errno: errno, path: path, request: target) }
        uploadFD = fd
        uploadPath = path
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KilnHTTPError.file("fstat", errno: errno, path: path, request: target) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw KilnHTTPError.invalidRequest("\(target): body file '\(path)' is not a regular file")
        }
        guard let range else { return Int64(info.st_size) }
        guard range.lowerBound >= 0, range.upperBound <= Int64(info.st_size) else {
            throw KilnHTTPError.invalidRequest("\(target): byte range \(range.lowerBound)..<\(range.upperBound) is outside "
                + "body file '\(path)' of \(info.st_size) bytes")
        }
        guard lseek(fd, off_t(range.lowerBound), SEEK_SET) == off_t(range.lowerBound) else {
            throw KilnHTTPError.file("lseek", errno: errno, path: path, request: target)
        }
        uploadBase = range.lowerBound
        uploadLength = Int64(range.count)
        uploadRemaining = uploadLength
        return uploadLength
    }

    /// Creates (or truncates) the file a 2xx body is streamed to.
    func openDownload(_ path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KilnHTTPError.file("open", errno: errno, path: path, request: target) }
        downloadFD = fd
        downloadPath = path
    }

    /// Removes the download file (after a failure or a non-2xx status).
    func discardDownload() {
        guard let path = downloadPath else { return }
        if downloadFD >= 0 { close(downloadFD) }
        downloadFD = -1
        unlink(path)
        downloadPath = nil
    }

    func closeFiles() {
        if uploadFD >= 0 { close(uploadFD) }
        uploadFD = -1
        if downloadFD >= 0 { close(downloadFD) }
        downloadFD = -1
    }

    /// `text` with the request's query string (which may hold a signature) replaced.
    func redact(_ text: String) -> String {
        guard !query.isEmpty else { return text }
        return text.replacingAll(query, with: "<query redacted>")
    }

    // MARK: callback bodies

    func receiveHeader(_ bytes: UnsafeRawBufferPointer) {
        let line = String(decoding: bytes, as: UTF8.self).trimmingTrailingNewlines()
        if line.hasPrefix("HTTP/") {
            // A new response (interim 1xx or final) starts: forget the previous one's headers.
            headers = []
            let fields = line.split(separator: " ", maxSplits: 2)
            status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        } else if line.isEmpty {
            return
        } else if line.first == " " || line.first == "\t", !headers.isEmpty {
            headers[headers.count - 1].1 += " " + line.trimmingWhitespace()  // obsolete line folding
        } else if let colon = line.firstIndex(of: ":") {
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingWhitespace()))
        }
    }

    /// Returns the number of bytes consumed; anything else makes curl fail with CURLE_WRITE_ERROR.
    func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if downloadFD >= 0 && (200..<300).contains(status) {
            var offset = 0
            while offset < bytes.count {
                let n = write(downloadFD, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    callbackError = .file("write", errno: errno, path: downloadPath ?? "", request: target)
                    return 0
                }
                offset += n
            }
        } else if downloadFD >= 0 {
            body.append(contentsOf: bytes.prefix(max(0, Self.errorBodyCap - body.count)))
        } else {
            body.append(contentsOf: bytes)
        }
        return bytes.count
    }

    /// Fills `buffer` with the next body bytes; returns 0 at the end, or CURL_READFUNC_ABORT on failure.
    func sendBody(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        if uploadFD >= 0 {
            let wanted = uploadRemaining >= 0 ? Int(min(Int64(buffer.count), uploadRemaining)) : buffer.count
            if wanted == 0 { return 0 }
            while true {
                let n = read(uploadFD, buffer.baseAddress, wanted)
                if n >= 0 {
                    if uploadRemaining >= 0 { uploadRemaining -= Int64(n) }
                    return n
                }
                if errno == EINTR { continue }
                callbackError = .file("read", errno: errno, path: uploadPath, request: target)
                return Int(CURL_READFUNC_ABORT)
            }
        }
        let count = min(buffer.count, uploadBytes.count - uploadOffset)
        guard count > 0 else { return 0 }
        uploadBytes.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + uploadOffset, byteCount: count)
        }
        uploadOffset += count
        return count
    }

    /// Rewinds the body to `offset` (curl does this to resend on a reused connection that died).
    /// Refused when the request does not allow a transparent resend: curl then fails with
    /// CURLE_SEND_FAIL_REWIND instead of sending the body twice.
    func seekBody(to offset: Int64) -> Int32 {
        if refusesRewind { return CURL_SEEKFUNC_FAIL }
        if uploadFD >= 0 {
            if uploadLength >= 0 {
                guard offset >= 0, offset <= uploadLength else { return CURL_SEEKFUNC_FAIL }
                uploadRemaining = uploadLength - offset
            }
            let position = off_t(uploadBase + offset)
            return lseek(uploadFD, position, SEEK_SET) == position ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL
        }
        guard offset >= 0, offset <= Int64(uploadBytes.count) else { return CURL_SEEKFUNC_FAIL }
        uploadOffset = Int(offset)
        return CURL_SEEKFUNC_OK
    }

    /// One line of the redacted verbose log.
    func log(_ kind: curl_infotype, _ bytes: UnsafeRawBufferPointer) {
        let prefix: String
        switch kind {
        case CURLINFO_TEXT: prefix = "* "
        case CURLINFO_HEADER_OUT: prefix = "> "
        case CURLINFO_HEADER_IN: prefix = "< "
        default: return  // bodies and TLS records are never logged
        }
        let secret: Set<String> = ["authorization", "proxy-authorization", "cookie", "set-cookie",
                                   "x-amz-security-token"]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isNewline) {
            var text = String(line).trimmingTrailingNewlines()
            if text.isEmpty { continue }
            if let colon = text.firstIndex(of: ":"), secret.contains(text[..<colon].lowercased()) {
                text = text[..<colon] + ": <redacted>"
            }
            let entry = prefix + redact(text)
            if let logSink {
                logSink(entry)
            } else {
                var data = Array(("kiln http: " + entry + "\n").utf8)
                _ = data.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            }
        }
    }
}

// MARK: libcurl callbacks (C function pointers: they capture nothing and find the Transfer via user data)

func headerCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let user else { return 0 }
    let length = size * count
    Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue().receiveHeader(UnsafeRawBufferPointer(start: buffer, count: length))
    return length
}

func writeCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let user else { return 0 }
    return Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        .receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

func readCallback(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ user: UnsafeMutableRawPointer?) -> Int {
    guard let user, let buffer else { return Int(CURL_READFUNC_ABORT) }
    return Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
        .sendBody(UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

func seekCallback(_ user: UnsafeMutableRawPointer?, _ offset: curl_off_t, _ origin: Int32) -> Int32 {
    guard let user, origin == SEEK_SET else { return CURL_SEEKFUNC_CANTSEEK }
    return Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue().seekBody(to: Int64(offset))
}

func progressCallback(_ user: UnsafeMutableRawPointer?, _ downloadTotal: curl_off_t, _ downloaded: curl_off_t,
                      _ uploadTotal: curl_off_t, _ uploaded: curl_off_t) -> Int32 {
    guard let user else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
    transfer.progress?(Int64(uploaded), Int64(uploadTotal), Int64(downloaded), Int64(downloadTotal))
    return 0
}

func debugCallback(_ handle: UnsafeMutableRawPointer?, _ kind: curl_infotype, _ data: UnsafeMutablePointer<CChar>?,
                   _ size: Int, _ user: UnsafeMutableRawPointer?) -> Int32 {
    guard let user else { return 0 }
    Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue().log(kind, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }

    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var result = ""
        var rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
