import AWSCore
import Foundation

extension S3Client {
    /// PutObject from memory; returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, bytes: [UInt8], contentType: String? = nil,
                          tagging: [Tag] = []) throws -> String? {
        let request = AWSRequest(operation: "PutObject", method: "PUT", path: "",
                                 headers: S3Client.putHeaders(contentType: contentType, tagging: tagging),
                                 body: .bytes(bytes))
        return try send(request, bucket: bucket, key: key).header("ETag")
    }

    /// PutObject streamed from the file at `path` (never loaded into memory); returns the ETag.
    /// Over https the payload is signed as `UNSIGNED-PAYLOAD` (TLS protects it) so the file is read
    /// once; over plain http it is hashed first.
    @discardableResult
    public func putObject(bucket: String, key: String, file path: String, contentType: String? = nil,
                          tagging: [Tag] = []) throws -> String? {
        let request = AWSRequest(operation: "PutObject", method: "PUT", path: "",
                                 headers: S3Client.putHeaders(contentType: contentType, tagging: tagging),
                                 body: .file(path: path),
                                 unsignedPayload: client.endpoint.url.lowercased().hasPrefix("https://"))
        return try send(request, bucket: bucket, key: key).header("ETag")
    }

    /// GetObject into memory (for small objects: result records, manifests). A missing key throws
    /// `AWSError` with code `NoSuchKey`.
    public func getObject(bucket: String, key: String) throws -> GetObjectOutput {
        let response = try send(AWSRequest(operation: "GetObject", method: "GET", path: ""), bucket: bucket, key: key)
        return GetObjectOutput(body: response.body, head: S3Client.head(of: response))
    }

    /// GetObject streamed to the file at `path` (created or truncated; removed again on failure).
    /// The returned `body` is empty.
    public func getObject(bucket: String, key: String, to path: String) throws -> GetObjectOutput {
        let response = try send(AWSRequest(operation: "GetObject", method: "GET", path: ""), bucket: bucket, key: key,
                                bodyTo: path)
        return GetObjectOutput(body: [], head: S3Client.head(of: response))
    }

    /// HeadObject: the object's metadata, or nil when there is no such object (HTTP 404; S3 sends no
    /// body with a HEAD answer, so a missing bucket looks the same).
    public func headObject(bucket: String, key: String) throws -> HeadObjectOutput? {
        do {
            let response = try send(AWSRequest(operation: "HeadObject", method: "HEAD", path: ""), bucket: bucket, key: key)
            return S3Client.head(of: response)
        } catch let error as AWSError where error.status == 404 {
            return nil
        }
    }

    /// DeleteObject; deleting a key that does not exist succeeds, as in S3.
    public func deleteObject(bucket: String, key: String) throws {
        _ = try send(AWSRequest(operation: "DeleteObject", method: "DELETE", path: ""), bucket: bucket, key: key)
    }
}
