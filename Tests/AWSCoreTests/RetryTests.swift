import Foundation
import Testing
import KilnTestSupport
import KilnHTTP
@testable import AWSCore

@Suite("Retries, standard mode")
struct RetryTests {
    let query = QueryProtocol(version: "2016-11-15")

    @Test("throttling and 5xx answers are retried with full-jitter backoff, then succeed", arguments: [
        (400, "RequestLimitExceeded"), (400, "Throttling"), (503, "Unavailable"), (500, "InternalError"), (502, "BadGateway"),
    ])
    func retriedThenSuccess(_ failure: (Int, String)) throws {
        let server = try ScriptedServer([
            ["status": failure.0, "body": ec2Error(failure.1)], ["status": failure.0, "body": ec2Error(failure.1)],
            ["status": 200, "body": ec2OK],
        ])
        let sleeps = SleepRecorder()
        let client = try AWSClient(service: "ec2", config: config(server.url, sleeps: sleeps, random: { 0.5 }))
        let xml = try query.call(client, "DescribeVpcs")
        #expect(xml.string("requestId") == "r-1")
        #expect(server.requests.count == 3)
        // Full jitter: random × min(20, base × 2^(attempt-1)) with base 1 s and random 0.5.
        #expect(sleeps.delays == [0.5, 1.0])
    }

    @Test("three attempts by default, then the last error is thrown with its details")
    func givesUp() throws {
        let server = try ScriptedServer([["status": 400, "body": ec2Error("RequestLimitExceeded", "Request limit exceeded.")]])
        let client = try AWSClient(service: "ec2", config: config(server.url))
        do {
            _ = try query.call(client, "DescribeVpcs")
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect(error.code == "RequestLimitExceeded" && error.status == 400 && error.operation == "DescribeVpcs")
            #expect(error.requestID == "req-RequestLimitExceeded")
            #expect(error.isThrottling)
            #expect(error.description.contains("throttling"))
        }
        #expect(server.requests.count == 3)
    }

    @Test("AWS_MAX_ATTEMPTS and the option change the number of attempts")
    func maxAttempts() throws {
        let server = try ScriptedServer([["status": 503, "body": ""]])
        let client = try AWSClient(service: "ec2", config: config(server.url, maxAttempts: 5))
        #expect(throws: AWSError.self) { try query.call(client, "DescribeVpcs") }
        #expect(server.requests.count == 5)
        let fromEnvironment = AWSConfig(region: "us-east-1", credentials: StaticCredentials(), environment: ["AWS_MAX_ATTEMPTS": "2"])
        #expect(fromEnvironment.maxAttempts == 2)
    }

    @Test("client errors are not retried")
    func notRetried() throws {
        let server = try ScriptedServer([["status": 400, "body": ec2Error("InvalidParameterValue")]])
        let client = try AWSClient(service: "ec2", config: config(server.url))
        #expect(throws: AWSError.self) { try query.call(client, "DescribeVpcs") }
        #expect(server.requests.count == 1)
    }

    @Test("a dropped connection is retried as a connection error")
    func dropped() throws {
        let server = try ScriptedServer([["drop": true], ["status": 200, "body": ec2OK]])
        let client = try AWSClient(service: "ec2", config: config(server.url))
        _ = try query.call(client, "DescribeVpcs")
        #expect(server.requests.count == 2)
    }

    @Test("a retry after a lost answer re-sends the same ClientToken, so EC2 carries it out once")
    func clientTokenKept() throws {
        let server = try ScriptedServer([["drop": true], ["status": 200, "body": ec2OK]])
        let client = try AWSClient(service: "ec2", config: config(server.url))
        _ = try query.call(client, "RunInstances", [("ImageId", "ami-12345678"), ("ClientToken", "kiln-b-1-run")])
        let bodies = server.requests.map(\.body)
        #expect(bodies.count == 2 && bodies[0] == bodies[1])
        #expect(bodies[0].contains("ClientToken=kiln-b-1-run"))
        // Each attempt is signed afresh (same date here, so the same signature is fine), never replayed blindly.
        #expect(server.requests.allSatisfy { $0.headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=") == true })
    }

    @Test("connection refused ends as a ConnectionError that says what to check")
    func refused() throws {
        let port = try freeLoopbackPort()
        let client = try AWSClient(service: "ec2", config: config("http://127.0.0.1:\(port)", maxAttempts: 2))
        do {
            _ = try query.call(client, "DescribeVpcs")
            Issue.record("expected an error")
        } catch let error as AWSError {
            #expect(error.code == "ConnectionError" && error.status == 0)
            #expect(error.description.contains("--endpoint-url"))
        }
    }

    @Test("a skewed clock is corrected from the service's Date header and the request re-signed")
    func clockSkew() throws {
        let serverDate = "Sat, 21 Nov 2026 12:00:00 GMT"
        let server = try ScriptedServer([
            ["status": 400, "headers": ["Date": serverDate], "body": ec2Error("RequestTimeTooSkewed", "too skewed")],
            ["status": 200, "body": ec2OK],
        ])
        // Our clock is two hours behind the server's.
        let ours = try #require(AWSClient.parseHTTPDate(serverDate)).addingTimeInterval(-7200)
        let client = try AWSClient(service: "ec2", config: config(server.url, clock: { ours }))
        _ = try query.call(client, "DescribeVpcs")
        let dates = server.requests.map { $0.headers["x-amz-date"] ?? "" }
        #expect(dates == ["20261121T100000Z", "20261121T120000Z"])
    }

    @Test("the retry quota stops retries when a service keeps failing")
    func quota() {
        var quota = RetryQuota()
        var granted = 0
        while quota.acquire(cost: 5) { granted += 1 }
        #expect(granted == 100)
        quota.success()
        let afterOneSuccess = quota.acquire(cost: 5)
        #expect(!afterOneSuccess)
    }

    @Test("backoff windows double up to 20 s")
    func backoff() throws {
        let client = try AWSClient(service: "ec2", config: config("http://127.0.0.1:9", random: { 0.999 }))
        let delays = (1...8).map { client.backoff($0) }
        #expect(delays[0] < 1 && delays[1] < 2 && delays[2] < 4)
        #expect(delays.allSatisfy { $0 <= 20 })
        #expect(delays[7] > 19)
    }
}

@Suite("Protocol errors")
struct ProtocolErrorTests {
    @Test("EC2 Query errors")
    func ec2() {
        let error = QueryProtocol.parseError(
            .init(status: 403, headers: [], body: Array(ec2Error("UnauthorizedOperation", "You are not authorized to perform: ec2:RunInstances on resource").utf8)),
            "ec2", "RunInstances")
        #expect(error.code == "UnauthorizedOperation" && error.requestID == "req-UnauthorizedOperation" && error.status == 403)
        #expect(error.description.contains("not allowed to call ec2:RunInstances"))
        #expect(error.description.contains("kiln iam-policy"))
    }

    @Test("STS Query errors")
    func sts() {
        let body = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>abc</RequestId></ErrorResponse>"
        let error = QueryProtocol.parseError(.init(status: 400, headers: [], body: Array(body.utf8)), "sts", "GetCallerIdentity")
        #expect(error.code == "ExpiredToken" && error.requestID == "abc")
        #expect(error.description.contains("refresh your credentials"))
    }

    @Test("JSON 1.1 errors")
    func json() {
        let body = #"{"__type":"com.amazonaws.ssm#ParameterNotFound","message":"Parameter /x not found."}"#
        let error = JSONProtocol.parseError(.init(status: 400, headers: [("x-amzn-RequestId", "j-1")], body: Array(body.utf8)),
                                            "ssm", "GetParameter")
        #expect(error.code == "ParameterNotFound" && error.message == "Parameter /x not found." && error.requestID == "j-1")
        let fromHeader = JSONProtocol.parseError(.init(status: 400, headers: [("x-amzn-ErrorType", "ThrottlingException:http://x")], body: []),
                                                 "ecr", "DescribeImages")
        #expect(fromHeader.code == "ThrottlingException" && fromHeader.isRetryable)
    }

    @Test("S3 REST-XML errors, and HEAD answers without a body")
    func s3() {
        let body = "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><RequestId>s-1</RequestId></Error>"
        let error = RESTXMLProtocol.parseError(.init(status: 404, headers: [], body: Array(body.utf8)), "s3", "GetObject")
        #expect(error.code == "NoSuchKey" && error.requestID == "s-1")
        let head = RESTXMLProtocol.parseError(.init(status: 404, headers: [("x-amz-request-id", "h-1")], body: []), "s3", "HeadObject")
        #expect(head.code == "NotFound" && head.requestID == "h-1")
    }

    @Test("errors never carry credentials")
    func noSecrets() {
        let error = AWSError(service: "ec2", operation: "X", code: "AuthFailure", message: "AWS was not able to validate the provided access credentials", status: 401)
        #expect(!error.description.contains(MotoServer.secretAccessKey))
    }
}
