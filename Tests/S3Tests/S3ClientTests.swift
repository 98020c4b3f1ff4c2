import AWSCore
import Foundation
import KilnTestSupport
import S3
import Testing

@Suite(.moto)
struct S3ClientTests {
    let s3: S3Client

    init() throws {
        s3 = try S3Client(config: MotoScope.config())
    }

    /// GetBucketLocation, read with the raw transport (kiln itself does not need it).
    func location(of bucket: String, client: S3Client) throws -> String {
        let request = AWSRequest(operation: "GetBucketLocation", method: "GET", path: "/\(bucket)", query: [("location", "")])
        let response = try client.client.send(request, parseError: RESTXMLProtocol.parseError)
        return try #require(XMLNode.parse(response.body)).text
    }

    @Test func createBucketIsIdempotentInUSEast1() throws {
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        try s3.createBucket(bucket)
        #expect(try location(of: bucket, client: s3) == "")
    }

    @Test func createBucketElsewhereSendsTheLocationConstraint() throws {
        let s3 = try S3Client(config: MotoScope.config(region: "eu-west-1"))
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        // The second call is answered BucketAlreadyOwnedByYou, which counts as success.
        try s3.createBucket(bucket)
        #expect(try location(of: bucket, client: s3) == "eu-west-1")
    }

    @Test func fiveMegabyteFileRoundTripsThroughDisk() throws {
        let directory = try TempDirectory()
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        let bytes = testBytes(5 * 1024 * 1024 + 17)
        let source = directory.path + "/build.log"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let key = "builds/stats/\(unique("b"))/build.log"

        let eTag = try s3.putObject(bucket: bucket, key: key, file: source, contentType: "text/plain; charset=utf-8",
                                    tagging: [Tag(key: "kiln:build", value: "b 1/2"), Tag(key: "kind", value: "log")])
        #expect(eTag?.isEmpty == false)

        let head = try #require(try s3.headObject(bucket: bucket, key: key))
        #expect(head.contentLength == Int64(bytes.count))
        #expect(head.contentType == "text/plain; charset=utf-8")
        #expect(head.eTag == eTag)
        #expect(head.lastModified.map { abs($0.timeIntervalSinceNow) < 300 } == true)

        let target = directory.path + "/downloaded.log"
        let output = try s3.getObject(bucket: bucket, key: key, to: target)
        #expect(output.body.isEmpty)
        #expect(output.head.contentLength == Int64(bytes.count))
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(bytes))

        // The tagging header arrived as two tags, the space and slash decoded.
        let tagging = try s3.client.send(AWSRequest(operation: "GetObjectTagging", method: "GET",
                                                    path: "/\(bucket)/\(key)", query: [("tagging", "")]),
                                         parseError: RESTXMLProtocol.parseError)
        let tags = try #require(XMLNode.parse(tagging.body)).find("TagSet")?.children("Tag") ?? []
        #expect(Dictionary(uniqueKeysWithValues: tags.map { ($0.string("Key") ?? "", $0.string("Value") ?? "") })
            == ["kiln:build": "b 1/2", "kind": "log"])

        try s3.deleteObject(bucket: bucket, key: key)
        #expect(try s3.headObject(bucket: bucket, key: key) == nil)
        try s3.deleteObject(bucket: bucket, key: key)
    }

    @Test(arguments: ["plain.txt", "dir/sub dir/file name.txt", "unicode/čaj-☕.json", "reserved/a+b=c&d;e,f@g$h!'()*.bin",
                      "tilde~and%percent", "trailing/slash/"])
    func awkwardKeysRoundTripInMemory(key: String) throws {
        let bucket = unique("kiln-keys")
        try s3.createBucket(bucket)
        let bytes = Array("contents of \(key)".utf8)
        try s3.putObject(bucket: bucket, key: key, bytes: bytes, contentType: "application/octet-stream")
        let output = try s3.getObject(bucket: bucket, key: key)
        #expect(output.body == bytes)
        #expect(output.head.contentLength == Int64(bytes.count))
        try s3.deleteObject(bucket: bucket, key: key)
    }

    @Test func missingKeyIsNoSuchKey() throws {
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        let error = try #require(throws: AWSError.self) { try s3.getObject(bucket: bucket, key: "nope/none.log") }
        #expect(error.code == "NoSuchKey")
        #expect(error.operation == "GetObject")
        #expect(error.status == 404)

        let directory = try TempDirectory()
        let target = directory.path + "/none.log"
        let streamed = try #require(throws: AWSError.self) { try s3.getObject(bucket: bucket, key: "nope", to: target) }
        #expect(streamed.code == "NoSuchKey")
        #expect(!FileManager.default.fileExists(atPath: target))

        #expect(try s3.headObject(bucket: bucket, key: "nope/none.log") == nil)
    }

    @Test func missingBucketIsNoSuchBucket() throws {
        let error = try #require(throws: AWSError.self) {
            try s3.putObject(bucket: unique("kiln-missing"), key: "k", bytes: [1])
        }
        #expect(error.code == "NoSuchBucket")
        #expect(error.status == 404)
    }

    @Test func lifecycleExpiresBuildLogs() throws {
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        #expect(try s3.getBucketLifecycleConfiguration(bucket: bucket).isEmpty)
        let rules = [LifecycleRule(id: "kiln-build-logs", prefix: "builds/", expirationDays: 30),
                     LifecycleRule(id: "kiln-results", prefix: "results/", expirationDays: 90, enabled: false)]
        try s3.putBucketLifecycleConfiguration(bucket: bucket, rules: rules)
        #expect(try s3.getBucketLifecycleConfiguration(bucket: bucket) == rules)
    }

    @Test func presignedPutAndGetWorkWithPlainCurl() throws {
        guard let curl = requireProgram("curl", install: "apt-get install curl") else { return }
        let directory = try TempDirectory()
        let bucket = unique("kiln-logs")
        try s3.createBucket(bucket)
        let key = "builds/\(unique("b"))/kiln build.log"
        let bytes = testBytes(256 * 1024)
        let source = directory.path + "/upload.log"
        try Data(bytes).write(to: URL(fileURLWithPath: source))

        // As the build instance does: curl --upload-file FILE URL.
        let put = try s3.presignedURL(method: "PUT", bucket: bucket, key: key, expires: 3600)
        #expect(put.contains("X-Amz-Signature="))
        let upload = try runProgram(curl, ["-fsS", "-T", source, put])
        #expect(upload.status == 0, "curl -T failed: \(upload.output)")
        #expect(try s3.getObject(bucket: bucket, key: key).body == bytes)

        let get = try s3.presignedURL(method: "GET", bucket: bucket, key: key, expires: 60)
        let target = directory.path + "/download.log"
        let download = try runProgram(curl, ["-fsS", "-o", target, get])
        #expect(download.status == 0, "curl download failed: \(download.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == Data(bytes))
    }

    @Test func presignedURLsRejectBadArguments() throws {
        #expect(throws: AWSError.self) { try s3.presignedURL(method: "POST", bucket: "b-b-b", key: "k", expires: 60) }
        #expect(throws: AWSError.self) { try s3.presignedURL(method: "GET", bucket: "b-b-b", key: "k", expires: 0) }
        #expect(throws: AWSError.self) { try s3.presignedURL(method: "GET", bucket: "b-b-b", key: "k", expires: 604_801) }
    }

    struct AddressCase: Sendable, CustomTestStringConvertible {
        var bucket: String
        var key: String?
        var endpoint: String?
        var expected: String
        var testDescription: String { "\(bucket) via \(endpoint ?? "AWS")" }
    }

    @Test(arguments: [
        AddressCase(bucket: "kiln-logs", key: "builds/a b/log.txt", endpoint: nil,
                    expected: "https://kiln-logs.s3.eu-west-1.amazonaws.com/builds/a%20b/log.txt"),
        AddressCase(bucket: "kiln-logs", key: nil, endpoint: nil, expected: "https://kiln-logs.s3.eu-west-1.amazonaws.com/"),
        AddressCase(bucket: "kiln.logs.example", key: "x/y", endpoint: nil,
                    expected: "https://s3.eu-west-1.amazonaws.com/kiln.logs.example/x/y"),
        AddressCase(bucket: "Kiln_Logs", key: "x", endpoint: nil, expected: "https://s3.eu-west-1.amazonaws.com/Kiln_Logs/x"),
        AddressCase(bucket: "kiln-logs", key: "x/y+z", endpoint: "http://127.0.0.1:5000/",
                    expected: "http://127.0.0.1:5000/kiln-logs/x/y%2Bz"),
    ])
    func addressing(_ test: AddressCase) throws {
        let config = AWSConfig(region: "eu-west-1", credentials: MotoCredentials(), endpointURL: test.endpoint)
        let s3 = try S3Client(config: config)
        #expect(s3.objectURL(bucket: test.bucket, key: test.key) == test.expected)
        if let key = test.key {
            let presigned = try s3.presignedURL(method: "GET", bucket: test.bucket, key: key, expires: 900)
            #expect(presigned.hasPrefix(test.expected + "?"))
            #expect(presigned.contains("X-Amz-Expires=900"))
            #expect(!presigned.contains(MotoServer.secretAccessKey))
        }
    }
}
