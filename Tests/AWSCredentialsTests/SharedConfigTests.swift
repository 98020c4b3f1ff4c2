import AWSCredentials
import Foundation
import Testing

@Suite struct SharedConfigTests {
    static let config = """
    # a comment
    ; another comment
    [default]
    region = eu-west-1   # trailing comment
    output=json

    [profile dev]
    Region = us-west-2
    role_arn = arn:aws:iam::123456789012:role/dev ; why
    s3 =
      max_concurrent_requests = 20
    aws_access_key_id = AKIACONFIGDEV

    [sso-session corp]
    sso_region = us-east-1

    [stray]
    region = ap-south-1
    """

    static let credentials = """
    [dev]
    aws_access_key_id = AKIACREDSDEV
    aws_secret_access_key = secret#with-hash

    [profile odd]
    aws_access_key_id = AKIAODD
    """

    @Test func parsesBothFilesAndMergesProfiles() throws {
        let shared = try SharedConfig(config: Self.config, configPath: "/h/.aws/config",
                                      credentials: Self.credentials, credentialsPath: "/h/.aws/credentials")
        #expect(shared.profileNames == ["default", "dev", "profile odd"])
        let defaults = try #require(shared.profile(named: "default"))
        #expect(defaults["region"] == "eu-west-1")
        #expect(defaults["output"] == "json")

        let dev = try #require(shared.profile(named: "dev"))
        #expect(dev["region"] == "us-west-2")                       // keys are case-insensitive
        #expect(dev["role_arn"] == "arn:aws:iam::123456789012:role/dev")
        #expect(dev["s3"] == "max_concurrent_requests = 20")         // a sub-setting block stays with its key
        #expect(dev["aws_access_key_id"] == "AKIACREDSDEV")          // the credentials file wins
        #expect(dev.location(of: "aws_access_key_id") == "/h/.aws/credentials:2")
        #expect(dev.location(of: "role_arn") == "/h/.aws/config:9")
        #expect(dev["aws_secret_access_key"] == "secret#with-hash")  // '#' without whitespace is not a comment
        #expect(shared.profile(named: "stray") == nil)                // a config section without `profile ` is skipped
        #expect(shared.profile(named: "corp") == nil)
    }

    @Test func profileDescriptionRedactsSecrets() throws {
        let shared = try SharedConfig(config: nil, configPath: nil, credentials: Self.credentials + "\naws_session_token = TOKENVALUE\n",
                                      credentialsPath: "c")
        let profile = try #require(shared.profile(named: "profile odd"))
        #expect(String(describing: profile).contains("aws_access_key_id = AKIAODD"))
        var dumped = ""
        dump(try #require(shared.profile(named: "dev")), to: &dumped)
        #expect(!dumped.contains("secret#with-hash"))
        #expect(String(describing: profile).contains("aws_session_token = <redacted>"))
        #expect(!String(reflecting: profile).contains("TOKENVALUE"))
    }

    @Test func profileDefaultWinsOverBareDefault() throws {
        let text = "[default]\nregion = a\n[profile default]\nregion = b\n"
        let shared = try SharedConfig(config: text, configPath: "c", credentials: nil, credentialsPath: nil)
        #expect(shared.profile(named: "default")?["region"] == "b")
    }

    @Test(arguments: [
        ("[default]\naws_secret_access_key: TOPSECRETVALUE\n", 2, "expected '[section]' or 'key = value'"),
        ("aws_secret_access_key = TOPSECRETVALUE\n", 1, "before any [section] header"),
        ("[default]\nregion = x\n[profile dev\n", 3, "missing its closing ']'"),
        ("[default]\n  TOPSECRETVALUE = 1\n", 2, "must follow a `key = value` setting"),
        ("[default]\n= TOPSECRETVALUE\n", 2, "no name before '='"),
        ("[]\n", 1, "empty section name"),
    ])
    func syntaxErrorsNameFileAndLineButNeverTheLine(text: String, line: Int, message: String) throws {
        let error = credentialsError {
            try SharedConfig(config: text, configPath: "/h/.aws/config", credentials: nil, credentialsPath: nil)
        }
        let description = try #require(error).description
        #expect(description.hasPrefix("/h/.aws/config:\(line): error: "))
        #expect(description.contains(message))
        #expect(!description.contains("TOPSECRETVALUE"))
    }

    @Test func loadUsesEnvironmentPathsAndTreatsMissingFilesAsEmpty() throws {
        try withSandbox { sandbox in
            let paths = SharedConfig.paths(environment: ["HOME": "/home/u"])
            #expect(paths.config == "/home/u/.aws/config")
            #expect(paths.credentials == "/home/u/.aws/credentials")
            #expect(SharedConfig.paths(environment: [:]).config == nil)

            try sandbox.write("elsewhere/cfg", "[profile x]\nregion = r\n")
            let environment = sandbox.environment(["AWS_CONFIG_FILE": "~/elsewhere/cfg",
                                                   "AWS_SHARED_CREDENTIALS_FILE": sandbox.home + "/missing"])
            let shared = try SharedConfig.load(environment: environment)
            #expect(shared.configPath == sandbox.home + "/elsewhere/cfg")
            #expect(shared.profile(named: "x")?["region"] == "r")
            #expect(shared.credentialsProfiles.isEmpty)
        }
    }

    @Test func selectedProfile() {
        #expect(SharedConfig.selectedProfile(option: nil, environment: [:]) == "default")
        #expect(SharedConfig.selectedProfile(option: nil, environment: ["AWS_PROFILE": "ci"]) == "ci")
        #expect(SharedConfig.selectedProfile(option: "cli", environment: ["AWS_PROFILE": "ci"]) == "cli")
        #expect(SharedConfig.selectedProfile(option: "", environment: ["AWS_PROFILE": ""]) == "default")
    }
}
