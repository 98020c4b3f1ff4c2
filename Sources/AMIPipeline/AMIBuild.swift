import Foundation
import AWSCore
import EC2
import Pipeline
import Recipe
import S3
import SSM
import STS

/// What an AMI build needs besides the recipe: where logs go, how long to wait, where the journal lives.
public struct AMIBuildOptions: Sendable {
    /// The build's ID (`kiln:build-id` tag; names the journal, the log and the security group).
    public var buildID: String
    /// The S3 bucket for the instance's log and result record; default `kiln-builds-<account>-<region>`.
    public var bucket: String?
    /// Days after which build logs expire from the bucket.
    public var logRetentionDays: Int
    /// Extra time beyond the recipe's timeout before kiln gives up on the instance's report.
    public var reportGrace: TimeInterval
    /// How often the instance is polled.
    public var pollInterval: TimeInterval
    /// How long to wait for images to become available.
    public var imageTimeout: TimeInterval
    /// Where failed builds' logs are saved (`.kiln/logs`).
    public var logsDirectory: String
    /// kiln's version, written into the user-data and tags.
    public var kilnVersion: String

    /// Creates options.
    public init(buildID: String, bucket: String? = nil, logRetentionDays: Int = 14, reportGrace: TimeInterval = 600,
                pollInterval: TimeInterval = 10, imageTimeout: TimeInterval = 3600, logsDirectory: String = ".kiln/logs",
                kilnVersion: String) {
        self.buildID = buildID
        self.bucket = bucket
        self.logRetentionDays = logRetentionDays
        self.reportGrace = reportGrace
        self.pollInterval = pollInterval
        self.imageTimeout = imageTimeout
        self.logsDirectory = logsDirectory
        self.kilnVersion = kilnVersion
    }
}

/// What a successful AMI build produced.
public struct AMIBuildResult: Sendable, Codable {
    /// The build's ID.
    public var buildID: String
    /// The recipe's name and version.
    public var recipe: String
    /// The recipe's version.
    public var version: String
    /// The recipe hash.
    public var hash: String
    /// The base AMI the build started from.
    public var baseAMI: String
    /// Region → AMI ID, the build region first.
    public var amis: [String: String]
    /// Whether the AMIs are public.
    public var isPublic: Bool
    /// Seconds the build took.
    public var seconds: Int
    /// Per-step durations reported by the instance.
    public var steps: [InstanceResult.StepResult]
}

/// The instance's result record (docs/instance-protocol.md).
public struct InstanceResult: Sendable, Codable {
    /// One step's outcome.
    public struct StepResult: Sendable, Codable {
        /// `recipe/step` or `test:recipe/name`.
        public var id: String
        /// Seconds it took.
        public var seconds: Int
        /// Its exit status.
        public var exit_code: Int
    }
    /// The protocol version.
    public var `protocol`: Int
    /// The build ID the script was rendered for.
    public var build_id: String
    /// `succeeded` or `failed`.
    public var status: String
    /// The script's exit status.
    public var exit_code: Int
    /// The step that failed.
    public var failed_step: String?
    /// The steps that ran.
    public var steps: [StepResult]
}

extension InstanceResult {
    /// The result from the console's last `::kiln:: result build=ID status=… exit=N [step=ID]` line of
    /// this build (docs/instance-protocol.md), for when the result record never reached S3.
    public static func fromConsole(_ console: String, buildID: String) -> InstanceResult? {
        for line in console.split(whereSeparator: \.isNewline).reversed() {
            guard let range = line.range(of: "::kiln:: result ") else { continue }
            var fields: [String: String] = [:]
            for pair in line[range.upperBound...].split(separator: " ") {
                let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
                if parts.count == 2 { fields[parts[0]] = parts[1].trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            guard fields["build"] == buildID, let status = fields["status"], let exit = fields["exit"].flatMap(Int.init) else { continue }
            let step = fields["step"].flatMap { $0 == "none" ? nil : $0 }
            return InstanceResult(protocol: 1, build_id: buildID, status: status, exit_code: exit, failed_step: step, steps: [])
        }
        return nil
    }
}

/// The one public error type of the AMI pipeline: a build that did not produce an image, and why.
public struct AMIBuildError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var message: String
    /// The log saved locally, when there is one.
    public var logPath: String?
    /// The last lines of the instance's log.
    public var logTail: [String]

    /// Creates an error.
    public init(_ message: String, logPath: String? = nil, logTail: [String] = []) {
        self.message = message
        self.logPath = logPath
        self.logTail = logTail
    }

    /// The message, the log's tail and where the whole log is.
    public var description: String {
        var text = message
        if !logTail.isEmpty { text += "\n--- last lines of the build log ---\n" + logTail.joined(separator: "\n") }
        if let logPath { text += "\nthe whole log: \(logPath)" }
        return text
    }
}

/// The AWS clients of one build.
public struct AMIClients: Sendable {
    /// EC2 in the build region.
    public var ec2: EC2Client
    /// SSM in the build region.
    public var ssm: SSMClient
    /// S3 in the build region.
    public var s3: S3Client
    /// STS.
    public var sts: STSClient
    /// The build region.
    public var region: String

    /// Makes the clients from one configuration.
    public init(config: AWSConfig) throws {
        ec2 = try EC2Client(config: config)
        ssm = try SSMClient(config: config)
        s3 = try S3Client(config: config)
        sts = try STSClient(config: config)
        region = config.region
    }
}

/// Builds an AMI from a recipe: the steps of docs/instance-protocol.md and the AMI issue, run by the
/// Pipeline runner so every created resource is journaled and cleaned up on failure or Ctrl-C.
public struct AMIBuilder: Sendable {
    /// The AWS clients.
    public var clients: AMIClients
    /// The options.
    public var options: AMIBuildOptions

    /// Creates a builder.
    public init(clients: AMIClients, options: AMIBuildOptions) {
        self.clients = clients
        self.options = options
    }

    /// Runs the whole build.
    public func build(_ recipe: ResolvedRecipe, hash: String, context: PipelineContext) throws -> AMIBuildResult {
        let start = context.clock()
        let pipeline = Pipeline(ResolveBase(builder: self))
            .then(PrepareReporting(builder: self))
            .then(CreateSecurityGroup(builder: self))
            .then(LaunchInstance(builder: self))
            .then(WaitForReport(builder: self))
            .then(CreateImage(builder: self))
            .then(CopyToRegions(builder: self))
            .then(ShareAndDeprecate(builder: self))
        let done: Finished
        do {
            done = try pipeline.run(BuildInput(recipe: recipe, hash: hash), context: context)
        } catch let error as PipelineError where !error.failures.isEmpty {
            // The AMIs exist; only a temporary resource was not confirmed gone: report both.
            guard let finished = context.completedOutput as? Finished else { throw error }
            context.progress.note("the AMIs were built, but cleaning up failed: \(error)")
            done = finished
        }
        return AMIBuildResult(buildID: options.buildID, recipe: recipe.name, version: recipe.version, hash: hash,
                              baseAMI: done.copied.imaged.reported.launched.secured.prepared.based.baseAMI,
                              amis: done.copied.amis, isPublic: recipe.ami.share?.isPublic ?? false,
                              seconds: Int(context.clock().timeIntervalSince(start)),
                              steps: done.copied.imaged.reported.result.steps)
    }

    /// The tags every resource of the build carries: kiln's own and the recipe's `ami.tags`.
    func tags(_ recipe: ResolvedRecipe, hash: String, expiresAt: Date) -> [EC2.Tag] {
        [EC2.Tag(key: "kiln:build-id", value: options.buildID),
         EC2.Tag(key: "kiln:recipe", value: recipe.name),
         EC2.Tag(key: "kiln:recipe-hash", value: hash),
         EC2.Tag(key: "kiln:expires-at", value: ISO8601DateFormatter().string(from: expiresAt))]
            + (recipe.ami.tags ?? [:]).sorted { $0.key < $1.key }.map { EC2.Tag(key: $0.key, value: $0.value) }
    }
}

/// The recipe and its hash: the pipeline's input.
public struct BuildInput: Sendable {
    /// The recipe.
    public var recipe: ResolvedRecipe
    /// Its hash.
    public var hash: String
}
