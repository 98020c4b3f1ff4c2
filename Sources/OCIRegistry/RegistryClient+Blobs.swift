import Foundation
import KilnHTTP
import OCI

/// Blobs: existence checks, downloads, and uploads — monolithic, chunked and cross-repository mounts
/// (distribution-spec v1.1 "Pulling blobs", "Pushing blobs", "Mounting a blob from another repository").
extension RegistryClient {
    /// HEAD /v2/<name>/blobs/<digest>: true when the repository has the blob (200, with the expected size
    /// when the registry states it), false on 404.
    public func blobExists(_ descriptor: Descriptor, in repository: String) throws -> Bool {
        let operation = "HEAD blob \(descriptor.digest) in \(registry)/\(repository)"
        return try withRetries(operation) { _ in
            let response = try send(HTTPRequest(method: "HEAD", url: url(repository, "blobs/\(descriptor.digest)")),
                                    operation: operation, scopes: [Self.scope(repository, push: false)])
            switch response.status {
            case 200:
                if let length = response.header("Content-Length").flatMap(Int64.init), length != descriptor.size {
                    throw RegistryError.digestMismatch("blob \(descriptor.digest) in \(registry)/\(repository)",
                                                       expected: "\(descriptor.size) bytes", actual: "\(length) bytes")
                }
                return true
            case 404:
                return false
            default:
                throw failure(operation, response)
            }
        }
    }

    /// GET /v2/<name>/blobs/<digest> into `layout`: streamed to a temporary file in the layout, its
    /// digest and size verified, then renamed into place. Redirects (registries serve blobs from object
    /// storage) are followed without the registry's Authorization header.
    public func downloadBlob(_ descriptor: Descriptor, from repository: String, into layout: ImageLayout) throws {
        let operation = "GET blob \(descriptor.digest) from \(registry)/\(repository)"
        let id = descriptor.digest.description
        try withRetries(operation) { _ in
            let temp = layout.temporaryBlobPath()
            defer { try? FileManager.default.removeItem(atPath: temp) }
            let progress: @Sendable (Int64) -> Void = { [options] done in options.progress?.advanced(id: id, done: done) }
            var response = try send(HTTPRequest(method: "GET", url: url(repository, "blobs/\(descriptor.digest)")),
                                    operation: operation, scopes: [Self.scope(repository, push: false)], bodyTo: temp,
                                    progress: progress)
            var redirects = 0
            while [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") {
                redirects += 1
                guard redirects <= 5 else { throw RegistryError.invalidResponse("\(operation): more than 5 redirects") }
                do {
                    response = try transport.send(HTTPRequest(method: "GET", url: resolve(location: location)),
                                                  bodyTo: temp, progress: progress)
                } catch let error as KilnHTTPError {
                    throw RegistryError.transport(operation + " (redirected)", error)
                }
            }
            guard response.status == 200 else { throw failure(operation, response) }
            do {
                try layout.adoptBlob(fromTemporaryFile: temp, expected: descriptor)
            } catch let error as OCIError {
                // A corrupt transfer: worth another attempt, reported as a mismatch if it persists.
                throw RegistryError.status(operation, 502, detail: "\(error)")
            }
        }
    }

    /// Uploads the blob in `file` unless a mount from one of `mountFrom` (repositories of this registry)
    /// succeeds. Small blobs go in one PUT; larger ones in PATCH chunks of `chunkSize` (at least 5 MiB and
    /// at least the registry's `OCI-Chunk-Min-Length`), each streamed from the file. A failed attempt is
    /// retried in a NEW upload session: bytes are never sent twice into one session.
    /// - Returns: `.mounted` or `.uploaded`.
    public func uploadBlob(_ descriptor: Descriptor, file: String, to repository: String,
                           mountFrom: [String] = []) throws -> TransferOutcome {
        let operation = "upload of blob \(descriptor.digest) to \(registry)/\(repository)"
        let id = descriptor.digest.description
        let candidates = mountFrom.filter { $0 != repository }
        return try withRetries(operation) { attempt in
            options.progress?.advanced(id: id, done: 0)
            // POST: open a session, or mount (201) — a failed mount still answers 202 with a session.
            var session: String?
            var minimumChunk = 0
            for (index, from) in (attempt == 1 ? candidates : []).enumerated() {
                var mountURL = appendingQuery(url(repository, "blobs/uploads/"), "mount", descriptor.digest.description)
                mountURL = appendingQuery(mountURL, "from", from)
                let response = try send(HTTPRequest(method: "POST", url: mountURL),
                                        operation: operation,
                                        scopes: [Self.scope(repository, push: true), Self.scope(from, push: false)])
                if response.status == 201 { return .mounted }
                guard response.status == 202, let location = response.header("Location") else {
                    throw failure(operation + " (mount from \(from))", response)
                }
                if index == candidates.count - 1 {
                    session = resolve(location: location)
                    minimumChunk = response.header("OCI-Chunk-Min-Length").flatMap(Int.init) ?? 0
                    break
                }
                // Abandon this session (best effort) and try the next repository.
                _ = try? send(HTTPRequest(method: "DELETE", url: resolve(location: location)), operation: operation,
                              scopes: [Self.scope(repository, push: true)])
            }
            if session == nil {
                let response = try send(HTTPRequest(method: "POST", url: url(repository, "blobs/uploads/")),
                                        operation: operation, scopes: [Self.scope(repository, push: true)])
                guard response.status == 202 || response.status == 201, let location = response.header("Location") else {
                    throw failure(operation, response)
                }
                session = resolve(location: location)
                minimumChunk = response.header("OCI-Chunk-Min-Length").flatMap(Int.init) ?? 0
            }
            guard var location = session else { throw RegistryError.invalidResponse("\(operation): no upload session") }

            let scopes = [Self.scope(repository, push: true)]
            let octet = ("Content-Type", "application/octet-stream")
            if descriptor.size <= options.monolithicLimit {
                // Monolithic: PUT <location>?digest=<digest> with the whole blob ("Single PUT" after POST).
                var request = HTTPRequest(method: "PUT", url: appendingQuery(location, "digest", descriptor.digest.description),
                                          headers: [octet], body: .file(path: file))
                request.allowsTransparentResend = false
                let response = try send(request, operation: operation, scopes: scopes,
                                        progress: { [options] done in options.progress?.advanced(id: id, done: done) },
                                        retryAfterLogin: false)
                guard response.status == 201 else { throw failure(operation, response) }
                try checkDigestHeader(response, descriptor, operation)
                return .uploaded
            }

            // Chunked: PATCH <location> with Content-Range start-end (inclusive), then PUT ?digest= empty.
            let chunk = Int64(max(options.chunkSize, RegistryOptions.minimumChunkSize, minimumChunk))
            var offset: Int64 = 0
            while offset < descriptor.size {
                let end = min(offset + chunk, descriptor.size)
                let start = offset
                var request = HTTPRequest(method: "PATCH", url: location,
                                          headers: [octet, ("Content-Range", "\(start)-\(end - 1)")],
                                          body: .file(path: file), bodyFileRange: start..<end)
                request.allowsTransparentResend = false  // never replay a chunk into this session
                let response = try send(request, operation: operation, scopes: scopes,
                                        progress: { [options] done in options.progress?.advanced(id: id, done: start + done) },
                                        retryAfterLogin: false)
                guard response.status == 202 || response.status == 201 || response.status == 204 else {
                    throw failure(operation + " (chunk \(start)-\(end - 1))", response)
                }
                if let range = response.header("Range"), let last = range.split(separator: "-").last.flatMap({ Int64($0) }),
                   last != end - 1 {
                    throw RegistryError.status(operation, 502, detail: "the registry holds bytes 0-\(last) after receiving 0-\(end - 1)")
                }
                if let next = response.header("Location") { location = resolve(location: next) }
                offset = end
            }
            var close = HTTPRequest(method: "PUT", url: appendingQuery(location, "digest", descriptor.digest.description),
                                    headers: [octet])
            close.allowsTransparentResend = false
            let response = try send(close, operation: operation, scopes: scopes, retryAfterLogin: false)
            guard response.status == 201 else { throw failure(operation + " (closing the session)", response) }
            try checkDigestHeader(response, descriptor, operation)
            return .uploaded
        }
    }

    /// Checks `Docker-Content-Digest`, when the registry sends it, against the digest sent.
    func checkDigestHeader(_ response: HTTPResponse, _ descriptor: Descriptor, _ operation: String) throws {
        if let header = response.header("Docker-Content-Digest"), header != descriptor.digest.description {
            throw RegistryError.digestMismatch(operation, expected: descriptor.digest.description, actual: header)
        }
    }
}
