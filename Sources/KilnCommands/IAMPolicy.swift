import ArgumentParser
import Foundation

/// `kiln iam-policy`: prints the least-privilege IAM policy kiln's AWS calls need.
public struct IAMPolicy: ContextCommand {
    /// The command's name, help and examples.
    public static let configuration = CommandConfiguration(
        commandName: "iam-policy",
        abstract: "Print the least-privilege IAM policy kiln needs (EC2, SSM, S3, ECR, STS).",
        discussion: """
        The policy is JSON (IAM policy grammar, Version 2012-10-17), grouped in statements by purpose. \
        Where AWS supports it, actions are scoped: instances, security groups and AMIs kiln creates \
        carry a kiln:build-id tag, and only resources with that tag can be stopped, terminated, \
        deregistered, shared or deleted; new instances, volumes and security groups must be created \
        with the tag; the log bucket is kiln-builds-* (or the --bucket names); SSM writes go under \
        /kiln/. kiln passes no IAM role (its build instances have no instance profile), so there is no \
        iam:PassRole. AMI snapshots are not tagged by EC2's CreateImage, so DeleteSnapshot cannot be \
        scoped by tag. A recipe whose base is an SSM parameter outside /aws/service/ and /kiln/ needs \
        that path added (--ssm-read-path).

        Examples:
          kiln iam-policy > kiln-policy.json
          aws iam put-role-policy --role-name kiln-ci --policy-name kiln \\
              --policy-document "$(kiln iam-policy --format compact)"
          kiln iam-policy --account 123456789012 --bucket my-kiln-logs
        """)

    /// How the policy is printed.
    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        /// Indented, keys sorted: for reading and for files.
        case pretty
        /// One line: for `--policy-document "$(…)"`.
        case compact
    }

    /// Output layout.
    @Option(help: "pretty (default) or compact (one line).")
    public var format: Format = .pretty

    /// The account that owns the resources (default any: `*`).
    @Option(help: "Scope ARNs to this 12-digit account ID (default: any account, '*').")
    public var account: String?

    /// The partition: aws, aws-cn or aws-us-gov.
    @Option(help: "The AWS partition in ARNs: aws, aws-cn or aws-us-gov.")
    public var partition: String = "aws"

    /// Log buckets named with `kiln build --bucket`.
    @Option(name: .customLong("bucket"), help: "A log bucket passed to kiln build --bucket (repeatable); kiln-builds-* is always included.")
    public var buckets: [String] = []

    /// Further SSM paths recipes read their base AMI from.
    @Option(name: .customLong("ssm-read-path"), help: "An SSM parameter path a recipe's base reads (repeatable), e.g. /my/team/amis.")
    public var ssmReadPaths: [String] = []

    /// Global options (`--json` prints the same JSON).
    @OptionGroup public var global: GlobalOptions

    /// Creates the command.
    public init() {}

    /// Checks the account, partition, buckets and paths.
    public func validate() throws {
        if let account, account.count != 12 || !account.allSatisfy(\.isASCIIDigit) {
            throw ValidationError("--account must be a 12-digit account ID, got '\(account)'")
        }
        if !["aws", "aws-cn", "aws-us-gov"].contains(partition) {
            throw ValidationError("--partition must be aws, aws-cn or aws-us-gov, got '\(partition)'")
        }
        for bucket in buckets where bucket.isEmpty || bucket.contains("/") || bucket.contains("*") {
            throw ValidationError("--bucket takes a bucket name, got '\(bucket)'")
        }
        for path in ssmReadPaths where !path.hasPrefix("/") || path.contains("*") {
            throw ValidationError("--ssm-read-path takes a path starting with /, got '\(path)'")
        }
    }

    /// Prints the policy.
    public func run(context: CommandContext) throws {
        let document = KilnIAMPolicy.document(partition: partition, account: account, buckets: buckets,
                                              ssmReadPaths: ssmReadPaths)
        switch format {
        case .pretty: context.out(try jsonText(document))
        case .compact: context.out(try document.compactJSON() + "\n")
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}

/// An IAM policy document (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html).
public struct PolicyDocument: Codable, Sendable, Equatable {
    /// The policy language version; always `2012-10-17`.
    public var version: String
    /// The statements.
    public var statement: [PolicyStatement]

    enum CodingKeys: String, CodingKey {
        case version = "Version", statement = "Statement"
    }

    /// Every action of every Allow statement.
    public var actions: Set<String> { Set(statement.flatMap(\.action)) }

    /// The document as one line of JSON (sorted keys), as `--policy-document` takes it.
    public func compactJSON() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

/// One statement of a policy document.
public struct PolicyStatement: Codable, Sendable, Equatable {
    /// What the statement is for (letters and digits, as IAM requires).
    public var sid: String
    /// `Allow`.
    public var effect: String
    /// The actions, `service:Action`.
    public var action: [String]
    /// The ARNs (or `*`) the actions apply to.
    public var resource: [String]
    /// Conditions: operator → key → values.
    public var condition: [String: [String: [String]]]?

    enum CodingKeys: String, CodingKey {
        case sid = "Sid", effect = "Effect", action = "Action", resource = "Resource", condition = "Condition"
    }

    /// Creates an Allow statement.
    public init(_ sid: String, _ action: [String], _ resource: [String], condition: [String: [String: [String]]]? = nil) {
        self.sid = sid
        self.effect = "Allow"
        self.action = action
        self.resource = resource
        self.condition = condition
    }
}

/// The IAM policy kiln needs, and how kiln's AWS operations map to IAM actions.
public enum KilnIAMPolicy {
    /// The tag every resource a kiln build creates carries (see AMIPipeline's tags).
    public static let buildTag = "kiln:build-id"

    /// Operations kiln's clients send that need no permission on the policy's principal, with the reason.
    public static let operationsNeedingNoPermission: [String: String] = [
        "sts:AssumeRole": "asked with the caller's own credentials while resolving a profile's role_arn; the role's trust policy decides, not kiln's policy",
        "sts:AssumeRoleWithWebIdentity": "sent unsigned to obtain kiln's credentials from an OIDC token (GitHub Actions); the role's trust policy decides",
    ]

    /// Actions in the policy that no client operation maps to directly, with the reason they are needed.
    public static let actionsNotSentByClients: [String: String] = [
        "ecr:BatchCheckLayerAvailability": "ECR's registry API (OCI distribution-spec HEAD blob) during pushes",
        "ecr:InitiateLayerUpload": "ECR's registry API (POST blob upload) during pushes",
        "ecr:UploadLayerPart": "ECR's registry API (PATCH blob upload) during pushes",
        "ecr:CompleteLayerUpload": "ECR's registry API (PUT blob upload) during pushes",
        "ecr:PutImage": "ECR's registry API (PUT manifest) during pushes",
        "ecr:BatchGetImage": "ECR's registry API (GET/HEAD manifest) during pulls, pushes and kiln doctor",
        "ecr:GetDownloadUrlForLayer": "ECR's registry API (GET blob) during pulls and cross-repository mounts",
        "ec2:CreateTags": "RunInstances, CreateSecurityGroup, CreateImage and CopyImage with TagSpecifications need it; kiln also calls CreateTags",
    ]

    /// The IAM action an operation of a service needs, where the names differ (S3); otherwise `service:Operation`.
    /// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html
    public static func iamAction(service: String, operation: String) -> String {
        let s3: [String: String] = [
            "HeadObject": "GetObject",
            "HeadBucket": "ListBucket",
            "ListObjectsV2": "ListBucket",
            "ListObjects": "ListBucket",
            "DeleteObjects": "DeleteObject",
            "PutBucketLifecycleConfiguration": "PutLifecycleConfiguration",
            "GetBucketLifecycleConfiguration": "GetLifecycleConfiguration",
            "CreateMultipartUpload": "PutObject",
            "UploadPart": "PutObject",
            "CompleteMultipartUpload": "PutObject",
            "AbortMultipartUpload": "AbortMultipartUpload",
        ]
        if service == "s3", let action = s3[operation] { return "s3:\(action)" }
        return "\(service):\(operation)"
    }

    /// The policy. `account` nil means any account (`*`); `buckets` adds log buckets beside kiln-builds-*;
    /// `ssmReadPaths` adds SSM paths recipes' bases read.
    public static func document(partition: String = "aws", account: String? = nil, buckets: [String] = [],
                                ssmReadPaths: [String] = []) -> PolicyDocument {
        let acct = account ?? "*"
        func ec2(_ type: String) -> String { "arn:\(partition):ec2:*:\(acct):\(type)/*" }
        // AMI ARNs carry no account (arn:aws:ec2:REGION::image/ami-…).
        let images = "arn:\(partition):ec2:*::image/*"
        let taggedByKiln: [String: [String: [String]]] = ["Null": ["aws:ResourceTag/\(buildTag)": ["false"]]]
        let createdWithKilnTag: [String: [String: [String]]] = ["Null": ["aws:RequestTag/\(buildTag)": ["false"]]]
        let bucketNames = ["kiln-builds-*"] + buckets.sorted()
        let ssmReads = ["arn:\(partition):ssm:*::parameter/aws/service/*", "arn:\(partition):ssm:*:\(acct):parameter/kiln/*"]
            + ssmReadPaths.map { "arn:\(partition):ssm:*:\(acct):parameter\($0.hasSuffix("/") ? $0 : $0 + "/")*" }
            + ssmReadPaths.map { "arn:\(partition):ssm:*:\(acct):parameter\($0.hasSuffix("/") ? String($0.dropLast()) : $0)" }
        return PolicyDocument(version: "2012-10-17", statement: [
            // Describe calls and these reads support no resource-level permissions.
            PolicyStatement("KilnDescribe", [
                "ec2:DescribeImageAttribute", "ec2:DescribeImages", "ec2:DescribeInstanceAttribute", "ec2:DescribeInstances",
                "ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots", "ec2:DescribeSpotPriceHistory", "ec2:DescribeSubnets",
                "ec2:DescribeTags", "ec2:DescribeVpcs", "ec2:GetImageBlockPublicAccessState", "sts:GetCallerIdentity",
            ], ["*"]),
            // The build instance and its volumes must be created carrying kiln:build-id.
            PolicyStatement("KilnLaunchTaggedInstance", ["ec2:RunInstances"], [ec2("instance"), ec2("volume")],
                            condition: createdWithKilnTag),
            PolicyStatement("KilnLaunchFromImageAndNetwork", ["ec2:RunInstances"],
                            [images, ec2("subnet"), ec2("security-group"), ec2("network-interface"), ec2("spot-instances-request")]),
            PolicyStatement("KilnCreateTaggedSecurityGroup", ["ec2:CreateSecurityGroup"], [ec2("security-group")],
                            condition: createdWithKilnTag),
            PolicyStatement("KilnCreateSecurityGroupInVpc", ["ec2:CreateSecurityGroup"], [ec2("vpc")]),
            // Tags may be set only while creating (TagSpecifications) …
            PolicyStatement("KilnTagOnCreate", ["ec2:CreateTags"], ["*"], condition: [
                "StringEquals": ["ec2:CreateAction": ["CopyImage", "CreateImage", "CreateSecurityGroup", "RunInstances"]],
            ]),
            // … and everything that stops, deletes, changes or shares is limited to what kiln tagged.
            PolicyStatement("KilnManageTaggedResources", [
                "ec2:AuthorizeSecurityGroupEgress", "ec2:CreateImage", "ec2:CreateTags", "ec2:DeleteSecurityGroup",
                "ec2:DeregisterImage", "ec2:EnableImageDeprecation", "ec2:GetConsoleOutput", "ec2:ModifyImageAttribute",
                "ec2:RevokeSecurityGroupEgress", "ec2:StopInstances", "ec2:TerminateInstances",
            ], [ec2("instance"), ec2("security-group"), images], condition: taggedByKiln),
            // New AMIs (CreateImage in the build region, CopyImage to the others) and their snapshots.
            PolicyStatement("KilnCreateImages", ["ec2:CopyImage", "ec2:CreateImage"], [images, ec2("snapshot")]),
            // CreateImage's snapshots carry no tags, so deleting them cannot be scoped by tag.
            PolicyStatement("KilnDeleteSnapshots", ["ec2:DeleteSnapshot"], [ec2("snapshot")]),
            PolicyStatement("KilnReadParameters", ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"], ssmReads),
            PolicyStatement("KilnPublishParameters", ["ssm:PutParameter"],
                            ["arn:\(partition):ssm:*:\(acct):parameter/kiln/*"]),
            PolicyStatement("KilnLogBucket", ["s3:CreateBucket", "s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"],
                            bucketNames.map { "arn:\(partition):s3:::\($0)" }),
            PolicyStatement("KilnLogObjects", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                            bucketNames.map { "arn:\(partition):s3:::\($0)/*" }),
            // GetAuthorizationToken is registry-wide: it supports no resource.
            PolicyStatement("KilnRegistryLogin", ["ecr:GetAuthorizationToken"], ["*"]),
            PolicyStatement("KilnRepositories", [
                "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:CreateRepository",
                "ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload",
                "ecr:PutImage", "ecr:PutImageTagMutability", "ecr:PutLifecyclePolicy", "ecr:UploadLayerPart",
            ], ["arn:\(partition):ecr:*:\(acct):repository/*"]),
        ])
    }
}
