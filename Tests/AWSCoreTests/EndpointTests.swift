import Testing
@testable import AWSCore

@Suite("Endpoints")
struct EndpointTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var service: String
        var region: String
        var url: String
        var testDescription: String { "\(service) in \(region)" }
    }

    static let regional: [Case] = [
        Case(service: "ec2", region: "us-east-1", url: "https://ec2.us-east-1.amazonaws.com"),
        Case(service: "ssm", region: "eu-west-1", url: "https://ssm.eu-west-1.amazonaws.com"),
        Case(service: "s3", region: "us-west-2", url: "https://s3.us-west-2.amazonaws.com"),
        Case(service: "ecr", region: "ap-southeast-2", url: "https://api.ecr.ap-southeast-2.amazonaws.com"),
        Case(service: "sts", region: "us-east-1", url: "https://sts.us-east-1.amazonaws.com"),
        Case(service: "ec2", region: "cn-north-1", url: "https://ec2.cn-north-1.amazonaws.com.cn"),
        Case(service: "ecr", region: "cn-northwest-1", url: "https://api.ecr.cn-northwest-1.amazonaws.com.cn"),
        Case(service: "ec2", region: "us-gov-west-1", url: "https://ec2.us-gov-west-1.amazonaws.com"),
        Case(service: "iam", region: "us-east-1", url: "https://iam.amazonaws.com"),
        Case(service: "iam", region: "cn-north-1", url: "https://iam.cn-north-1.amazonaws.com.cn"),
    ]

    @Test("regional endpoints in the aws, aws-cn and aws-us-gov partitions", arguments: regional)
    func regionalEndpoints(_ c: Case) {
        let endpoint = Endpoint.resolve(service: c.service, region: c.region)
        #expect(endpoint.url == c.url && !endpoint.isOverride)
    }

    @Test("partitions")
    func partitions() {
        #expect(Partition.of(region: "cn-north-1").name == "aws-cn")
        #expect(Partition.of(region: "us-gov-east-1").name == "aws-us-gov")
        #expect(Partition.of(region: "eu-central-2").name == "aws")
    }

    @Test("overrides: explicit, then AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL")
    func overrides() {
        let env = ["AWS_ENDPOINT_URL": "http://127.0.0.1:5000/", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000"]
        #expect(Endpoint.resolve(service: "ec2", region: "us-east-1", environment: env).url == "http://127.0.0.1:5000")
        #expect(Endpoint.resolve(service: "s3", region: "us-east-1", environment: env).url == "http://127.0.0.1:9000")
        #expect(Endpoint.resolve(service: "s3", region: "us-east-1", explicit: "http://localhost:1", environment: env).url == "http://localhost:1")
        let ignored = env.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 }
        #expect(Endpoint.resolve(service: "ec2", region: "us-east-1", environment: ignored).url == "https://ec2.us-east-1.amazonaws.com")
        #expect(Endpoint.resolve(service: "ec2", region: "us-east-1", environment: env).host == "127.0.0.1:5000")
    }
}
