import AWSCore
import Foundation
import KilnCrypto
import KilnHTTP

extension S3Client {
    /// CreateBucket in the client's region. A bucket this account already owns counts as created
    /// (`BucketAlreadyOwnedByYou`); a name someone else owns throws `BucketAlreadyExists`.
    public func createBucket(_ bucket: String) throws {
        var body: [UInt8] = []
        let region = client.config.region
        if region != "us-east-1" {
            // us-east-1 is the default location and refuses being named as a constraint.
            var xml = XMLWriter()
            xml.element("CreateBucketConfiguration", attributes: [("xmlns", S3Client.namespace)]) {
                $0.element("LocationConstraint", region)
            }
            body = xml.bytes
        }
        let request = AWSRequest(operation: "CreateBucket", method: "PUT", path: "",
                                 headers: body.isEmpty ? [] : [("Content-Type", "application/xml")],
                                 body: body.isEmpty ? .none : .bytes(body))
        do {
            _ = try send(request, bucket: bucket, key: nil)
        } catch let error as AWSError where error.code == "BucketAlreadyOwnedByYou" {
            return
        }
    }

    /// PutBucketLifecycleConfiguration: replaces the bucket's lifecycle rules with `rules`.
    ///
    /// S3 requires an integrity checksum on this call; kiln sends `x-amz-checksum-sha256` (the
    /// flexible-checksum alternative to `Content-MD5`).
    public func putBucketLifecycleConfiguration(bucket: String, rules: [LifecycleRule]) throws {
        var xml = XMLWriter()
        xml.element("LifecycleConfiguration", attributes: [("xmlns", S3Client.namespace)]) { xml in
            for rule in rules {
                xml.element("Rule") { xml in
                    xml.element("ID", rule.id)
                    xml.element("Filter") { $0.element("Prefix", rule.prefix) }
                    xml.element("Status", rule.enabled ? "Enabled" : "Disabled")
                    xml.element("Expiration") { $0.element("Days", String(rule.expirationDays)) }
                }
            }
        }
        let body = xml.bytes
        let checksum = Data(SHA256.hash(body).bytes).base64EncodedString()
        let request = AWSRequest(operation: "PutBucketLifecycleConfiguration", method: "PUT", path: "",
                                 query: [("lifecycle", "")],
                                 headers: [("Content-Type", "application/xml"),
                                           ("x-amz-sdk-checksum-algorithm", "SHA256"),
                                           ("x-amz-checksum-sha256", checksum)],
                                 body: .bytes(body))
        _ = try send(request, bucket: bucket, key: nil)
    }

    /// GetBucketLifecycleConfiguration: the bucket's expiry rules; empty when it has none.
    /// Rules kiln does not write (transitions, tag filters) are read as far as `LifecycleRule` goes.
    public func getBucketLifecycleConfiguration(bucket: String) throws -> [LifecycleRule] {
        let request = AWSRequest(operation: "GetBucketLifecycleConfiguration", method: "GET", path: "",
                                 query: [("lifecycle", "")])
        let response: HTTPResponse
        do {
            response = try send(request, bucket: bucket, key: nil)
        } catch let error as AWSError where error.code == "NoSuchLifecycleConfiguration" {
            return []
        }
        guard let xml = XMLNode.parse(response.body) else {
            throw AWSError(service: client.service, operation: request.operation, code: "InvalidResponse",
                           message: "the answer is not XML", status: response.status)
        }
        return xml.children("Rule").map { rule in
            LifecycleRule(id: rule.string("ID") ?? "",
                          prefix: rule.child("Filter")?.string("Prefix")
                              ?? rule.child("Filter")?.child("And")?.string("Prefix") ?? rule.string("Prefix") ?? "",
                          expirationDays: rule.child("Expiration")?.string("Days").flatMap { Int($0) } ?? 0,
                          enabled: rule.string("Status") == "Enabled")
        }
    }
}
