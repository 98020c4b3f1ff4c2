import Foundation

/// A partition of AWS: a group of regions with one DNS suffix.
/// https://docs.aws.amazon.com/whitepapers/latest/aws-fault-isolation-boundaries/partitions.html
public struct Partition: Sendable, Equatable {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    public var name: String
    /// The DNS suffix of its endpoints.
    public var dnsSuffix: String

    /// The partition a region belongs to (commercial unless the region is a China or GovCloud one).
    public static func of(region: String) -> Partition {
        if region.hasPrefix("cn-") { return Partition(name: "aws-cn", dnsSuffix: "amazonaws.com.cn") }
        if region.hasPrefix("us-gov-") { return Partition(name: "aws-us-gov", dnsSuffix: "amazonaws.com") }
        return Partition(name: "aws", dnsSuffix: "amazonaws.com")
    }
}

/// Where requests for a service in a region go: the real regional endpoint, or an override.
///
/// Overrides follow the SDKs' "service-specific endpoints" feature
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): an explicit endpoint
/// (`--endpoint-url`) first, then `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`;
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` ignores the environment variables.
public struct Endpoint: Sendable, Equatable {
    /// The base URL (`https://ec2.us-east-1.amazonaws.com`), without a trailing slash.
    public var url: String
    /// Whether the URL came from an override (path-style S3 addressing is used then).
    public var isOverride: Bool

    /// The environment variable suffix of each service (its service ID, upper-cased, spaces as `_`).
    static let environmentNames = ["ec2": "EC2", "ssm": "SSM", "s3": "S3", "ecr": "ECR", "sts": "STS", "iam": "IAM"]

    /// Resolves the endpoint of `service` in `region`.
    public static func resolve(service: String, region: String, explicit: String? = nil,
                               environment: [String: String] = [:]) -> Endpoint {
        if let explicit, !explicit.isEmpty { return Endpoint(url: trimmed(explicit), isOverride: true) }
        if environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() != "true" {
            if let name = environmentNames[service], let url = environment["AWS_ENDPOINT_URL_\(name)"], !url.isEmpty {
                return Endpoint(url: trimmed(url), isOverride: true)
            }
            if let url = environment["AWS_ENDPOINT_URL"], !url.isEmpty {
                return Endpoint(url: trimmed(url), isOverride: true)
            }
        }
        let partition = Partition.of(region: region)
        let host: String
        switch service {
        case "ecr": host = "api.ecr.\(region).\(partition.dnsSuffix)"
        case "iam":
            host = partition.name == "aws" ? "iam.amazonaws.com" : "iam.\(region).\(partition.dnsSuffix)"
        default: host = "\(service).\(region).\(partition.dnsSuffix)"
        }
        return Endpoint(url: "https://\(host)", isOverride: false)
    }

    private static func trimmed(_ url: String) -> String {
        url.hasSuffix("/") ? String(url.dropLast()) : url
    }

    /// The host (with port when present).
    public var host: String {
        let afterScheme = url.components(separatedBy: "://").dropFirst().first ?? url
        return String(afterScheme.prefix { $0 != "/" })
    }
}
