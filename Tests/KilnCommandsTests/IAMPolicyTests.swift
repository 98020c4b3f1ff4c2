import Foundation
import Testing
@testable import KilnCommands

/// The AWS operations kiln's service clients send, read from their source: the names as the clients
/// pass them to the protocols (EC2 `call("X"` / `paginate("X"` / `callReturningBool("X"`, JSON-protocol
/// `json.call(client, "X"`, S3 `AWSRequest(operation: "X"`, STS and ECR `let action|operation = "X"`),
/// plus S3's presigned GET and PUT.
enum ClientOperations {
    /// The service modules and the IAM service prefix of each.
    static let modules = [("EC2", "ec2"), ("SSM", "ssm"), ("S3", "s3"), ("ECR", "ecr"), ("STS", "sts")]

    /// How the clients name the operation they send.
    static let patterns = [
        #"\b(?:call|paginate|callReturningBool)\(\s*"([A-Z][A-Za-z0-9]+)""#,
        #"\bjson\.call\(\s*client\s*,\s*"([A-Z][A-Za-z0-9]+)""#,
        #"\bquery\.(?:call|paginate)\(\s*client\s*,\s*"([A-Z][A-Za-z0-9]+)""#,
        #"AWSRequest\(\s*operation:\s*"([A-Z][A-Za-z0-9]+)""#,
        #"\blet (?:action|operation) = "([A-Z][A-Za-z0-9]+)""#,
    ]

    /// A string literal that looks like an AWS operation name (verb + noun), wherever it appears.
    static let operationLike = #""((?:Create|Delete|Describe|Get|Put|Modify|Run|Terminate|Stop|Start|Copy|Deregister|Register|Enable|Disable|Authorize|Revoke|List|Batch|Assume|Head|Update|Tag|Untag|Add|Remove|Reset|Import|Export|Associate|Disassociate|Attach|Detach|Send|Initiate|Complete|Upload|Abort|Restore|Cancel|Reboot|Set|Label|Search|Request)[A-Z][A-Za-z0-9]*)""#

    /// Literals of that shape that are not operations (XML element names, error codes).
    static let notOperations: Set<String> = ["CreateBucketConfiguration"]

    /// Request parameter names (`parameters.add("StartTime", …)`, `add(list: "TagSpecification", …)`), which are not operations.
    static let parameterName = #"\badd\(\s*(?:list:\s*|structure:\s*)?"([A-Z][A-Za-z0-9]*)""#

    /// Source lines without `//` comments.
    static func code(of file: String) throws -> String {
        try String(contentsOfFile: file, encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("//") }
            .joined(separator: "\n")
    }

    static func matches(_ pattern: String, in text: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern)
        let range = NSRange(text.startIndex..., in: text)
        return regex.matches(in: text, range: range).compactMap { match in
            Range(match.range(at: 1), in: text).map { String(text[$0]) }
        }
    }

    /// `service` → operations found; `stray` lists operation-like literals that no pattern explains.
    static func scan(root: String) throws -> (operations: [String: Set<String>], stray: [String]) {
        var operations: [String: Set<String>] = [:]
        var stray: [String] = []
        for (module, service) in modules {
            let directory = "\(root)/Sources/\(module)"
            let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".swift") }.sorted()
            var found: Set<String> = []
            var literals: Set<String> = []
            var parameters: Set<String> = []
            for file in files {
                let text = try code(of: "\(directory)/\(file)")
                for pattern in patterns { found.formUnion(try matches(pattern, in: text)) }
                literals.formUnion(try matches(operationLike, in: text))
                parameters.formUnion(try matches(parameterName, in: text))
                // Presigned URLs are requests kiln's credentials sign for someone else to send.
                if module == "S3", text.contains("func presignedURL(") { found.formUnion(["GetObject", "PutObject"]) }
            }
            operations[service] = found
            stray += literals.subtracting(found).subtracting(parameters).subtracting(notOperations).map { "\(module): \"\($0)\"" }
        }
        return (operations, stray.sorted())
    }
}

@Suite("kiln iam-policy")
struct IAMPolicyTests {
    @Test("the scan finds the operations known to be sent, in every service module")
    func scanFindsKnownOperations() throws {
        let (operations, _) = try ClientOperations.scan(root: repositoryRoot)
        let known: [(String, String)] = [
            ("ec2", "RunInstances"), ("ec2", "DescribeImages"), ("ec2", "CreateTags"), ("ec2", "DeleteSnapshot"),
            ("ec2", "GetImageBlockPublicAccessState"), ("ec2", "DescribeSecurityGroups"),
            ("ssm", "GetParameter"), ("ssm", "PutParameter"), ("ssm", "GetParametersByPath"),
            ("s3", "CreateBucket"), ("s3", "PutObject"), ("s3", "GetBucketLifecycleConfiguration"), ("s3", "GetObject"),
            ("ecr", "GetAuthorizationToken"), ("ecr", "CreateRepository"), ("ecr", "PutLifecyclePolicy"),
            ("sts", "GetCallerIdentity"), ("sts", "AssumeRoleWithWebIdentity"),
        ]
        for (service, operation) in known {
            #expect(operations[service, default: []].contains(operation), "the scan missed \(service) \(operation)")
        }
    }

    @Test("no string literal in the service modules looks like an operation the scan does not see")
    func noUnscannedOperations() throws {
        let (_, stray) = try ClientOperations.scan(root: repositoryRoot)
        #expect(stray.isEmpty, """
            these look like AWS operations but are not sent in a way the scan recognises: \(stray). \
            Teach ClientOperations.patterns the new call form, or list a literal that is not an operation in notOperations.
            """)
    }

    @Test("every AWS action kiln's clients call is in the policy, or needs no permission")
    func everyCalledActionIsAllowed() throws {
        let (operations, _) = try ClientOperations.scan(root: repositoryRoot)
        let policy = KilnIAMPolicy.document().actions
        var missing: [String] = []
        for (service, names) in operations {
            for name in names {
                let action = KilnIAMPolicy.iamAction(service: service, operation: name)
                if !policy.contains(action), KilnIAMPolicy.operationsNeedingNoPermission[action] == nil {
                    missing.append(action)
                }
            }
        }
        #expect(missing.isEmpty, "kiln calls these but `kiln iam-policy` does not allow them: \(missing.sorted())")
    }

    @Test("the policy grants nothing kiln does not call (least privilege)")
    func nothingExtra() throws {
        let (operations, _) = try ClientOperations.scan(root: repositoryRoot)
        let called = Set(operations.flatMap { service, names in names.map { KilnIAMPolicy.iamAction(service: service, operation: $0) } })
        let extra = KilnIAMPolicy.document().actions.subtracting(called).subtracting(KilnIAMPolicy.actionsNotSentByClients.keys)
        #expect(extra.isEmpty, "the policy allows actions no client sends and no reason explains: \(extra.sorted())")
        let exempt = Set(KilnIAMPolicy.operationsNeedingNoPermission.keys)
        #expect(exempt.isDisjoint(with: KilnIAMPolicy.document().actions))
        #expect(exempt.isSubset(of: called), "operationsNeedingNoPermission names operations no client sends")
        #expect(!KilnIAMPolicy.document().actions.contains("iam:PassRole"), "kiln passes no role")
    }

    @Test("a client gaining an operation the policy lacks fails the check")
    func detectsNewOperation() throws {
        let dir = try TempDir()
        for (module, _) in ClientOperations.modules {
            try dir.write("Sources/\(module)/Client.swift", "struct C {}\n")
        }
        try dir.write("Sources/EC2/EC2Client+Volumes.swift", """
            extension EC2Client {
                // call("CommentedOut") is not code
                func f() { parameters.add("StartTime", start) }
                public func deleteVolume(_ id: String) throws -> Bool { try callReturningBool("DeleteVolume", parameters) }
            }
            """)
        try dir.write("Sources/S3/S3Client+List.swift", #"let request = AWSRequest(operation: "ListObjectsV2", method: "GET", path: "")"#)
        let (operations, stray) = try ClientOperations.scan(root: dir.path)
        #expect(operations["ec2"] == ["DeleteVolume"])
        #expect(operations["s3"] == ["ListObjectsV2"])
        #expect(stray.isEmpty)
        let policy = KilnIAMPolicy.document().actions
        #expect(!policy.contains(KilnIAMPolicy.iamAction(service: "ec2", operation: "DeleteVolume")))
        #expect(!policy.contains(KilnIAMPolicy.iamAction(service: "s3", operation: "ListObjectsV2")))
        try dir.write("Sources/SSM/SSMClient+Delete.swift", #"let name = "DeleteParameter"; send(name)"#)
        #expect(try ClientOperations.scan(root: dir.path).stray == [#"SSM: "DeleteParameter""#])
    }

    @Test("S3 operations map to the IAM actions S3 authorizes them with", arguments: [
        ("HeadObject", "s3:GetObject"), ("PutBucketLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
        ("GetBucketLifecycleConfiguration", "s3:GetLifecycleConfiguration"), ("ListObjectsV2", "s3:ListBucket"),
        ("PutObject", "s3:PutObject"),
    ])
    func s3Mapping(operation: String, action: String) {
        #expect(KilnIAMPolicy.iamAction(service: "s3", operation: operation) == action)
        #expect(KilnIAMPolicy.iamAction(service: "ec2", operation: operation) == "ec2:\(operation)")
    }

    @Test("kiln iam-policy prints a valid policy document: Version, Statement, Effect/Action/Resource")
    func documentStructure() throws {
        let (code, io) = kiln(["iam-policy"])
        #expect(code == 0, "\(io.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(io.out.utf8)) as? [String: Any])
        #expect(Set(json.keys) == ["Version", "Statement"])
        #expect(json["Version"] as? String == "2012-10-17")
        let statements = try #require(json["Statement"] as? [[String: Any]])
        #expect(statements.count >= 10)
        var sids: Set<String> = []
        for statement in statements {
            let sid = try #require(statement["Sid"] as? String)
            #expect(sid.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "Sid \(sid) must be alphanumeric")
            #expect(sids.insert(sid).inserted, "duplicate Sid \(sid)")
            #expect(Set(statement.keys).isSubset(of: ["Sid", "Effect", "Action", "Resource", "Condition"]))
            #expect(statement["Effect"] as? String == "Allow")
            let actions = try #require(statement["Action"] as? [String])
            #expect(!actions.isEmpty)
            for action in actions {
                #expect(action.range(of: #"^(ec2|ssm|s3|ecr|sts):[A-Z][A-Za-z0-9]+$"#, options: .regularExpression) != nil, "\(action)")
            }
            let resources = try #require(statement["Resource"] as? [String])
            for resource in resources {
                #expect(resource == "*" || resource.hasPrefix("arn:aws:"), "\(resource)")
            }
            if let condition = statement["Condition"] {
                #expect(condition is [String: [String: [String]]])
            }
        }
        // IAM's limit for a role's inline policies is 10,240 characters, a managed policy's 6,144 (whitespace excluded).
        let compact = try KilnIAMPolicy.document().compactJSON()
        #expect(compact.count < 6144, "\(compact.count) characters")
        #expect(try JSONDecoder().decode(PolicyDocument.self, from: Data(io.out.utf8)) == KilnIAMPolicy.document())
    }

    @Test("deleting, stopping and sharing are scoped to resources tagged kiln:build-id")
    func tagScoping() throws {
        let document = KilnIAMPolicy.document()
        for action in ["ec2:TerminateInstances", "ec2:StopInstances", "ec2:DeregisterImage", "ec2:DeleteSecurityGroup",
                       "ec2:ModifyImageAttribute", "ec2:EnableImageDeprecation"] {
            let granting = document.statement.filter { $0.action.contains(action) }
            #expect(!granting.isEmpty, "\(action) is not granted")
            for statement in granting {
                #expect(statement.condition?["Null"]?["aws:ResourceTag/kiln:build-id"] == ["false"], "\(action) in \(statement.sid) is not tag-scoped")
                #expect(!statement.resource.contains("*"))
            }
        }
        let launch = document.statement.filter { $0.action.contains("ec2:RunInstances") && $0.resource.contains { $0.contains(":instance/") } }
        #expect(launch.count == 1)
        #expect(launch.first?.condition?["Null"]?["aws:RequestTag/kiln:build-id"] == ["false"])
        let objects = try #require(document.statement.first { $0.action.contains("s3:PutObject") })
        #expect(objects.resource == ["arn:aws:s3:::kiln-builds-*/*"])
        let put = try #require(document.statement.first { $0.action.contains("ssm:PutParameter") })
        #expect(put.resource == ["arn:aws:ssm:*:*:parameter/kiln/*"])
    }

    @Test("options scope the ARNs: account, partition, buckets, SSM paths; compact is one line")
    func options() throws {
        let (code, io) = kiln(["iam-policy", "--format", "compact", "--account", "123456789012", "--partition", "aws-cn",
                               "--bucket", "my-logs", "--ssm-read-path", "/team/amis"])
        #expect(code == 0, "\(io.err)")
        #expect(io.out.filter { $0 == "\n" }.count == 1)
        let document = try JSONDecoder().decode(PolicyDocument.self, from: Data(io.out.utf8))
        let resources = document.statement.flatMap(\.resource)
        #expect(resources.contains("arn:aws-cn:s3:::my-logs/*"))
        #expect(resources.contains("arn:aws-cn:s3:::kiln-builds-*"))
        #expect(resources.contains("arn:aws-cn:ssm:*:123456789012:parameter/team/amis/*"))
        #expect(resources.contains("arn:aws-cn:ecr:*:123456789012:repository/*"))
        #expect(resources.allSatisfy { $0 == "*" || $0.hasPrefix("arn:aws-cn:") })

        let (bad, badIO) = kiln(["iam-policy", "--account", "12345"])
        #expect(bad == 64)
        #expect(badIO.err.contains("--account must be a 12-digit account ID"))
    }
}
