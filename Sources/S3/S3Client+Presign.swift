import AWSCore
import Foundation
import SigV4

extension S3Client {
    /// A presigned URL for `GET` (download) or `PUT` (upload, e.g. `curl -T FILE URL`) of one object,
    /// valid for `expires` seconds (1 s to 7 days). Anyone holding it can use it until then, so treat it
    /// as a secret: kiln passes it in user-data, never in logs.
    public func presignedURL(method: String, bucket: String, key: String, expires: Int) throws -> String {
        let operation = "Presign\(method.uppercased())"
        guard ["GET", "PUT"].contains(method.uppercased()) else {
            throw AWSError(service: client.service, operation: operation, code: "InvalidInput",
                           message: "presigned URLs are made for GET or PUT, not \(method)", status: 0)
        }
        guard (1...S3Client.maxPresignExpiry).contains(expires) else {
            throw AWSError(service: client.service, operation: operation, code: "InvalidInput",
                           message: "a presigned URL must expire within 1 to \(S3Client.maxPresignExpiry) seconds, not \(expires)",
                           status: 0)
        }
        let credentials: Credentials
        do {
            credentials = try client.config.credentials.credentials()
        } catch {
            throw AWSError(service: client.service, operation: operation, code: "NoCredentials",
                           message: "\(error)", status: 0)
        }
        let signer = SigV4Signer(credentials: credentials, region: client.config.region, service: client.service)
        return signer.presignedURL(method: method.uppercased(), url: objectURL(bucket: bucket, key: key), headers: [],
                                   expires: expires, date: client.now)
    }
}
