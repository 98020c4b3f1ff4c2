import AWSCredentials
import Testing

@Suite struct RegionResolverTests {
    static let config = """
    [default]
    region = eu-west-1
    [profile ci]
    region = us-west-2
    [profile bare]
    output = json
    """

    @Test(arguments: [
        // (option, profile option, environment, expected)
        ("ap-east-1", nil, ["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-east-1"], "ap-east-1"),
        (nil, nil, ["AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-east-1"], "us-east-2"),
        (nil, nil, ["AWS_DEFAULT_REGION": "us-east-1", "AWS_PROFILE": "ci"], "us-east-1"),
        (nil, nil, ["AWS_PROFILE": "ci"], "us-west-2"),
        (nil, "ci", [:], "us-west-2"),
        (nil, nil, [:], "eu-west-1"),
        ("", nil, ["AWS_REGION": ""], "eu-west-1"),
    ] as [(String?, String?, [String: String], String)])
    func resolutionOrder(option: String?, profile: String?, environment: [String: String], expected: String) throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", Self.config)
            #expect(try RegionResolver.resolve(option: option, profile: profile,
                                               environment: sandbox.environment(environment)) == expected)
        }
    }

    @Test func regionInTheCredentialsFileIsIgnoredAndNoRegionIsAnError() throws {
        try withSandbox { sandbox in
            try sandbox.write(".aws/config", Self.config)
            try sandbox.write(".aws/credentials", "[bare]\nregion = sa-east-1\n")
            let error = try #require(credentialsError {
                try RegionResolver.resolve(option: nil, profile: "bare", environment: sandbox.environment())
            })
            #expect(error.description.hasPrefix("no AWS region configured: tried --region, AWS_REGION, AWS_DEFAULT_REGION, "
                                                + "region in profile 'bare' of \(sandbox.home)/.aws/config"))
            #expect(error.description.contains("set AWS_REGION"))
        }
    }
}
