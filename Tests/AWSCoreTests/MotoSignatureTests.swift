import Foundation
import Testing
import KilnTestSupport
import SigV4
@testable import AWSCore

/// moto with signature checking on (INITIAL_NO_AUTH_ACTION_COUNT): kiln's signatures must be right
/// for moto to accept them, and a wrong secret must be refused with a clear error.
@Suite("Signatures checked by moto", .serialized)
struct MotoSignatureTests {
    /// Creates an IAM user with an access key and an allow-all policy while moto still accepts
    /// unauthenticated requests (the first three), and returns the key.
    func makeUser(_ moto: MotoServer) throws -> Credentials {
        let iam = try AWSClient(service: "iam", config: AWSConfig(region: "us-east-1", credentials: StaticCredentials(),
                                                                  endpointURL: moto.url, maxAttempts: 1))
        let query = QueryProtocol(version: "2010-05-08")
        _ = try query.call(iam, "CreateUser", [("UserName", "kiln-builder")])
        let policy = #"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
        _ = try query.call(iam, "PutUserPolicy", [("UserName", "kiln-builder"), ("PolicyName", "all"), ("PolicyDocument", policy)])
        let key = try query.call(iam, "CreateAccessKey", [("UserName", "kiln-builder")])
        let accessKey = try #require(key.find("AccessKey"))
        return Credentials(accessKeyID: try #require(accessKey.string("AccessKeyId")),
                           secretAccessKey: try #require(accessKey.string("SecretAccessKey")))
    }

    @Test("calls signed with a real key are accepted; the same calls with a wrong secret are refused")
    func acceptedAndRefused() throws {
        let moto = try MotoServer(authActions: 3)
        let credentials = try makeUser(moto)
        let good = try AWSClient(service: "ec2", config: AWSConfig(region: "us-east-1", credentials: StaticCredentials(value: credentials),
                                                                   endpointURL: moto.url, maxAttempts: 1))
        let vpcs = try QueryProtocol(version: "2016-11-15").call(good, "DescribeVpcs")
        #expect(vpcs.name == "DescribeVpcsResponse")
        // JSON 1.1 too (SSM), with a query-free POST.
        let ssm = try AWSClient(service: "ssm", config: AWSConfig(region: "us-east-1", credentials: StaticCredentials(value: credentials),
                                                                  endpointURL: moto.url, maxAttempts: 1))
        struct Input: Encodable { var Path = "/"; var Recursive = true }
        struct Output: Decodable {}
        _ = try JSONProtocol(targetPrefix: "AmazonSSM").call(ssm, "GetParametersByPath", Input(), as: Output.self)

        var wrong = credentials
        wrong.secretAccessKey = String(credentials.secretAccessKey.reversed())
        let bad = try AWSClient(service: "ec2", config: AWSConfig(region: "us-east-1", credentials: StaticCredentials(value: wrong),
                                                                  endpointURL: moto.url, maxAttempts: 1))
        do {
            _ = try QueryProtocol(version: "2016-11-15").call(bad, "DescribeVpcs")
            Issue.record("a wrong secret was accepted")
        } catch let error as AWSError {
            #expect(["SignatureDoesNotMatch", "AuthFailure"].contains(error.code), "\(error)")
            #expect(error.description.contains("secret access key") || error.description.contains("validate the credentials"))
            #expect(!error.description.contains(wrong.secretAccessKey) && !error.description.contains(credentials.secretAccessKey))
        }
    }
}
