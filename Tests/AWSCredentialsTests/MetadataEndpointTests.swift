import AWSCredentials
import Foundation
import SigV4
import Testing

/// Container credentials and IMDSv2 against a loopback server.
@Suite struct MetadataEndpointTests {
    @Test func containerFullURIWithTokenFile() throws {
        try withServer({ request in
            guard request.path == "/v1/credentials" else { return .init(404, "") }
            return .init(200, metadataJSON(keyID: "ASIAPOD", secret: "pod-secret", token: "pod-token",
                                           expiration: "2030-01-01T00:00:00.123Z"))
        }) { server in
            try withSandbox { sandbox in
                let tokenFile = try sandbox.write("eks/token", "pod-identity-token\n")
                let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.base + "/v1/credentials",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "loses-to-the-file",
                ]), sts: nil)
                let credentials = try chain.credentials()
                #expect(credentials.accessKeyID == "ASIAPOD")
                #expect(credentials.secretAccessKey == "pod-secret")
                #expect(credentials.sessionToken == "pod-token")
                #expect(credentials.source == "container")
                #expect(credentials.expiration.map { abs($0.timeIntervalSince1970 - 1_893_456_000.123) < 0.001 } == true)
                #expect(server.requests.map(\.method) == ["GET"])
                #expect(server.requests.first?.headers["authorization"] == "pod-identity-token")
            }
        }
    }

    @Test func containerRelativeURIWithOverriddenHostAndTokenVariable() throws {
        try withServer({ request in
            request.path == "/v2/credentials/task-id" ? .init(200, metadataJSON(keyID: "ASIATASK", secret: "s", token: "t"))
                : .init(404, "")
        }) { server in
            try withSandbox { sandbox in
                let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-id",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Basic ecs-token",
                ]), sts: nil, containerHost: server.base)
                let credentials = try chain.credentials()
                #expect(credentials.accessKeyID == "ASIATASK")
                #expect(server.requests.first?.headers["authorization"] == "Basic ecs-token")
            }
        }
    }

    @Test func containerErrorStatusStopsTheChain() throws {
        try withServer({ _ in .init(403, #"{"code": "AccessDenied", "message": "bad token"}"#) }) { server in
            try withSandbox { sandbox in
                let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.base + "/creds?secret=QUERYSECRET",
                ]), sts: nil)
                let error = try #require(credentialsError { try chain.credentials() })
                #expect(error.description.contains("container credentials from \(server.base)/creds failed: HTTP status 403 "
                                                   + "(AccessDenied: bad token)"))
                #expect(!error.description.contains("QUERYSECRET"))
            }
        }
    }

    @Test(arguments: [
        ("http://169.254.170.2/v1/creds", true),
        ("http://169.254.170.23/v1/credentials", true),
        ("http://[fd00:ec2::23]/v1/credentials", true),
        ("http://127.0.0.1:8080/creds", true),
        ("http://127.1.2.3/creds", true),
        ("http://localhost:9000/creds", true),
        ("http://[::1]:9000/creds", true),
        ("https://creds.example.com/creds", true),
        ("http://creds.example.com/creds", false),
        ("http://169.254.169.254/latest", false),
        ("http://127.0.0.1.evil.example/creds", false),
        ("http://user@10.0.0.1/creds", false),
        ("ftp://127.0.0.1/creds", false),
    ])
    func containerFullURIHostsAllowed(url: String, allowed: Bool) throws {
        // describeSources validates the URL without sending anything, so no test leaves loopback.
        let chain = CredentialChain(options: .init(), environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url], sts: nil)
        let line = try #require(chain.describeSources.first { $0.hasPrefix("4. container: ") })
        #expect(line.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI: error: the container credentials URL") == !allowed, "\(line)")
    }

    @Test func imdsV2TokenFirstThenCredentialsWithTheToken() throws {
        try withServer({ request in
            switch (request.method, request.path) {
            case ("PUT", "/latest/api/token"):
                return request.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600" ? .init(200, "IMDS-SESSION") : .init(400, "")
            case (_, _) where request.headers["x-aws-ec2-metadata-token"] != "IMDS-SESSION":
                return .init(401, "")
            case ("GET", "/latest/meta-data/iam/security-credentials/"):
                return .init(200, "kiln-builder\n")
            case ("GET", "/latest/meta-data/iam/security-credentials/kiln-builder"):
                return .init(200, metadataJSON(keyID: "ASIAEC2", secret: "ec2-secret", token: "ec2-token",
                                               expiration: "2031-05-06T07:08:09Z"))
            case ("GET", "/latest/meta-data/placement/region"):
                return .init(200, "ap-southeast-2")
            default:
                return .init(404, "")
            }
        }) { server in
            try withSandbox { sandbox in
                let environment = sandbox.environment(["AWS_EC2_METADATA_DISABLED": "false",
                                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base + "/"])
                let credentials = try CredentialChain(options: .init(), environment: environment, sts: nil).credentials()
                #expect(credentials.accessKeyID == "ASIAEC2")
                #expect(credentials.sessionToken == "ec2-token")
                #expect(credentials.source == "instance metadata (role kiln-builder)")
                #expect(credentials.expiration == CredentialsTestDates.may2031)
                let requests = server.requests
                #expect(requests.map { "\($0.method) \($0.path)" } == [
                    "PUT /latest/api/token",
                    "GET /latest/meta-data/iam/security-credentials/",
                    "GET /latest/meta-data/iam/security-credentials/kiln-builder",
                ])
                #expect(requests.first?.headers["x-aws-ec2-metadata-token-ttl-seconds"] == "21600")
                #expect(requests.dropFirst().allSatisfy { $0.headers["x-aws-ec2-metadata-token"] == "IMDS-SESSION" })

                #expect(try InstanceMetadataClient(environment: environment).region() == "ap-southeast-2")
                #expect(try RegionResolver.resolve(option: nil, profile: nil, environment: environment,
                                                   instanceMetadata: InstanceMetadataClient(environment: environment))
                        == "ap-southeast-2")
            }
        }
    }

    @Test func imdsWithoutARoleOrWithoutTokenSupport() throws {
        try withServer({ request in
            request.method == "PUT" ? .init(200, "t") : .init(404, "")
        }) { server in
            let client = InstanceMetadataClient(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base])
            let error = try #require(credentialsError { try client.credentials() })
            #expect(error.description.contains("no IAM role is attached to this instance"))
        }
        try withServer({ _ in .init(403, "") }) { server in
            let client = InstanceMetadataClient(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base])
            let error = try #require(credentialsError { try client.credentials() })
            #expect(error.description.contains("the IMDSv2 token request got HTTP status 403"))
            #expect(server.requests.count == 1)  // no IMDSv1 fallback
        }
    }

    @Test func imdsEndpointSelection() {
        #expect(InstanceMetadataClient(environment: [:]).endpoint == "http://169.254.169.254")
        #expect(InstanceMetadataClient(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]).endpoint
            == "http://[fd00:ec2::254]")
        #expect(InstanceMetadataClient(environment: ["AWS_EC2_METADATA_DISABLED": "TRUE"]).isDisabled)
        #expect(!InstanceMetadataClient(environment: ["AWS_EC2_METADATA_DISABLED": "false"]).isDisabled)
    }
}

enum CredentialsTestDates {
    /// 2031-05-06T07:08:09Z
    static let may2031 = Date(timeIntervalSince1970: 1_935_817_689)
}
