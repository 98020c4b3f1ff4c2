import Foundation
import KilnHTTP
import OCI

/// A manifest or index as the registry served it: the exact bytes (their digest is the content's
/// identity, so they are stored, never re-encoded), the media type and the digest.
public struct FetchedManifest: Sendable {
    /// The bytes as received.
    public var bytes: [UInt8]
    /// The media type (Content-Type, or the document's own `mediaType`).
    public var mediaType: String
    /// The SHA-256 of `bytes`.
    public var digest: OCI.Digest

    /// The descriptor of this manifest.
    public var descriptor: Descriptor { Descriptor(mediaType: mediaType, digest: digest, size: Int64(bytes.count)) }
    /// True for an OCI index or Docker manifest list.
    public var isIndex: Bool { MediaType.indexTypes.contains(mediaType) }
}

/// Manifests (distribution-spec v1.1 "Pulling manifests", "Pushing Manifests").
extension RegistryClient {
    /// The media types kiln accepts for a manifest: OCI and Docker schema-2, images and indexes.
    static let manifestAccept = [MediaType.imageIndex, MediaType.imageManifest, MediaType.dockerManifestList,
                                 MediaType.dockerManifest].joined(separator: ", ")

    /// GET /v2/<name>/manifests/<reference>: the manifest's bytes, verified against the digest when the
    /// reference is one, and against `Docker-Content-Digest` when the registry sends it.
    public func fetchManifest(_ reference: String, from repository: String) throws -> FetchedManifest {
        let operation = "GET manifest \(registry)/\(repository):\(reference)"
        return try withRetries(operation) { _ in
            let response = try send(HTTPRequest(method: "GET", url: url(repository, "manifests/\(reference)"),
                                                headers: [("Accept", Self.manifestAccept)]),
                                    operation: operation, scopes: [Self.scope(repository, push: false)])
            guard response.status == 200 else { throw failure(operation, response) }
            guard response.body.count <= 4 << 20 else {
                throw RegistryError.invalidResponse("\(operation): the manifest is larger than 4 MiB")
            }
            let digest = OCI.Digest.sha256(of: response.body)
            if reference.hasPrefix("sha256:"), reference != digest.description {
                throw RegistryError.digestMismatch("manifest \(registry)/\(repository)@\(reference)", expected: reference,
                                                   actual: digest.description)
            }
            if let header = response.header("Docker-Content-Digest"), header.hasPrefix("sha256:"), header != digest.description {
                throw RegistryError.digestMismatch("manifest \(registry)/\(repository):\(reference)", expected: header,
                                                   actual: digest.description)
            }
            struct Typed: Decodable { var mediaType: String? }
            let declared = (try? JSONDecoder().decode(Typed.self, from: Data(response.body)))?.mediaType
            let contentType = response.header("Content-Type")?.split(separator: ";").first
                .map { $0.trimmingCharacters(in: .whitespaces) }
            let known = MediaType.manifestTypes.union(MediaType.indexTypes)
            guard let mediaType = [declared, contentType].compactMap({ $0 }).first(where: known.contains) else {
                throw RegistryError.invalidResponse("\(operation): the registry served media type "
                    + "'\(contentType ?? declared ?? "none")', which is neither an OCI nor a Docker schema-2 manifest or index")
            }
            return FetchedManifest(bytes: response.body, mediaType: mediaType, digest: digest)
        }
    }

    /// HEAD /v2/<name>/manifests/<reference>: the digest the registry holds for it, or nil on 404.
    public func manifestDigest(_ reference: String, in repository: String) throws -> OCI.Digest? {
        let operation = "HEAD manifest \(registry)/\(repository):\(reference)"
        return try withRetries(operation) { _ in
            let response = try send(HTTPRequest(method: "HEAD", url: url(repository, "manifests/\(reference)"),
                                                headers: [("Accept", Self.manifestAccept)]),
                                    operation: operation, scopes: [Self.scope(repository, push: false)])
            if response.status == 404 { return nil }
            guard response.status == 200 else { throw failure(operation, response) }
            guard let header = response.header("Docker-Content-Digest") else {
                throw RegistryError.invalidResponse("\(operation): the registry sent no Docker-Content-Digest")
            }
            do { return try OCI.Digest(parsing: header) } catch {
                throw RegistryError.invalidResponse("\(operation): Docker-Content-Digest '\(header)' is not a sha256 digest")
            }
        }
    }

    /// PUT /v2/<name>/manifests/<reference> with the exact bytes and their media type; checks the
    /// `Docker-Content-Digest` the registry answers with.
    public func putManifest(_ bytes: [UInt8], mediaType: String, reference: String, in repository: String) throws {
        let operation = "PUT manifest \(registry)/\(repository):\(reference)"
        let digest = OCI.Digest.sha256(of: bytes)
        try withRetries(operation) { _ in
            let response = try send(HTTPRequest(method: "PUT", url: url(repository, "manifests/\(reference)"),
                                                headers: [("Content-Type", mediaType)], body: .bytes(bytes)),
                                    operation: operation, scopes: [Self.scope(repository, push: true)])
            guard response.status == 201 || response.status == 200 else { throw failure(operation, response) }
            if let header = response.header("Docker-Content-Digest"), header != digest.description {
                throw RegistryError.digestMismatch(operation, expected: digest.description, actual: header)
            }
        }
    }
}
