import AWSCore
import AWSCredentials
import Foundation
import KilnTestSupport
import SigV4
import STS
import Testing

@Suite(.moto)
struct STSClientTests {
    let sts: STSClient
    let moto: MotoServer

    init() throws {
        sts = try STSClient(config: MotoScope.config())
        moto = try #require(MotoScope.current)
    }

    /// An STS client that signs with `credentials`.
    func client(signingWith credentials: Credentials) throws -> STSClient {
        struct Fixed: CredentialProvider {
            let value: Credentials
            func credentials() throws -> Credentials { value }
        }
        return try STSClient(config: AWSConfig(region: "us-east-1", credentials: Fixed(value: credentials),
                                               endpointURL: moto.url, maxAttempts: 1))
    }

    @Test func callerIdentityOfTheTestKeys() throws {
        let identity = try sts.getCallerIdentity()
        #expect(identity.account.count == 12 && identity.account.allSatisfy(\.isNumber))
        #expect(identity.arn.hasPrefix("arn:aws:"))
        #expect(identity.arn.contains(identity.account))
        #expect(!identity.userId.isEmpty)
    }

    @Test func assumedRoleCredentialsActAsTheRole() throws {
        let role = "arn:aws:iam::123456789012:role/kiln-build"
        let result = try sts.assumeRole(roleARN: role, sessionName: "ci-42", externalID: "kiln", durationSeconds: 900)
        let credentials = result.credentials
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.sessionToken?.isEmpty == false)
        let expiration = try #require(credentials.expiration)
        #expect(expiration > Date() && expiration < Date().addingTimeInterval(3600))
        #expect(result.assumedRoleUser?.arn == "arn:aws:sts::123456789012:assumed-role/kiln-build/ci-42")
        #expect(result.assumedRoleUser?.assumedRoleId.hasSuffix(":ci-42") == true)

        // The secret and the token never show in the result's printed or dumped form.
        var dumped = ""
        dump(result, to: &dumped)
        for shown in [result.description, String(describing: result), dumped] {
            #expect(!shown.contains(credentials.secretAccessKey))
            #expect(credentials.sessionToken.map { !shown.contains($0) } == true)
        }

        let identity = try client(signingWith: credentials).getCallerIdentity()
        #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/kiln-build/ci-42")
        #expect(identity.account == "123456789012")
    }

    @Test func stsErrorsAreTypedAWSErrors() throws {
        let error = try #require(throws: AWSError.self) {
            try sts.assumeRole(roleARN: "arn:aws:iam::123456789012:role/kiln-build",
                               sessionName: String(repeating: "s", count: 65))
        }
        #expect(error.code == "ValidationError")
        #expect(error.operation == "AssumeRole")
        #expect(error.service == "sts")
        #expect(error.status == 400)
    }

    @Test func webIdentityCredentialsActAsTheRole() throws {
        let role = "arn:aws:iam::123456789012:role/kiln-ci"
        let result = try sts.assumeRoleWithWebIdentity(roleARN: role, sessionName: "gha-7",
                                                       webIdentityToken: "eyJ.header.payload.signature")
        #expect(result.credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(result.credentials.sessionToken?.isEmpty == false)
        #expect(result.credentials.expiration != nil)
        #expect(result.assumedRoleUser?.arn == "arn:aws:sts::123456789012:assumed-role/kiln-ci/gha-7")
        let identity = try client(signingWith: result.credentials).getCallerIdentity()
        #expect(identity.arn == "arn:aws:sts::123456789012:assumed-role/kiln-ci/gha-7")
    }

    @Test func webIdentityRequestIsUnsigned() throws {
        let directory = try TempDirectory()
        let server = try RecordingServer(directory: directory)
        defer { server.process.stop() }
        // The configured provider would sign with real-looking keys; the call must not use them.
        let sts = try STSClient(config: AWSConfig(region: "eu-west-1", credentials: MotoCredentials(),
                                                  endpointURL: server.url, maxAttempts: 1))
        let token = "eyJhbGciOi.secret-oidc-token.sig"
        let result = try sts.assumeRoleWithWebIdentity(roleARN: "arn:aws:iam::123456789012:role/kiln-ci",
                                                       sessionName: "gha", webIdentityToken: token, durationSeconds: 1800)
        let (headers, body) = try server.recorded()
        #expect(headers["authorization"] == nil)
        #expect(headers["x-amz-security-token"] == nil)
        #expect(headers["x-amz-date"] == nil)
        #expect(headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true)
        let form = Dictionary(body.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return (parts[0], (parts.count > 1 ? parts[1] : "").removingPercentEncoding ?? "")
        }, uniquingKeysWith: { $1 })
        #expect(form == ["Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                         "RoleArn": "arn:aws:iam::123456789012:role/kiln-ci", "RoleSessionName": "gha",
                         "WebIdentityToken": token, "DurationSeconds": "1800"])

        #expect(result.credentials.accessKeyID == "ASIARECORDEDEXAMPLE1")
        #expect(result.credentials.sessionToken == "recordedToken")
        #expect(result.credentials.expiration == ISO8601DateFormatter().date(from: "2030-01-02T03:04:05Z"))
        #expect(result.subjectFromWebIdentityToken == "repo:org/kiln:ref:refs/heads/main")
        #expect(result.provider == "token.actions.githubusercontent.com")
        #expect(result.audience == "sts.amazonaws.com")
        #expect(!result.description.contains("recordedSecret") && !result.description.contains("recordedToken"))
    }

    @Test func credentialChainAssumesARoleProfileThroughTheAdapter() throws {
        let home = try TempDirectory()
        try home.write(".aws/credentials", """
            [base]
            aws_access_key_id = \(MotoServer.accessKeyID)
            aws_secret_access_key = \(MotoServer.secretAccessKey)
            """)
        try home.write(".aws/config", """
            [profile build]
            role_arn = arn:aws:iam::123456789012:role/kiln-profile-role
            source_profile = base
            role_session_name = kiln-session
            region = us-east-1
            """)
        let environment = ["HOME": home.path, "AWS_PROFILE": "build", "AWS_EC2_METADATA_DISABLED": "true"]
        let adapter = STSCallerAdapter(environment: environment, endpointURL: moto.url)
        let chain = CredentialChain(options: CredentialOptions(), environment: environment, sts: adapter)
        let credentials = try chain.credentials()
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        #expect(credentials.sessionToken != nil)
        #expect(credentials.expiration != nil)

        // A client on the chain acts as the role.
        let sts = try STSClient(config: AWSConfig(region: "us-east-1", credentials: chain, endpointURL: moto.url,
                                                  maxAttempts: 1))
        #expect(try sts.getCallerIdentity().arn == "arn:aws:sts::123456789012:assumed-role/kiln-profile-role/kiln-session")
    }

    @Test func credentialChainUsesWebIdentityThroughTheAdapter() throws {
        let directory = try TempDirectory()
        let tokenFile = try directory.write("token", "eyJ.web.identity\n")
        let environment = ["HOME": directory.path, "AWS_EC2_METADATA_DISABLED": "true", "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                           "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/kiln-oidc", "AWS_ROLE_SESSION_NAME": "gha-run",
                           "AWS_REGION": "us-east-1"]
        let chain = CredentialChain(options: CredentialOptions(), environment: environment,
                                    sts: STSCallerAdapter(environment: environment, endpointURL: moto.url))
        let credentials = try chain.credentials()
        #expect(credentials.accessKeyID.hasPrefix("ASIA"))
        let sts = try STSClient(config: AWSConfig(region: "us-east-1", credentials: chain, endpointURL: moto.url,
                                                  maxAttempts: 1))
        #expect(try sts.getCallerIdentity().arn == "arn:aws:sts::123456789012:assumed-role/kiln-oidc/gha-run")
    }

    @Test func regionalEndpointByDefault() throws {
        let sts = try STSClient(config: AWSConfig(region: "eu-central-1", credentials: MotoCredentials()))
        #expect(sts.client.endpoint.url == "https://sts.eu-central-1.amazonaws.com")
        #expect(sts.client.service == "sts")
    }
}
