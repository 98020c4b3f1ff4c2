import AWSCore
import Foundation
import KilnHTTP
import SigV4

/// The S3 client (REST-XML): the bucket for build logs and result records, objects streamed to and from
/// files, lifecycle expiry, and presigned URLs for the build instance.
/// https://docs.aws.amazon.com/AmazonS3/latest/API/Welcome.html
///
/// Addressing: virtual-hosted style (`https://BUCKET.s3.REGION.amazonaws.com/KEY`) on AWS's own endpoints
/// when the bucket name is a DNS label; path style (`ENDPOINT/BUCKET/KEY`) when the endpoint is an
/// override (moto, MinIO) or the name has dots (which a wildcard TLS certificate does not cover).
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/VirtualHosting.html
public struct S3Client: Sendable {
    /// The transport (endpoint, signing as `s3`, retries).
    public let client: AWSClient

    /// The longest a presigned URL may live: 7 days (SigV4 query signing's limit).
    public static let maxPresignExpiry = 604_800

    /// Creates a client for the configuration's region and endpoint.
    public init(config: AWSConfig) throws {
        client = try AWSClient(service: "s3", config: config)
    }

    // MARK: Addressing

    /// The unsigned URL of an object (or, with `key` nil, of the bucket).
    public func objectURL(bucket: String, key: String?) -> String {
        let address = self.address(bucket: bucket, key: key)
        return client.url(path: address.path, query: [], host: address.host)
    }

    /// Where a request for `bucket` (and `key`) goes: a host for virtual-hosted style (nil keeps the
    /// endpoint's) and the URI-encoded path.
    func address(bucket: String, key: String?) -> (host: String?, path: String) {
        let encodedKey = key.map { URIEncoding.encode($0, encodeSlash: false) } ?? ""
        if !client.endpoint.isOverride, S3Client.isVirtualHostable(bucket) {
            return ("\(bucket).\(client.endpoint.host)", "/" + encodedKey)
        }
        let bucketPath = "/" + URIEncoding.encode(bucket, encodeSlash: true)
        return (nil, key == nil ? bucketPath : bucketPath + "/" + encodedKey)
    }

    /// Whether a bucket name can be a DNS label under the S3 endpoint (and a wildcard certificate's):
    /// 3–63 lower-case letters, digits and hyphens, starting and ending with a letter or digit.
    /// https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
    static func isVirtualHostable(_ bucket: String) -> Bool {
        let bytes = Array(bucket.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alphanumeric(_ byte: UInt8) -> Bool {
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
        guard let first = bytes.first, let last = bytes.last, alphanumeric(first), alphanumeric(last) else { return false }
        return bytes.allSatisfy { alphanumeric($0) || $0 == UInt8(ascii: "-") }
    }

    // MARK: Internals

    /// The S3 XML namespace of request bodies.
    static let namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

    func send(_ request: AWSRequest, bucket: String, key: String?, bodyTo: String? = nil) throws -> HTTPResponse {
        var request = request
        let address = self.address(bucket: bucket, key: key)
        request.path = address.path.isEmpty ? "/" : address.path
        return try client.send(request, host: address.host, bodyTo: bodyTo, parseError: RESTXMLProtocol.parseError)
    }

    static func putHeaders(contentType: String?, tagging: [Tag]) -> [(String, String)] {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        if !tagging.isEmpty {
            // The tag set as a URL query string: https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
            let query = tagging.map {
                "\(URIEncoding.encode($0.key, encodeSlash: true))=\(URIEncoding.encode($0.value, encodeSlash: true))"
            }
            headers.append(("x-amz-tagging", query.joined(separator: "&")))
        }
        return headers
    }

    static func head(of response: HTTPResponse) -> HeadObjectOutput {
        var metadata: [String: String] = [:]
        for (name, value) in response.headers where name.lowercased().hasPrefix("x-amz-meta-") {
            metadata[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return HeadObjectOutput(contentLength: response.header("Content-Length").flatMap { Int64($0) },
                                contentType: response.header("Content-Type"),
                                eTag: response.header("ETag"),
                                lastModified: response.header("Last-Modified").flatMap(parseHTTPDate),
                                metadata: metadata)
    }

    /// An RFC 7231 date (`Tue, 15 Nov 1994 08:12:31 GMT`).
    static func parseHTTPDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
