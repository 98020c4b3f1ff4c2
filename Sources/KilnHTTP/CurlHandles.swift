#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CCurl

/// curl_global_init(CURL_GLOBAL_DEFAULT), run once per process before the first easy handle
/// (a global `let` is initialised exactly once, thread-safely). Never cleaned up: it lives as long as the process.
private let curlGlobalInitResult: UInt32 = kiln_curl_global_init().rawValue

/// Owns one curl easy handle and its CURLOPT_ERRORBUFFER; both are freed in deinit.
final class CurlEasy {
    let handle: UnsafeMutableRawPointer
    /// CURL_ERROR_SIZE bytes that curl fills with a detailed message when a transfer fails.
    let errorBuffer: UnsafeMutablePointer<CChar>
    private let errorBufferSize: Int

    init() throws {
        let global = CURLcode(rawValue: curlGlobalInitResult)
        guard global == CURLE_OK else {
            throw KilnHTTPError.curl("curl_global_init", global, detail: "", request: "HTTP client setup")
        }
        guard let handle = curl_easy_init() else {
            throw KilnHTTPError.curl("curl_easy_init", CURLE_FAILED_INIT, detail: "", request: "HTTP client setup")
        }
        self.handle = handle
        errorBufferSize = kiln_curl_error_size()
        errorBuffer = .allocate(capacity: errorBufferSize)
        errorBuffer.initialize(repeating: 0, count: errorBufferSize)
    }

    /// Clears the error buffer before a transfer.
    func clearError() { errorBuffer.update(repeating: 0, count: errorBufferSize) }

    /// The error buffer's text.
    var errorText: String { String(cString: errorBuffer).trimmingTrailingNewlines() }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }
}

/// Owns a `struct curl_slist` of header lines; freed in deinit.
final class CurlHeaderList {
    private(set) var list: UnsafeMutablePointer<curl_slist>?

    init(_ lines: [String]) throws {
        for line in lines {
            guard let appended = curl_slist_append(list, line) else {
                throw KilnHTTPError.curl("curl_slist_append", CURLE_OUT_OF_MEMORY, detail: "", request: "HTTP headers")
            }
            list = appended
        }
    }

    deinit { curl_slist_free_all(list) }
}

/// Owns a pthread mutex (heap-allocated, so its address never moves); destroyed in deinit.
final class Lock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    /// Runs `body` while holding the lock.
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last.isNewline { s = s.dropLast() }
        return String(s)
    }
}
