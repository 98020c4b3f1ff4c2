import Foundation
import Testing
import KilnTestSupport
import AWSCore
import AMIPipeline
import EC2
import Pipeline
import Recipe

/// One AMI build against moto, with the instance played for real by the simulator.
final class Harness: @unchecked Sendable {
    let moto: MotoServer
    let simulator: InstanceSimulator
    let dir: TempDirectory
    let config: AWSConfig
    let clients: AMIClients
    let ec2: EC2Client
    let baseAMI: String
    /// EC2 on moto itself, past any proxy.
    let direct: EC2Client
    let lines = LineCollector()

    /// `proxy` puts a proxy between kiln (and the instance's uploads) and moto; the simulator and the
    /// test's own checks talk to moto directly.
    init(behaviour: InstanceSimulator.Behaviour = .run, proxy: ((MotoServer) throws -> String)? = nil,
         maxAttempts: Int = 3) throws {
        moto = try MotoServer()
        simulator = try InstanceSimulator(moto: moto, regions: ["us-east-1"], behaviour: behaviour)
        dir = try TempDirectory()
        let endpoint = try proxy?(moto) ?? moto.url
        config = AWSConfig(region: "us-east-1", credentials: MotoCredentials(), endpointURL: endpoint, maxAttempts: maxAttempts,
                           baseDelay: 0.01)
        direct = try EC2Client(config: AWSConfig(region: "us-east-1", credentials: MotoCredentials(), endpointURL: moto.url, maxAttempts: 3))
        clients = try AMIClients(config: config)
        ec2 = clients.ec2
        let images = try direct.describeImages(owners: ["amazon"], filters: [EC2.Filter(name: "name", values: ["amzn2-ami-hvm-*"])])
        baseAMI = try #require(images.first?.imageID)
        simulator.start()
    }

    deinit { simulator.stop() }

    /// A recipe in the temporary directory, on moto's base AMI.
    func recipe(steps: String, tests: String = "", ami: String = "") throws -> ResolvedRecipe {
        try dir.write("files/motd", "built by kiln\n")
        let path = try dir.write("r.yaml", """
        name: demo
        version: "1"
        base: {ami: {id: \(baseAMI)}}
        steps:
        \(steps)
        tests:
          - "true"
        \(tests)
        ami:
          instance_types: [t3.micro]
          timeout_minutes: 5
        \(ami)
        """)
        return try RecipeLoader().load(path)
    }

    /// Runs a build; `clock` and `cancelAt` shape the run.
    func build(_ recipe: ResolvedRecipe, buildID: String = "b-\(UUID().uuidString.prefix(6).lowercased())",
               clock: @escaping @Sendable () -> Date = Date.init, cancelAt step: String? = nil) throws -> (AMIBuildResult?, Error?, Journal) {
        let journal = try Journal(directory: dir.path + "/runs", buildID: buildID, recipe: recipe.name)
        let box = ContextBox()
        let progress = ProgressReporter(write: { [lines] line in
            lines.add(line)
            if let step, line.contains("▸ \(step)") { box.context?.cancel(signal: "SIGINT") }
        })
        let context = PipelineContext(buildID: buildID, journal: journal, progress: progress, clock: clock,
                                      sleep: { Thread.sleep(forTimeInterval: min($0, 0.2)) })
        box.context = context
        let builder = AMIBuilder(clients: clients, options: AMIBuildOptions(
            buildID: buildID, bucket: "kiln-test-logs", reportGrace: 30, pollInterval: 0.2, imageTimeout: 60,
            logsDirectory: dir.path + "/logs", kilnVersion: "test"))
        do {
            return (try builder.build(recipe, hash: try RecipeHash.compute(recipe), context: context), nil, journal)
        } catch {
            return (nil, error, journal)
        }
    }

    /// Everything of a build still in moto, in every region given: what must be empty after a failure.
    func leftovers(_ buildID: String, regions: [String] = ["us-east-1", "us-west-2", "eu-west-1"]) throws -> [String] {
        var found: [String] = []
        let filter = [EC2.Filter(name: "tag:kiln:build-id", values: [buildID])]
        for region in regions {
            let ec2 = try direct.inRegion(region)
            found += try ec2.describeInstances(filters: filter).filter { $0.state.name != .terminated }.map { "instance \($0.instanceID)" }
            found += try ec2.describeSecurityGroups(filters: filter).map { "security group \($0.groupID)" }
            found += try ec2.describeImages(owners: ["self"], filters: filter).map { "AMI \($0.imageID) in \(region)" }
            found += try ec2.describeSnapshots(ownerIDs: ["self"], filters: filter).map { "snapshot \($0.snapshotID)" }
        }
        return found
    }
}

final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var _lines: [String] = []
    func add(_ line: String) { lock.withLock { _lines.append(line) } }
    var lines: [String] { lock.withLock { _lines } }
}

final class ContextBox: @unchecked Sendable {
    var context: PipelineContext?
}

func requireRoot() -> Bool {
    if getuid() != 0 { Issue.record("the AMI pipeline tests play the instance with bubblewrap as root: run the suite as root (CI does)") }
    return getuid() == 0
}

@Suite("AMI builds on moto, the instance played for real", .serialized)
struct AMIBuildTests {
    @Test("success: the AMI is available, tagged, copied to two regions, public; nothing temporary is left")
    func success() throws {
        guard requireRoot() else { return }
        let h = try Harness()
        let recipe = try h.recipe(steps: """
          - name: hello
            run: echo "hello from the build" > /etc/kiln-hello
          - name: motd
            files: [{src: files/motd, dest: /etc/motd}]
        """, tests: """
          - grep -q hello /etc/kiln-hello
        """, ami: """
          regions: [us-west-2, eu-west-1]
          share: {public: true}
          tags: {course: stat101}
        """)
        let (result, error, journal) = try h.build(recipe)
        let built = try #require(result, "the build failed: \(String(describing: error))\n\(h.lines.lines.joined(separator: "\n"))")
        #expect(Set(built.amis.keys) == ["us-east-1", "us-west-2", "eu-west-1"])
        #expect(built.steps.map(\.id).contains("demo/hello") && built.steps.map(\.id).contains("test:demo/test-2"))
        for (region, ami) in built.amis {
            let ec2 = try h.ec2.inRegion(region)
            let image = try #require(try ec2.describeImages(imageIDs: [ami]).first)
            #expect(image.state == .available)
            #expect(image.tags.value(for: "kiln:build-id") == built.buildID)
            #expect(image.tags.value(for: "kiln:recipe") == "demo")
            #expect(image.tags.value(for: "kiln:complete") == "true")
            #expect(image.tags.value(for: "course") == "stat101", "the recipe's ami.tags reach the AMI in \(region)")
            let permissions = try ec2.describeImageAttribute(imageID: ami, attribute: .launchPermission)
            #expect(permissions.launchPermissions.contains { $0.group == "all" }, "\(region) not public")
        }
        // The instance really ran the user-data, reported and was stopped; then it was terminated.
        let instanceID = try #require(journal.record.entries.first { $0.kind == "instance" }?.id)
        #expect(h.simulator.play(of: instanceID)?.exitStatus == 0)
        let leftovers = try h.leftovers(built.buildID).filter { !$0.hasPrefix("AMI") && !$0.hasPrefix("snapshot") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        #expect(journal.record.entries.filter { $0.kind == "instance" || $0.kind == "security-group" }.allSatisfy { $0.state == "deleted" })
        // Progress showed the steps as they went.
        #expect(h.lines.lines.contains { $0.contains("launch instance") })
    }

    @Test("a failing step: no AMI, the step and the log's tail reported, the log saved, nothing left", arguments: [
        ("step", "  - name: broken\n    run: |\n      echo about to fail\n      exit 3\n", "", "demo/broken"),
        ("test", "  - name: fine\n    run: \"true\"\n", "  - name: must-fail\n    run: test -e /nonexistent\n", "test:demo/must-fail"),
    ])
    func failure(_ c: (String, String, String, String)) throws {
        guard requireRoot() else { return }
        let h = try Harness()
        let recipe = try h.recipe(steps: c.1, tests: c.2)
        let (result, error, journal) = try h.build(recipe)
        #expect(result == nil)
        let failure = try #require(error as? AMIBuildError, "\(String(describing: error))")
        #expect(failure.message.contains("step \(c.3) failed"), "\(failure)")
        let logPath = try #require(failure.logPath)
        #expect(FileManager.default.fileExists(atPath: logPath))
        if c.0 == "step" { #expect(failure.logTail.contains { $0.contains("about to fail") }) }
        #expect(try h.leftovers(journal.record.buildID).isEmpty)
    }

    @Test("the instance never reports: the build times out, cleans up and makes no image")
    func neverReports() throws {
        guard requireRoot() else { return }
        let h = try Harness(behaviour: .neverReport)
        let recipe = try h.recipe(steps: "  - name: s\n    run: \"true\"\n")
        // A clock that runs 600 times faster: the 5-minute timeout and 30 s grace pass in about half a second.
        let start = Date()
        let fast: @Sendable () -> Date = { start.addingTimeInterval(Date().timeIntervalSince(start) * 600) }
        let (result, error, journal) = try h.build(recipe, clock: fast)
        #expect(result == nil)
        #expect("\(String(describing: error))".contains("did not report within"))
        #expect(try h.leftovers(journal.record.buildID).isEmpty)
    }
}

@Suite("AMI builds cancelled (SIGINT) at every step", .serialized)
struct AMICancelTests {
    static let steps = ["resolve base AMI", "prepare reporting", "create security group", "launch instance",
                        "wait for the instance's report", "create image", "copy to regions", "share and deprecate"]

    @Test("Ctrl-C as a step starts: the build stops, cleans up everything, and makes no AMI", arguments: steps)
    func cancelled(at step: String) throws {
        guard requireRoot() else { return }
        let h = try Harness()
        let recipe = try h.recipe(steps: "  - name: s\n    run: \"true\"\n", ami: "  regions: [us-west-2]\n")
        let (result, error, journal) = try h.build(recipe, cancelAt: step)
        #expect(result == nil)
        #expect(error is PipelineCancelled || "\(String(describing: error))".contains("cancelled"), "\(String(describing: error))")
        let leftovers = try h.leftovers(journal.record.buildID)
        #expect(leftovers.isEmpty, "after Ctrl-C at '\(step)': \(leftovers)")
        #expect(journal.record.entries.allSatisfy { $0.state != "created" || $0.kind == "object" }, "\(journal.record.entries)")
    }
}

/// Polls the journals in `runs` until one shows a `kind` created in `region` (for up to 60 s, while
/// `process` runs); returns that build's ID.
func waitForJournal(in runs: String, showing kind: String, region: String, while process: Process) -> String? {
    let deadline = Date().addingTimeInterval(60)
    while Date() < deadline, process.isRunning {
        for file in (try? FileManager.default.contentsOfDirectory(atPath: runs)) ?? [] where file.hasSuffix(".json") {
            if let record = try? Journal.load(path: runs + "/" + file),
               record.entries.contains(where: { $0.kind == kind && $0.region == region && $0.state == "created" }) {
                return record.buildID
            }
        }
        usleep(20_000)
    }
    return nil
}

/// The kiln executable next to the test bundle.
func kilnExecutable() -> String? {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kiln").path,
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/kiln").path,
    ]
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite("kiln killed (SIGKILL) mid-build, then `kiln sweep`", .serialized)
struct AMIKillTests {
    /// After which created resource kiln is killed; `image@us-west-2` is the region copy.
    @Test("whatever a killed build leaves is found and removed by sweep",
          arguments: ["security-group", "instance", "image", "image@us-west-2"])
    func killedThenSwept(after point: String) throws {
        guard requireRoot() else { return }
        let kiln = try #require(kilnExecutable(), "the kiln executable is not built (swift build --build-tests builds it)")
        let h = try Harness()
        let kind = String(point.split(separator: "@")[0])
        let region = point.contains("@") ? String(point.split(separator: "@")[1]) : "us-east-1"
        _ = try h.recipe(steps: "  - name: s\n    run: \"true\"\n", ami: "  regions: [us-west-2]\n")
        let environment = ["AWS_ACCESS_KEY_ID": MotoServer.accessKeyID, "AWS_SECRET_ACCESS_KEY": MotoServer.secretAccessKey,
                           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": h.moto.url, "AWS_EC2_METADATA_DISABLED": "true",
                           "HOME": h.dir.path, "PATH": "/usr/bin:/bin", "KILN_POLL_SECONDS": "0.2"]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kiln)
        process.arguments = ["build", "--target", "ami", "--bucket", "kiln-test-logs", "r.yaml"]
        process.currentDirectoryURL = URL(fileURLWithPath: h.dir.path)
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the journal shows the resource created, then kill kiln without warning.
        let runs = h.dir.path + "/.kiln/runs"
        let buildID = waitForJournal(in: runs, showing: kind, region: region, while: process)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let killed = try #require(buildID, "the build never created a \(kind)")
        #expect(!(try h.leftovers(killed)).isEmpty, "a killed build should have left something to sweep")

        // moto makes images available at once, so a build killed after CreateImage may already have
        // finished its AMI (tagged kiln:complete): sweep must keep that one and its snapshots.
        var kept: Set<String> = []
        var finished: [Image] = []
        for region in ["us-east-1", "us-west-2"] {
            let done = try h.direct.inRegion(region).describeImages(owners: ["self"]).filter {
                $0.tags.value(for: "kiln:build-id") == killed && $0.tags.value(for: "kiln:complete") == "true"
            }
            finished += done
            kept.formUnion(done.map { "AMI \($0.imageID) in \(region)" } + done.flatMap { image in
                image.blockDeviceMappings.compactMap { $0.ebs?.snapshotID }.map { "snapshot \($0)" }
            })
        }
        let regions = [h.ec2, try h.ec2.inRegion("us-west-2")]
        // Its deadline (kiln:expires-at) has not passed: it might be running on another machine, so a
        // plain sweep leaves it alone; --force removes it.
        let cautious = try Sweeper(regions: regions, runningBuilds: Sweeper.runningBuilds(journals: runs)).find()
        #expect(!cautious.contains { $0.buildID == killed }, "\(cautious)")
        let sweeper = Sweeper(regions: regions, runningBuilds: Sweeper.runningBuilds(journals: runs), force: true)
        let found = try sweeper.find()
        let before = try h.leftovers(killed)
        #expect(found.contains { $0.buildID == killed && $0.kind == kind } || (kind == "image" && !finished.isEmpty),
                "found \(found); in moto \(before)")
        let journal = try Journal(directory: h.dir.path + "/sweeps", buildID: "sweep", recipe: "sweep")
        try sweeper.remove(found, context: PipelineContext(buildID: "sweep", journal: journal,
                                                           progress: ProgressReporter(write: { _ in }),
                                                           sleep: { Thread.sleep(forTimeInterval: min($0, 0.2)) }))
        #expect(Set(try h.leftovers(killed)) == kept)
    }
}

@Suite("AMI builds through an unreliable AWS", .serialized)
struct AMIFaultTests {
    @Test("no spot capacity: the build falls back to on-demand")
    func spotFallback() throws {
        guard requireRoot() else { return }
        var proxy: FaultProxy?
        let h = try Harness(proxy: { moto in
            proxy = try FaultProxy(upstream: moto.url, rate: 0, rejectSpot: true)
            return proxy?.url ?? moto.url
        })
        let recipe = try h.recipe(steps: "  - name: s\n    run: \"true\"\n", ami: "  spot: true\n")
        let (result, error, journal) = try h.build(recipe)
        #expect(result != nil, "\(String(describing: error))")
        #expect((proxy?.stats.spot_rejections ?? 0) >= 1)
        #expect(h.lines.lines.contains { $0.contains("no capacity for t3.micro spot: InsufficientInstanceCapacity") })
        let launched = journal.record.entries.filter { $0.kind == "instance" && $0.id != nil }
        #expect(launched.count == 1 && launched[0].token.contains("-od-"), "\(launched)")
    }

    @Test("30% injected AWS faults: the same result, and nothing made twice")
    func faults() throws {
        guard requireRoot() else { return }
        var proxy: FaultProxy?
        let h = try Harness(proxy: { moto in
            proxy = try FaultProxy(upstream: moto.url, rate: 0.3, seed: 5,
                                   loseFirstAnswerOf: ["RunInstances", "CreateSecurityGroup", "CreateImage", "CopyImage"])
            return proxy?.url ?? moto.url
        }, maxAttempts: 10)
        let recipe = try h.recipe(steps: "  - name: s\n    run: echo ok\n", ami: "  regions: [us-west-2]\n  share: {public: true}\n")
        let (result, error, _) = try h.build(recipe)
        let built = try #require(result, "\(String(describing: error))\n\(h.lines.lines.suffix(30).joined(separator: "\n"))")
        #expect(Set(built.amis.keys) == ["us-east-1", "us-west-2"])
        // Nothing made twice: one instance ever, one security group ever, one AMI per region.
        let tag = [EC2.Filter(name: "tag:kiln:build-id", values: [built.buildID])]
        #expect(try h.direct.describeInstances(filters: tag).count == 1)
        #expect(try h.direct.describeImages(owners: ["self"], filters: tag).count == 1)
        #expect(try h.direct.inRegion("us-west-2").describeImages(owners: ["self"]).filter {
            $0.name == (try? h.direct.describeImages(imageIDs: [built.amis["us-east-1"] ?? ""]).first?.name) ?? nil
        }.count == 1)
        let left = try h.leftovers(built.buildID).filter { !$0.hasPrefix("AMI") && !$0.hasPrefix("snapshot") }
        #expect(left.isEmpty, "\(left)")
        let stats = try #require(proxy?.stats)
        #expect(stats.faults.values.reduce(0, +) >= stats.requests / 5, "\(stats)")
    }
}

@Suite("kiln interrupted (SIGINT, twice)", .serialized)
struct AMIInterruptTests {
    @Test("Ctrl-C, and Ctrl-C again, after each resource is created: kiln says what it cleans and leaves nothing",
          arguments: ["security-group", "instance"])
    func interrupted(after kind: String) throws {
        guard requireRoot() else { return }
        let kiln = try #require(kilnExecutable(), "the kiln executable is not built (swift build --build-tests builds it)")
        let h = try Harness()
        _ = try h.recipe(steps: "  - name: s\n    run: sleep 2\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: kiln)
        process.arguments = ["build", "--target", "ami", "--bucket", "kiln-test-logs", "r.yaml"]
        process.currentDirectoryURL = URL(fileURLWithPath: h.dir.path)
        process.environment = ["AWS_ACCESS_KEY_ID": MotoServer.accessKeyID, "AWS_SECRET_ACCESS_KEY": MotoServer.secretAccessKey,
                               "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": h.moto.url, "AWS_EC2_METADATA_DISABLED": "true",
                               "HOME": h.dir.path, "PATH": "/usr/bin:/bin", "KILN_POLL_SECONDS": "0.2"]
        let stderr = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr
        try process.run()
        let runs = h.dir.path + "/.kiln/runs"
        let buildID = waitForJournal(in: runs, showing: kind, region: "us-east-1", while: process)
        kill(process.processIdentifier, SIGINT)
        usleep(150_000)
        kill(process.processIdentifier, SIGINT)
        let output = String(decoding: stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let interrupted = try #require(buildID, "the build never created a \(kind)")
        #expect(process.terminationStatus != 0)
        #expect(output.contains("cleaning up"), "\(output)")
        #expect(try h.leftovers(interrupted).isEmpty, "\(output)")
        let record = try Journal.load(path: runs + "/\(interrupted).json")
        #expect(record.outcome == .cancelled)
    }
}

@Suite("The console fallback")
struct ConsoleResultTests {
    @Test("the result line of this build is read from the console", arguments: [
        ("[  12.0] cloud-init: x\n::kiln:: step-end a/b seconds=3\n::kiln:: result build=b-1 status=succeeded exit=0\n", "succeeded", 0, nil as String?),
        ("::kiln:: result build=b-1 status=failed exit=3 step=demo/broken\r\n[  99.1] reboot: Power down\n", "failed", 3, "demo/broken"),
    ])
    func parsed(_ c: (String, String, Int, String?)) throws {
        let result = try #require(InstanceResult.fromConsole(c.0, buildID: "b-1"))
        #expect(result.status == c.1 && result.exit_code == c.2 && result.failed_step == c.3)
    }

    @Test("another build's line, or none, gives nothing")
    func notThisBuild() {
        #expect(InstanceResult.fromConsole("::kiln:: result build=b-2 status=succeeded exit=0\n", buildID: "b-1") == nil)
        #expect(InstanceResult.fromConsole("boot messages only\n", buildID: "b-1") == nil)
    }
}
