@testable import AWSCredentials
import Foundation
import SigV4
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct CredentialChainTests {
    // MARK: explicit options and environment

    @Test func explicitOptions() throws {
        let chain = CredentialChain(options: CredentialOptions(accessKeyID: "AKIAEXPLICIT", secretAccessKey: "s",
                                                               sessionToken: "t"),
                                    environment: ["AWS_EC2_METADATA_DISABLED": "true"], sts: nil)
        let credentials = try chain.credentials()
        #expect(credentials.accessKeyID == "AKIAEXPLICIT")
        #expect(credentials.sessionToken == "t")
        #expect(credentials.source == "explicit options")
        #expect(!CredentialOptions(accessKeyID: "A", secretAccessKey: "SECRETX", sessionToken: "TOKENX").description
            .contains("SECRETX"))
    }

    @Test func environmentKeys() throws {
        try withSandbox { sandbox in
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
            ]), sts: nil)
            let credentials = try chain.credentials()
            #expect(credentials == Credentials(accessKeyID: "AKIAENV", secretAccessKey: "env-secret",
                                               sessionToken: "env-token", source: "environment"))
        }
    }

    @Test func partialEnvironmentKeysAreAnErrorWithoutTheSecret() throws {
        try withSandbox { sandbox in
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_SECRET_ACCESS_KEY": "LEAKYSECRET",
            ]), sts: nil)
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not"))
            #expect(!error.description.contains("LEAKYSECRET"))
        }
    }

    // MARK: shared files

    @Test func staticProfileInBothFilesCredentialsFileWins() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [default]
            region = eu-central-1
            aws_access_key_id = AKIAFROMCONFIG
            aws_secret_access_key = config-secret
            """)
            try sandbox.write(".aws/credentials", """
            [default]
            aws_access_key_id = AKIAFROMCREDENTIALS
            aws_secret_access_key = credentials-secret
            aws_session_token = credentials-token
            """)
            let credentials = try CredentialChain(options: .init(), environment: sandbox.environment(), sts: nil).credentials()
            #expect(credentials == Credentials(accessKeyID: "AKIAFROMCREDENTIALS", secretAccessKey: "credentials-secret",
                                               sessionToken: "credentials-token", source: "profile default"))
        }
    }

    @Test func configFileKeysAloneWork() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", "[profile only]\naws_access_key_id = AKIAONLY\naws_secret_access_key = s\n")
            let credentials = try CredentialChain(options: .init(), environment: sandbox.environment(["AWS_PROFILE": "only"]),
                                                  sts: nil).credentials()
            #expect(credentials.accessKeyID == "AKIAONLY")
        }
    }

    @Test func awsProfileSelectsTheProfile() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/credentials", """
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = d
            [ci]
            aws_access_key_id = AKIACI
            aws_secret_access_key = c
            """)
            let byEnvironment = try CredentialChain(options: .init(), environment: sandbox.environment(["AWS_PROFILE": "ci"]),
                                                    sts: nil).credentials()
            #expect(byEnvironment.accessKeyID == "AKIACI")
            #expect(byEnvironment.source == "profile ci")
            let byOption = try CredentialChain(options: .init(profile: "default"),
                                               environment: sandbox.environment(["AWS_PROFILE": "ci"]), sts: nil).credentials()
            #expect(byOption.accessKeyID == "AKIADEFAULT")
        }
    }

    @Test func missingProfileIsAnErrorNamingItTheFilesAndTheProfilesThatExist() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/credentials", "[default]\naws_access_key_id = A\naws_secret_access_key = s\n")
            try sandbox.write(".aws/config", "[profile staging]\nregion = us-east-1\n")
            for (options, environment) in [(CredentialOptions(), ["AWS_PROFILE": "nope"]),
                                           (CredentialOptions(profile: "nope"), [:])] {
                let chain = CredentialChain(options: options, environment: sandbox.environment(environment), sts: nil)
                let error = try #require(credentialsError { try chain.credentials() })
                #expect(error.description.contains("AWS profile 'nope' not found in \(sandbox.home)/.aws/config or "
                                                   + "\(sandbox.home)/.aws/credentials"))
                #expect(error.description.contains("defined profiles: default, staging"))
                #expect(!error.isNoCredentials)
            }
        }
    }

    @Test func nothingConfiguredListsEverySourceTried() throws {
        try withSandbox { sandbox in
            let chain = CredentialChain(options: .init(), environment: sandbox.environment(), sts: nil)
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.isNoCredentials)
            let text = error.description
            #expect(text.hasPrefix("no AWS credentials found: tried explicit options (none given); environment"))
            for part in ["web identity", "profile 'default' (not in \(sandbox.home)/.aws/config",
                         "container credentials", "EC2 instance metadata (disabled by AWS_EC2_METADATA_DISABLED)",
                         "set AWS_PROFILE or run `aws configure`"] {
                #expect(text.contains(part), "missing \(part)")
            }
        }
    }

    @Test func unreachableInstanceMetadataFailsFast() throws {
        try withSandbox { sandbox in
            let environment = sandbox.environment(["AWS_EC2_METADATA_DISABLED": "false",
                                                   "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(LoopbackServer.closedPort())"])
            let chain = CredentialChain(options: .init(), environment: environment, sts: nil)
            let start = Date()
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(Date().timeIntervalSince(start) < 3)
            #expect(error.isNoCredentials)
            #expect(error.description.contains("EC2 instance metadata at http://127.0.0.1:"))
            #expect(error.description.contains("not reachable"))
        }
    }

    // MARK: credential_process

    @Test func credentialProcess() throws {
        try withSandbox { sandbox in
            let script = try sandbox.write("bin/creds.sh", """
            #!/bin/sh
            printf '%s' '{"Version": 1, "AccessKeyId": "ASIAPROCESS", "SecretAccessKey": "process-secret",'
            printf '%s' ' "SessionToken": "process-token", "Expiration": "2030-01-02T03:04:05Z"}'
            echo "diagnostics go to stderr" >&2
            """, executable: true)
            try sandbox.write(".aws/config", "[profile tool]\ncredential_process = \(script) --flag\n")
            let chain = CredentialChain(options: .init(), environment: sandbox.environment(["AWS_PROFILE": "tool"]), sts: nil)
            let credentials = try chain.credentials()
            #expect(credentials.accessKeyID == "ASIAPROCESS")
            #expect(credentials.secretAccessKey == "process-secret")
            #expect(credentials.sessionToken == "process-token")
            #expect(credentials.expiration == Date(timeIntervalSince1970: 1_893_553_445))
            #expect(credentials.source == "credential_process (profile tool)")
        }
    }

    @Test(arguments: [
        ("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"PROCSECRET\"}'; echo 'token expired' >&2; exit 3",
         "exited with status 3 (standard error: token expired)"),
        ("echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"PROCSECRET\"}'", "Version must be 1"),
        ("echo 'not json PROCSECRET'", "not a JSON object"),
        ("echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'", "no SecretAccessKey"),
        ("echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"PROCSECRET\", \"Expiration\": \"soon\"}'",
         "Expiration is not an ISO 8601 timestamp"),
    ])
    func credentialProcessFailuresNeverShowItsOutput(body: String, message: String) throws {
        try withSandbox { sandbox in
            let script = try sandbox.write("bin/bad.sh", "#!/bin/sh\n\(body)\n", executable: true)
            try sandbox.write(".aws/config", "[default]\ncredential_process = \(script)\n")
            let chain = CredentialChain(options: .init(), environment: sandbox.environment(), sts: nil)
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.hasPrefix("credential_process of profile 'default' failed: "))
            #expect(error.description.contains(message))
            #expect(!error.description.contains("PROCSECRET"))
        }
    }

    @Test func credentialProcessTimeoutDoesNotWaitForAGrandchildHoldingThePipe() throws {
        try withSandbox { sandbox in
            let pidFile = sandbox.home + "/sleeper.pid"
            // The shell's background `sleep` inherits the output pipe; waiting for EOF would take 30 s.
            let script = try sandbox.write("bin/slow.sh", "#!/bin/sh\nsleep 30 &\necho $! > \(pidFile)\nwait\n",
                                           executable: true)
            let process = ProcessCredentials(command: script, profile: "slow", environment: sandbox.environment(),
                                             timeout: .milliseconds(300))
            let start = Date()
            let error = try #require(credentialsError { try process.fetch(now: Date()) })
            #expect(Date().timeIntervalSince(start) < 3)
            #expect(error.description.contains("did not finish within 0.3 seconds and was killed"))
            // Clean up the orphaned grandchild this test started, by its id.
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
               let sleeper = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(sleeper, SIGKILL)
            }
        }
    }

    @Test func credentialProcessChildGetsTheInjectedEnvironment() throws {
        try withSandbox { sandbox in
            let script = try sandbox.write("bin/env.sh", """
            #!/bin/sh
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "s"}' "$KILN_TEST_KEY"
            """, executable: true)
            try sandbox.write(".aws/config", "[default]\ncredential_process = \(script)\n")
            let credentials = try CredentialChain(options: .init(), environment: sandbox.environment(["KILN_TEST_KEY": "AKIAFROMENV"]),
                                                  sts: nil).credentials()
            #expect(credentials.accessKeyID == "AKIAFROMENV")
            #expect(credentials.expiration == nil)
        }
    }

    // MARK: roles

    @Test func roleChainThroughSourceProfiles() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [profile deploy]
            role_arn = arn:aws:iam::111111111111:role/deploy
            source_profile = hub
            role_session_name = kiln-ci
            external_id = ext-123
            duration_seconds = 1800
            region = eu-north-1

            [profile hub]
            role_arn = arn:aws:iam::222222222222:role/hub
            source_profile = base
            """)
            try sandbox.write(".aws/credentials", """
            [base]
            aws_access_key_id = AKIABASE
            aws_secret_access_key = base-secret
            """)
            let clock = TestClock()
            let sts = FakeSTS(clock: clock.function)
            let chain = CredentialChain(options: .init(profile: "deploy"), environment: sandbox.environment(), sts: sts,
                                        clock: clock.function)
            let credentials = try chain.credentials()
            #expect(sts.calls == [
                FakeSTS.Call(kind: "AssumeRole", roleARN: "arn:aws:iam::222222222222:role/hub",
                             sessionName: "kiln-1800000000", externalID: nil, durationSeconds: nil,
                             usingKeyID: "AKIABASE", token: nil, region: "eu-north-1"),
                FakeSTS.Call(kind: "AssumeRole", roleARN: "arn:aws:iam::111111111111:role/deploy",
                             sessionName: "kiln-ci", externalID: "ext-123", durationSeconds: 1800,
                             usingKeyID: "ASIASTS1", token: nil, region: "eu-north-1"),
            ])
            #expect(credentials.accessKeyID == "ASIASTS2")
            #expect(credentials.source == "assume role arn:aws:iam::111111111111:role/deploy (profile deploy)")
        }
    }

    @Test func sourceProfileWithStaticKeysEndsTheChainAndSelfReferenceUsesOwnKeys() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [profile a]
            role_arn = arn:aws:iam::1:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::1:role/never
            source_profile = b
            aws_access_key_id = AKIAB
            aws_secret_access_key = b
            """)
            let sts = FakeSTS()
            _ = try CredentialChain(options: .init(profile: "a", region: "us-east-2"), environment: sandbox.environment(),
                                    sts: sts).credentials()
            #expect(sts.calls.map(\.roleARN) == ["arn:aws:iam::1:role/a"])
            #expect(sts.calls.map(\.usingKeyID) == ["AKIAB"])
            #expect(sts.calls.map(\.region) == ["us-east-2"])

            _ = try CredentialChain(options: .init(profile: "b"), environment: sandbox.environment(), sts: sts).credentials()
            #expect(sts.calls.last?.roleARN == "arn:aws:iam::1:role/never")  // the selected profile's role wins
            #expect(sts.calls.last?.usingKeyID == "AKIAB")
        }
    }

    @Test func sourceProfileCycleIsDetected() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [profile a]
            role_arn = arn:aws:iam::1:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::1:role/b
            source_profile = c
            [profile c]
            role_arn = arn:aws:iam::1:role/c
            source_profile = a
            """)
            let sts = FakeSTS()
            let chain = CredentialChain(options: .init(profile: "a"), environment: sandbox.environment(), sts: sts)
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.contains("source_profile loop: a -> b -> c -> a"))
            #expect(sts.calls.isEmpty)
        }
    }

    @Test(arguments: [
        ("role_arn = arn:aws:iam::1:role/x\n", "config:2: error: profile 'p' sets role_arn but not source_profile"),
        ("role_arn = arn:aws:iam::1:role/x\nsource_profile = ghost\n", "config:3: error: source_profile 'ghost'"),
        ("role_arn = arn:aws:iam::1:role/x\ncredential_source = Laptop\n", "config:3: error: credential_source must be"),
        ("role_arn = arn:aws:iam::1:role/x\nsource_profile = p\n", "names itself as source_profile but has no"),
        ("role_arn = arn:aws:iam::1:role/x\nsource_profile = p\nduration_seconds = 1h\n", "config:4: error: duration_seconds"),
        ("aws_access_key_id = AKIAHALF\n", "config:2: error: profile 'p' has aws_access_key_id but no aws_secret_access_key"),
        ("sso_session = corp\n", "IAM Identity Center (SSO)"),
        ("role_arn = arn:aws:iam::1:role/x\nmfa_serial = arn:aws:iam::1:mfa/me\nsource_profile = q\n", "needs an MFA code"),
    ])
    func brokenRoleProfilesNameTheLine(profileBody: String, message: String) throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", "[profile p]\n" + profileBody)
            let chain = CredentialChain(options: .init(profile: "p"), environment: sandbox.environment(), sts: FakeSTS())
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.contains(message), "\(error)")
        }
    }

    @Test func credentialSourceEnvironmentWithExplicitProfile() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [profile ops]
            role_arn = arn:aws:iam::1:role/ops
            credential_source = Environment
            """)
            let sts = FakeSTS()
            // The explicit profile skips the environment step; the profile then uses the environment's keys.
            let credentials = try CredentialChain(options: .init(profile: "ops"), environment: sandbox.environment([
                "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e",
            ]), sts: sts).credentials()
            #expect(credentials.accessKeyID == "ASIASTS1")
            #expect(sts.calls.map(\.usingKeyID) == ["AKIAENV"])
            #expect(sts.calls.map(\.region) == ["us-east-1"])  // no region anywhere: STS in us-east-1
        }
    }

    @Test func credentialSourceContainerAndInstanceMetadata() throws {
        try withServer({ request in
            switch (request.method, request.path) {
            case ("GET", "/ecs"): return .init(200, metadataJSON(keyID: "ASIAECS", secret: "s", token: "t"))
            case ("PUT", "/latest/api/token"): return .init(200, "imds-token")
            case ("GET", "/latest/meta-data/iam/security-credentials/"): return .init(200, "role")
            case ("GET", "/latest/meta-data/iam/security-credentials/role"):
                return .init(200, metadataJSON(keyID: "ASIAIMDS", secret: "s", token: "t"))
            default: return .init(404, "")
            }
        }) { server in
            try withSandbox { sandbox in
                try sandbox.write(".aws/config", """
                [profile ecs]
                role_arn = arn:aws:iam::1:role/from-ecs
                credential_source = EcsContainer
                [profile ec2]
                role_arn = arn:aws:iam::1:role/from-ec2
                credential_source = Ec2InstanceMetadata
                """)
                let environment = sandbox.environment(["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.base + "/ecs",
                                                       "AWS_EC2_METADATA_DISABLED": "false",
                                                       "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base])
                let sts = FakeSTS()
                _ = try CredentialChain(options: .init(profile: "ecs"), environment: environment, sts: sts).credentials()
                _ = try CredentialChain(options: .init(profile: "ec2"), environment: environment, sts: sts).credentials()
                #expect(sts.calls.map(\.usingKeyID) == ["ASIAECS", "ASIAIMDS"])
            }
        }
    }

    @Test func webIdentityFromEnvironmentAsGitHubActionsSetsIt() throws {
        try withSandbox { sandbox in
            let tokenFile = try sandbox.write("oidc/token", "eyJ.github.jwt\n")
            let sts = FakeSTS()
            let credentials = try CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/gha",
                "AWS_ROLE_SESSION_NAME": "gha-run-42",
                "AWS_REGION": "us-west-2",
            ]), sts: sts).credentials()
            #expect(sts.calls == [FakeSTS.Call(kind: "AssumeRoleWithWebIdentity",
                                               roleARN: "arn:aws:iam::123456789012:role/gha", sessionName: "gha-run-42",
                                               externalID: nil, durationSeconds: nil, usingKeyID: nil,
                                               token: "eyJ.github.jwt", region: "us-west-2")])
            #expect(credentials.accessKeyID == "ASIASTS1")
            #expect(credentials.source.hasPrefix("web identity arn:aws:iam::123456789012:role/gha"))
        }
    }

    @Test func webIdentityFromProfile() throws {
        try withSandbox { sandbox in
            let tokenFile = try sandbox.write("k8s/token", "pod-jwt")
            try sandbox.write(".aws/config", """
            [default]
            role_arn = arn:aws:iam::1:role/pod
            web_identity_token_file = \(tokenFile)
            role_session_name = pod-session
            duration_seconds = 900
            """)
            let sts = FakeSTS()
            _ = try CredentialChain(options: .init(), environment: sandbox.environment(), sts: sts).credentials()
            #expect(sts.calls.map(\.token) == ["pod-jwt"])
            #expect(sts.calls.map(\.sessionName) == ["pod-session"])
            #expect(sts.calls.map(\.durationSeconds) == [900])
        }
    }

    @Test func roleWithoutSTSCallerIsAClearError() throws {
        try withSandbox { sandbox in
            let tokenFile = try sandbox.write("token", "jwt")
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
            ]), sts: nil)
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.contains("needs an STS client"))
        }
    }

    // MARK: caching and refresh

    @Test func temporaryCredentialsAreCachedAndRefreshedWithinFiveMinutesOfExpiry() throws {
        try withSandbox { sandbox in
            let tokenFile = try sandbox.write("token", "jwt")
            let clock = TestClock()
            let start = clock.now
            let sts = FakeSTS(clock: clock.function, lifetime: 3600)
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
            ]), sts: sts, clock: clock.function)

            #expect(try chain.credentials().accessKeyID == "ASIASTS1")
            clock.now = start.addingTimeInterval(3600 - 301)     // 5 min 1 s left: cached
            #expect(try chain.credentials().accessKeyID == "ASIASTS1")
            #expect(sts.calls.count == 1)
            clock.now = start.addingTimeInterval(3600 - 299)     // within 5 minutes: fetched again
            let refreshed = try chain.credentials()
            #expect(refreshed.accessKeyID == "ASIASTS2")
            #expect(refreshed.expiration == clock.now.addingTimeInterval(3600))
            #expect(try chain.credentials().accessKeyID == "ASIASTS2")
            #expect(sts.calls.count == 2)

            chain.invalidate()
            #expect(try chain.credentials().accessKeyID == "ASIASTS3")
        }
    }

    @Test func failedRefreshKeepsValidCredentialsAndRetriesLater() throws {
        try withSandbox { sandbox in
            let tokenFile = try sandbox.write("token", "jwt")
            let clock = TestClock()
            let start = clock.now
            let sts = FakeSTS(clock: clock.function, lifetime: 3600)
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
            ]), sts: sts, clock: clock.function)
            #expect(try chain.credentials().accessKeyID == "ASIASTS1")

            sts.failing = true
            clock.now = start.addingTimeInterval(3600 - 120)
            #expect(try chain.credentials().accessKeyID == "ASIASTS1")   // refresh failed: still valid, kept
            clock.now = start.addingTimeInterval(3600 - 110)
            #expect(try chain.credentials().accessKeyID == "ASIASTS1")   // within 30 s of the failure: not asked
            #expect(sts.calls.count == 2)
            clock.now = start.addingTimeInterval(3600 - 80)
            #expect(try chain.credentials().accessKeyID == "ASIASTS1")   // asked again, failed again
            #expect(sts.calls.count == 3)

            clock.now = start.addingTimeInterval(3600)                   // expired: the failure is reported
            let error = try #require(credentialsError { try chain.credentials() })
            #expect(error.description.contains("assuming role arn:aws:iam::1:role/r (web identity, AWS_WEB_IDENTITY_TOKEN_FILE) "
                                               + "failed: STS is unavailable (fake)"))
            sts.failing = false
            #expect(try chain.credentials().accessKeyID == "ASIASTS5")
        }
    }

    @Test func concurrentCallersShareOneFetch() async throws {
        try await withSandboxAsync { sandbox in
            let tokenFile = try sandbox.write("token", "jwt")
            let sts = FakeSTS()
            sts.delay = 0.05
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/r",
            ]), sts: sts)
            let keys = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<8 { group.addTask { try chain.credentials().accessKeyID } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(keys == ["ASIASTS1"])
            #expect(sts.calls.count == 1)
        }
    }

    // MARK: order

    /// Every source configured at once, then removed one by one from the front: each time the earliest wins.
    @Test func earlierSourcesWin() throws {
        try withServer({ request in
            switch (request.method, request.path) {
            case ("GET", "/container"): return .init(200, metadataJSON(keyID: "ASIACONTAINER", secret: "s", token: "t"))
            case ("PUT", "/latest/api/token"): return .init(200, "tok")
            case ("GET", "/latest/meta-data/iam/security-credentials/"): return .init(200, "role")
            case ("GET", "/latest/meta-data/iam/security-credentials/role"):
                return .init(200, metadataJSON(keyID: "ASIAIMDS", secret: "s", token: "t"))
            default: return .init(404, "")
            }
        }) { server in
            try withSandbox { sandbox in
                try sandbox.write(".aws/credentials", "[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = p\n")
                let tokenFile = try sandbox.write("token", "jwt")
                var environment = sandbox.environment([
                    "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e",
                    "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::1:role/web",
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/container",
                    "AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.base,
                ])
                func winner(_ options: CredentialOptions = .init()) throws -> String {
                    try CredentialChain(options: options, environment: environment, sts: FakeSTS(),
                                        containerHost: server.base).credentials().accessKeyID
                }
                #expect(try winner(.init(accessKeyID: "AKIAEXPLICIT", secretAccessKey: "x")) == "AKIAEXPLICIT")
                #expect(try winner() == "AKIAENV")
                environment["AWS_ACCESS_KEY_ID"] = nil
                environment["AWS_SECRET_ACCESS_KEY"] = nil
                #expect(try winner() == "ASIASTS1")  // web identity
                environment["AWS_WEB_IDENTITY_TOKEN_FILE"] = nil
                #expect(try winner() == "AKIAPROFILE")
                try FileManager.default.removeItem(atPath: sandbox.home + "/.aws/credentials")
                #expect(try winner() == "ASIACONTAINER")
                environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = nil
                #expect(try winner() == "ASIAIMDS")
            }
        }
    }

    @Test func explicitProfileWinsOverEnvironmentKeysAsInTheAWSCLI() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/credentials", "[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = w\n")
            let environment = sandbox.environment(["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"])
            #expect(try CredentialChain(options: .init(profile: "work"), environment: environment, sts: nil)
                .credentials().accessKeyID == "AKIAWORK")
            // AWS_PROFILE is not explicit: the environment's keys still come first.
            #expect(try CredentialChain(options: .init(), environment: environment.merging(["AWS_PROFILE": "work"]) { $1 },
                                        sts: nil).credentials().accessKeyID == "AKIAENV")
        }
    }

    @Test func describeSourcesShowsEachStepWithoutSecrets() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", """
            [default]
            role_arn = arn:aws:iam::1:role/r
            source_profile = base
            [profile base]
            aws_access_key_id = AKIAEXAMPLEKEY12
            aws_secret_access_key = DESCRIBESECRET
            """)
            let chain = CredentialChain(options: .init(), environment: sandbox.environment([
                "AWS_ACCESS_KEY_ID": "AKIAENVIRONMENT9", "AWS_SECRET_ACCESS_KEY": "ENVSECRET",
            ]), sts: FakeSTS())
            _ = try chain.credentials()
            let lines = chain.describeSources
            let text = lines.joined(separator: "\n")
            #expect(lines.count == 7)
            #expect(text.contains("2. environment: AWS_ACCESS_KEY_ID ************ENT9"))
            #expect(text.contains("3. profile 'default'"))
            #expect(text.contains("assume role arn:aws:iam::1:role/r using access key ************EY12"))
            #expect(text.contains("5. EC2 instance metadata: disabled"))
            #expect(text.contains("in use: environment"))
            #expect(!text.contains("SECRET"))
        }
    }
}

/// `withSandbox` for async tests.
func withSandboxAsync<T>(_ body: (Sandbox) async throws -> T) async throws -> T {
    let sandbox = try Sandbox()
    defer { sandbox.remove() }
    return try await body(sandbox)
}
