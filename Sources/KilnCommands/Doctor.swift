import ArgumentParser
import Foundation
import AWSCore
import EC2
import OCIRegistry
import Recipe
import S3
import STS
import Sandbox
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `kiln doctor`: checks that this machine and AWS account can build and publish, one line per check,
/// each a clear pass or a clear fix.
public struct Doctor: ContextCommand {
    /// Help and examples.
    public static let configuration = CommandConfiguration(
        abstract: "Check credentials, region, AMI sharing, the registry, the log bucket and local tools.",
        discussion: """
        Each line is a check: pass, warn (works, but something may need attention), fail (a build \
        would fail; the line says how to fix it) or skip. kiln doctor exits 1 when a check fails.

        AWS: who you are (STS GetCallerIdentity), the region, whether the account blocks public AMI \
        sharing in the region, how many of your AMIs are public against the default quota of 5 public \
        AMIs per region (Service Quotas, "Public AMIs"; pass --public-ami-quota when yours was raised), \
        and the log bucket (kiln-builds-<account>-<region>, or --bucket). Registry: an authenticated \
        request to --registry, or to each recipe's oci.repository (ECR logins through AWS). Local: root \
        or user namespaces, overlayfs and the namespaces the sandbox needs, debootstrap, and the \
        optional skopeo and umoci. Recipes (default recipes/) say which registries to check, whether \
        debootstrap is needed and whether AMIs are shared publicly.

        Examples:
          kiln doctor
          kiln doctor --json | jq '.checks[] | select(.status == "fail")'
          kiln doctor --registry 123456789012.dkr.ecr.us-east-1.amazonaws.com/jupyter --bucket my-kiln-logs
          kiln doctor --skip-aws recipes/examples/debian-datascience.yaml
        """)

    /// Recipes that say which registries, bases and sharing to check.
    @Argument(help: "Recipe files or directories (default recipes/, when it exists).")
    public var paths: [String] = []

    /// Registries to check instead of the recipes' repositories.
    @Option(name: .customLong("registry"), help: ArgumentHelp("Check this registry/repository (repeatable); default: the recipes' oci.repository.", valueName: "REF"))
    public var registries: [String] = []

    /// The log bucket.
    @Option(help: "The S3 log bucket kiln build --target ami uses (default kiln-builds-<account>-<region>).")
    public var bucket: String?

    /// The account's public-AMI quota, when raised above the default.
    @Option(help: "Your public-AMI quota per region, if raised (default: AWS's default of \(Doctor.defaultPublicAMIQuota)).")
    public var publicAMIQuota: Int?

    /// Skip every AWS check.
    @Flag(help: "Check only the local tools and registries (no AWS calls, except an ECR login).")
    public var skipAWS = false

    /// Global options.
    @OptionGroup public var global: GlobalOptions

    /// AWS's default quota of public AMIs per region (Service Quotas, EC2, "Public AMIs").
    /// https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ec2-resource-limits.html
    public static let defaultPublicAMIQuota = 5

    /// Creates the command.
    public init() {}

    /// Checks option values.
    public func validate() throws {
        if let publicAMIQuota, publicAMIQuota < 1 { throw ValidationError("--public-ami-quota must be at least 1") }
        for registry in registries {
            do { _ = try ImageReference(parsing: registry) } catch { throw ValidationError("--registry: \(error)") }
        }
    }

    /// Runs every check, prints them, and exits 1 when one failed.
    public func run(context: CommandContext) throws {
        let report = DoctorReport(checks: checks(context: context))
        if global.json {
            context.out(try jsonText(report))
        } else {
            context.out(report.text)
            let failed = report.checks.filter { $0.status == .fail }.count
            let warned = report.checks.filter { $0.status == .warn }.count
            context.err(failed == 0 ? "kiln doctor: ready (\(warned) warning\(warned == 1 ? "" : "s"))\n"
                                    : "kiln doctor: \(failed) check\(failed == 1 ? "" : "s") failed\n")
        }
        if !report.ok { throw ExitCode(1) }
    }

    /// All checks, in order: recipes, AWS, registries, local tools.
    func checks(context: CommandContext) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let facts = recipeFacts(context: context, checks: &checks)
        var awsConfig: AWSConfig?
        if skipAWS {
            checks.append(DoctorCheck("aws", .skip, "--skip-aws: no AWS checks"))
        } else {
            awsConfig = awsChecks(context: context, facts: facts, into: &checks)
        }
        checks += registryChecks(context: context, facts: facts, aws: awsConfig)
        checks += DoctorLocal.checks(environment: context.environment, needsDebootstrap: facts.debootstrap)
        return checks
    }

    // MARK: recipes

    /// What the recipes tell the checks.
    struct RecipeFacts {
        var repositories: [String] = []
        var debootstrap: [String] = []
        var publicAMIs: [String] = []
    }

    private func recipeFacts(context: CommandContext, checks: inout [DoctorCheck]) -> RecipeFacts {
        var facts = RecipeFacts()
        var searched = paths
        if searched.isEmpty {
            guard FileManager.default.fileExists(atPath: context.absolute("recipes")) else { return facts }
            searched = ["recipes"]
        }
        let files: [String]
        do {
            files = try recipePaths(searched, context: context)
        } catch {
            checks.append(DoctorCheck("recipes", .fail, "\(error)", fix: "name recipe files or directories that exist"))
            return facts
        }
        let loader = RecipeLoader(workingDirectory: context.workingDirectory)
        var invalid: [String] = []
        for path in files {
            guard let recipe = try? loader.load(path) else {
                invalid.append(path)
                continue
            }
            if let repository = recipe.oci.repository, !facts.repositories.contains(repository) {
                facts.repositories.append(repository)
            }
            if case .debootstrap = recipe.base.oci { facts.debootstrap.append(recipe.name) }
            if recipe.base.ami != nil, recipe.ami.share?.isPublic == true { facts.publicAMIs.append(recipe.name) }
        }
        if invalid.isEmpty {
            checks.append(DoctorCheck("recipes", .pass, "\(files.count) recipe\(files.count == 1 ? "" : "s") read from \(searched.joined(separator: ", "))"))
        } else {
            checks.append(DoctorCheck("recipes", .warn, "\(invalid.count) of \(files.count) recipes do not load: \(invalid.joined(separator: ", "))",
                                      fix: "run `kiln validate \(invalid.joined(separator: " "))` for the errors"))
        }
        return facts
    }

    // MARK: AWS

    /// Region, identity, AMI sharing, the public-AMI quota and the bucket; returns the configuration
    /// when a region was found (for ECR logins).
    private func awsChecks(context: CommandContext, facts: RecipeFacts, into checks: inout [DoctorCheck]) -> AWSConfig? {
        let config: AWSConfig
        do {
            config = try global.awsConfig(context: context)
        } catch {
            checks.append(DoctorCheck("region", .fail, "no AWS region: \(Doctor.firstLine(error))",
                                      fix: "pass --region, or set AWS_REGION (e.g. export AWS_REGION=us-east-1) or the profile's region"))
            return nil
        }
        checks.append(DoctorCheck("region", .pass, config.region + (config.endpointURL.map { " (endpoint \($0))" } ?? "")))

        let account: String
        do {
            let identity = try STSClient(config: config).getCallerIdentity()
            account = identity.account
            checks.append(DoctorCheck("identity", .pass, "\(identity.arn) (account \(identity.account))"))
        } catch {
            checks.append(DoctorCheck("identity", .fail, "STS GetCallerIdentity failed: \(Doctor.firstLine(error))",
                                      fix: Doctor.advice(error) ?? "kiln finds credentials as the AWS CLI does: AWS_ACCESS_KEY_ID and "
                                        + "AWS_SECRET_ACCESS_KEY, AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (CI), --profile or "
                                        + "AWS_PROFILE, container or instance roles; check with `aws sts get-caller-identity`"))
            for name in ["ami-block-public-access", "public-ami-quota", "bucket"] {
                checks.append(DoctorCheck(name, .skip, "needs a working AWS identity"))
            }
            return config
        }

        let ec2: EC2Client
        do {
            ec2 = try EC2Client(config: config)
        } catch {
            checks.append(DoctorCheck("ec2", .fail, "\(error)", fix: "check the region and --endpoint-url"))
            return config
        }
        let sharesPublicly = !facts.publicAMIs.isEmpty
        let publicNote = sharesPublicly ? "recipes sharing AMIs publicly: \(facts.publicAMIs.joined(separator: ", "))" : "no recipe shares AMIs publicly"

        // Block public access for AMIs (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/block-public-access-to-amis.html).
        do {
            let state = try ec2.getImageBlockPublicAccessState()
            let managed = state.managedBy.map { ", managed by \($0)" } ?? ""
            if state.imageBlockPublicAccessState == "unblocked" {
                checks.append(DoctorCheck("ami-block-public-access", .pass,
                                          "public AMI sharing is allowed in \(config.region) (unblocked\(managed))"))
            } else {
                checks.append(DoctorCheck("ami-block-public-access", sharesPublicly ? .fail : .warn,
                                          "the account blocks public AMI sharing in \(config.region) (\(state.imageBlockPublicAccessState)\(managed)); \(publicNote)",
                                          fix: "aws ec2 disable-image-block-public-access --region \(config.region)"
                                            + (state.managedBy == "declarative-policy" ? " (set by your organization's declarative policy: ask its administrators)" : "")
                                            + ", or set share.public: false in the recipes"))
            }
        } catch {
            checks.append(DoctorCheck("ami-block-public-access", sharesPublicly ? .fail : .warn,
                                      "could not read the state (EC2 GetImageBlockPublicAccessState): \(Doctor.firstLine(error))",
                                      fix: Doctor.advice(error) ?? "check with `aws ec2 get-image-block-public-access-state --region \(config.region)`; "
                                        + "kiln needs ec2:GetImageBlockPublicAccessState (kiln iam-policy)"))
        }

        // Public AMIs in use against the quota.
        let quota = publicAMIQuota ?? Doctor.defaultPublicAMIQuota
        let quotaSource = publicAMIQuota == nil
            ? "AWS's default quota of \(quota) per region; if yours was raised, see `aws service-quotas list-service-quotas --service-code ec2 --query \"Quotas[?QuotaName=='Public AMIs']\"` and pass --public-ami-quota"
            : "your quota of \(quota) (--public-ami-quota)"
        do {
            let owned = try ec2.describeImages(owners: ["self"], filters: [EC2.Filter(name: "is-public", values: ["true"])])
            let count = owned.filter { $0.isPublic == true }.count
            if count < quota {
                checks.append(DoctorCheck("public-ami-quota", .pass, "\(count) of \(quota) public AMIs in \(config.region) (\(quotaSource))"))
            } else {
                checks.append(DoctorCheck("public-ami-quota", sharesPublicly ? .fail : .warn,
                                          "\(count) of \(quota) public AMIs in \(config.region): no room for another (\(quotaSource)); \(publicNote)",
                                          fix: "retire old public AMIs (kiln gc --keep N), make some private, or request a higher "
                                            + "'Public AMIs' quota in Service Quotas"))
            }
        } catch {
            checks.append(DoctorCheck("public-ami-quota", .fail, "EC2 DescribeImages failed: \(Doctor.firstLine(error))",
                                      fix: Doctor.advice(error) ?? "kiln needs ec2:DescribeImages (kiln iam-policy)"))
        }

        // The log bucket.
        let name = bucket ?? "kiln-builds-\(account)-\(config.region)"
        do {
            let s3 = try S3Client(config: config)
            let rules = try s3.getBucketLifecycleConfiguration(bucket: name)
            checks.append(DoctorCheck("bucket", .pass, "s3://\(name) is reachable (\(rules.count) lifecycle rule\(rules.count == 1 ? "" : "s"))"))
        } catch let error as AWSError where error.code == "NoSuchBucket" {
            checks.append(DoctorCheck("bucket", .warn, "s3://\(name) does not exist yet",
                                      fix: "the first `kiln build --target ami` creates it (needs s3:CreateBucket); or create it now: "
                                        + "aws s3 mb s3://\(name) --region \(config.region)"))
        } catch {
            checks.append(DoctorCheck("bucket", .fail, "s3://\(name) is not usable: \(Doctor.firstLine(error))",
                                      fix: Doctor.advice(error) ?? "check the name (--bucket) and that it is in \(config.region); kiln needs "
                                        + "s3:GetLifecycleConfiguration, s3:PutObject and s3:GetObject on it (kiln iam-policy --bucket \(name))"))
        }
        return config
    }

    // MARK: registries

    private func registryChecks(context: CommandContext, facts: RecipeFacts, aws: AWSConfig?) -> [DoctorCheck] {
        let references = registries.isEmpty ? facts.repositories : registries
        guard !references.isEmpty else {
            return [DoctorCheck("registry", .skip, "no registry to check: name one with --registry REF, or set oci.repository in a recipe")]
        }
        return references.map { text in
            do {
                let reference = try ImageReference(parsing: text)
                var config = aws
                if reference.isECR {
                    if config == nil { config = try global.awsConfig(context: context, region: reference.ecrRegion) }
                    if let region = reference.ecrRegion { config?.region = region }
                }
                var options = RegistryOptions(environment: context.environment)
                options.maxAttempts = 1
                let client = try Registries.client(for: reference, options: options, aws: config)
                let tag = reference.manifestReference
                if let digest = try client.manifestDigest(tag, in: reference.repository) {
                    return DoctorCheck("registry", .pass, "\(reference.registry)/\(reference.repository) is reachable; :\(tag) is \(digest)")
                }
                return DoctorCheck("registry", .pass, "\(reference.registry)/\(reference.repository) is reachable; no :\(tag) pushed yet")
            } catch {
                let (found, fix) = Doctor.registryProblem(error, reference: text)
                return DoctorCheck("registry", .fail, "\(text): \(found)", fix: fix)
            }
        }
    }

    /// What went wrong and what to do: a registry error's description says both, split at its last "; ".
    static func registryProblem(_ error: any Error, reference: String) -> (String, String) {
        let text = firstLine(error)
        if error is RegistryError, let range = text.range(of: "; ", options: .backwards) {
            return (String(text[..<range.lowerBound]), String(text[range.upperBound...]))
        }
        return (text, advice(error) ?? "check that \(reference) names a registry you can reach (host[:port]/repository), "
                    + "and log in with `docker login`")
    }

    // MARK: helpers

    /// The first line of an error's description.
    static func firstLine(_ error: any Error) -> String {
        String("\(error)".split(separator: "\n", maxSplits: 1).first ?? "")
    }

    /// An AWS error's advice (the `→` line), when it has one.
    static func advice(_ error: any Error) -> String? {
        (error as? AWSError)?.advice
    }
}

/// The outcome of one check.
public enum DoctorStatus: String, Codable, Sendable {
    /// Fine.
    case pass
    /// Works, but worth a look (the fix says what to do).
    case warn
    /// A build or publish would fail: the fix says what to do.
    case fail
    /// Not checked (the detail says why).
    case skip
}

/// One line of `kiln doctor`.
public struct DoctorCheck: Codable, Sendable, Equatable {
    /// What was checked (`identity`, `bucket`, `sandbox`, …).
    public var name: String
    /// The outcome.
    public var status: DoctorStatus
    /// What was found.
    public var detail: String
    /// What to do, for warn and fail.
    public var fix: String?

    /// Creates a check line.
    public init(_ name: String, _ status: DoctorStatus, _ detail: String, fix: String? = nil) {
        self.name = name
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// Every check, and whether none failed.
struct DoctorReport: Encodable {
    var checks: [DoctorCheck]
    var ok: Bool { !checks.contains { $0.status == .fail } }

    enum CodingKeys: String, CodingKey { case ok, checks }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ok, forKey: .ok)
        try container.encode(checks, forKey: .checks)
    }

    /// `pass  identity                 arn:…` lines, with `fix:` under warnings and failures.
    var text: String {
        let width = max(12, checks.map(\.name.count).max() ?? 0)
        return checks.map { check in
            var line = "\(check.status.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0))  "
                + "\(check.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.detail)\n"
            if let fix = check.fix { line += "      \(String(repeating: " ", count: width))  fix: \(fix)\n" }
            return line
        }.joined()
    }
}

/// The local checks: privileges, the sandbox's kernel features, and the programs builds use.
enum DoctorLocal {
    /// The checks, with programs looked up on the environment's PATH.
    static func checks(environment: [String: String], needsDebootstrap: [String]) -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let root = geteuid() == 0
        checks.append(DoctorCheck("privileges", .pass, root
            ? "running as root: the sandbox uses mount, PID, UTS and IPC namespaces directly"
            : "running as uid \(geteuid()): the sandbox maps it to root in a user namespace"))
        let problems = Sandbox.checkSupport()
        if problems.isEmpty {
            checks.append(DoctorCheck("sandbox", .pass, "namespaces (mount, PID, UTS, IPC\(root ? "" : ", user")) and overlayfs are available"))
        } else {
            for problem in problems {
                let (found, fix) = split(problem)
                checks.append(DoctorCheck("sandbox", .fail, found, fix: fix))
            }
        }
        let path = environment["PATH"] ?? SandboxCommand.defaultPath
        if let found = which("debootstrap", path: path) {
            checks.append(DoctorCheck("debootstrap", .pass, found))
        } else {
            let needed = !needsDebootstrap.isEmpty
            checks.append(DoctorCheck("debootstrap", needed ? .fail : .warn,
                                      "debootstrap is not on PATH" + (needed ? "; needed by \(needsDebootstrap.joined(separator: ", "))"
                                                                           : "; needed for recipes with base oci: debootstrap"),
                                      fix: "apt-get install debootstrap"))
        }
        for (tool, purpose) in [("skopeo", "copies and inspects images in registries"), ("umoci", "unpacks OCI layouts to check them")] {
            if let found = which(tool, path: path) {
                checks.append(DoctorCheck(tool, .pass, found))
            } else {
                checks.append(DoctorCheck(tool, .warn, "\(tool) is not on PATH (optional: \(purpose))", fix: "apt-get install \(tool)"))
            }
        }
        return checks
    }

    /// A Sandbox problem split into what is wrong and what to do (its text says both, after a `(` or `; `).
    static func split(_ problem: String) -> (String, String) {
        if let range = problem.range(of: "; ") {
            return (String(problem[..<range.lowerBound]), String(problem[range.upperBound...]))
        }
        if let open = problem.range(of: " ("), problem.hasSuffix(")") {
            let inside = String(problem[open.upperBound...].dropLast())
            if inside.hasPrefix("run ") || inside.hasPrefix("sysctl ") { return (String(problem[..<open.lowerBound]), inside) }
            return (problem, "use a kernel with namespaces enabled; inside a container, run kiln in a privileged container")
        }
        return (problem, "see docs/oci-builds.md for what the sandbox needs")
    }

    /// The first executable `name` on `path`.
    static func which(_ name: String, path: String) -> String? {
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
               access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }
}
