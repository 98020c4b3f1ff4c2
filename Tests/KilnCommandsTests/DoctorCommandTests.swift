import ArgumentParser
import AWSCore
import EC2
import Foundation
import KilnTestSupport
import S3
import Testing
@testable import KilnCommands

/// Runs `kiln doctor ARGS` in-process with an environment; returns the exit code, the output and the
/// checks of `--json` (empty without it).
private func doctor(_ environment: [String: String], _ arguments: [String], in directory: String) throws
    -> (code: Int32, io: Captured, checks: [DoctorCheck]) {
    let captured = Captured()
    let context = captured.context(in: directory, environment: environment)
    var code: Int32 = 0
    do {
        let command = try Kiln.parseAsRoot(["doctor"] + arguments)
        let runnable = try #require(command as? ContextCommand)
        try runnable.run(context: context)
    } catch {
        code = Kiln.exitCode(for: error).rawValue
        if code != 0 { context.err(Kiln.message(for: error) + "\n") }
    }
    guard arguments.contains("--json") else { return (code, captured, []) }
    struct Report: Decodable { var ok: Bool; var checks: [DoctorCheck] }
    let report = try JSONDecoder().decode(Report.self, from: Data(captured.out.utf8))
    #expect(report.ok == (code == 0), "ok must agree with the exit code")
    return (code, captured, report.checks)
}

/// The checks named `name`.
private func lines(_ checks: [DoctorCheck], _ name: String) -> [DoctorCheck] { checks.filter { $0.name == name } }

/// A directory of stand-in executables (empty scripts) named `tools`, for PATH.
private func toolDirectory(_ dir: TempDirectory, _ tools: [String]) throws -> String {
    for tool in tools { try dir.write("bin/\(tool)", "#!/bin/sh\nexit 0\n", mode: 0o755) }
    try FileManager.default.createDirectory(atPath: dir.path + "/bin", withIntermediateDirectories: true)
    return dir.path + "/bin"
}

/// moto's credentials and region, with one attempt per request (no backoff).
private func motoEnvironment(path: String) -> [String: String] {
    ["AWS_ACCESS_KEY_ID": MotoServer.accessKeyID, "AWS_SECRET_ACCESS_KEY": MotoServer.secretAccessKey,
     "AWS_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "AWS_EC2_METADATA_DISABLED": "true", "PATH": path]
}

@Suite("kiln doctor", .moto, .serialized)
struct DoctorCommandTests {
    @Test("on moto and a local registry: identity, region, quota, bucket, registry and tools pass")
    func passes() throws {
        let moto = try #require(MotoScope.current)
        let registry = try RegistryServer(password: "doctor-secret")
        defer { registry.stop() }
        let dir = try TempDirectory()
        let bin = try toolDirectory(dir, ["debootstrap", "skopeo", "umoci"])
        let auth = Data("AWS:doctor-secret".utf8).base64EncodedString()
        try dir.write("docker/config.json", #"{"auths": {"\#(registry.host)": {"auth": "\#(auth)"}}}"#)
        try dir.write("recipes/app.yaml", """
            name: app
            version: "1"
            base: {oci: {debootstrap: {suite: bookworm}}}
            oci: {repository: \(registry.host)/team/app}
            """)
        var environment = motoEnvironment(path: bin)
        environment["DOCKER_CONFIG"] = dir.path + "/docker"

        // Before kiln's bucket exists: a warning that says the first build creates it.
        let first = try doctor(environment, ["--endpoint-url", moto.url, "--json"], in: dir.path)
        #expect(first.code == 0, "\(first.io.out)\n\(first.io.err)")
        let checks = first.checks
        #expect(lines(checks, "recipes").first?.status == .pass)
        #expect(lines(checks, "region").first?.status == .pass)
        #expect(lines(checks, "region").first?.detail.hasPrefix("us-east-1") == true)
        let identity = try #require(lines(checks, "identity").first)
        #expect(identity.status == .pass)
        #expect(identity.detail.contains("account 123456789012"))
        // moto does not implement GetImageBlockPublicAccessState: a warning (no recipe shares publicly), with what to do.
        let blockPublic = try #require(lines(checks, "ami-block-public-access").first)
        #expect(blockPublic.status == .warn)
        #expect(blockPublic.fix?.contains("get-image-block-public-access-state") == true)
        let quota = try #require(lines(checks, "public-ami-quota").first)
        #expect(quota.status == .pass)
        #expect(quota.detail.hasPrefix("0 of 5 public AMIs in us-east-1"))
        #expect(quota.detail.contains("default quota of 5"))
        let bucket = try #require(lines(checks, "bucket").first)
        #expect(bucket.status == .warn)
        #expect(bucket.detail == "s3://kiln-builds-123456789012-us-east-1 does not exist yet")
        #expect(bucket.fix?.contains("aws s3 mb s3://kiln-builds-123456789012-us-east-1") == true)
        let reg = try #require(lines(checks, "registry").first)
        #expect(reg.status == .pass, "\(reg)")
        #expect(reg.detail == "\(registry.host)/team/app is reachable; no :latest pushed yet")
        #expect(lines(checks, "sandbox").map(\.status) == [.pass], "tests run as root on Linux: \(lines(checks, "sandbox"))")
        for tool in ["debootstrap", "skopeo", "umoci"] {
            #expect(lines(checks, tool).first == DoctorCheck(tool, .pass, "\(bin)/\(tool)"))
        }
        #expect(!first.io.out.contains("doctor-secret"))

        // Once the bucket exists (named with --bucket here), it passes.
        let s3 = try S3Client(config: MotoScope.config())
        let name = unique("doctor-logs")
        try s3.createBucket(name)
        let second = try doctor(environment, ["--endpoint-url", moto.url, "--bucket", name, "--json"], in: dir.path)
        #expect(second.code == 0)
        #expect(lines(second.checks, "bucket").first == DoctorCheck("bucket", .pass, "s3://\(name) is reachable (0 lifecycle rules)"))

        // The text form: one line per check, pass first.
        let text = try doctor(environment, ["--endpoint-url", moto.url, "--bucket", name], in: dir.path)
        #expect(text.io.out.split(separator: "\n").contains { $0.hasPrefix("pass  identity") && $0.contains("account 123456789012") })
        #expect(text.io.err.contains("kiln doctor: ready (1 warning)"))
    }

    @Test("a full public-AMI quota fails when a recipe shares publicly, and says where the number comes from")
    func publicQuota() throws {
        let moto = try #require(MotoScope.current)
        let ec2 = try EC2Client(config: MotoScope.config())
        let base = try #require(try ec2.describeImages(owners: ["amazon"], filters: [Filter("name", "amzn2-ami-hvm-*")]).first)
        let instance = try #require(try ec2.runInstances(RunInstancesRequest(imageID: base.imageID, instanceType: "t3.micro")).instances.first)
        let image = try ec2.createImage(CreateImageRequest(instanceID: instance.instanceID, name: unique("doctor-public"), noReboot: true))
        try ec2.modifyImageAttribute(imageID: image, launchPermission: LaunchPermissionModifications(add: [.all]))
        defer { _ = try? ec2.deregisterImage(imageID: image) }

        let dir = try TempDirectory()
        let bin = try toolDirectory(dir, ["debootstrap", "skopeo", "umoci"])
        try dir.write("recipes/pub.yaml", """
            name: pub
            version: "1"
            base: {ami: {id: ami-0123456789abcdef0}}
            ami: {share: {public: true}}
            """)
        let full = try doctor(motoEnvironment(path: bin), ["--endpoint-url", moto.url, "--public-ami-quota", "1", "--json"], in: dir.path)
        #expect(full.code == 1)
        #expect(lines(full.checks, "recipes").first?.status == .pass)
        let quota = try #require(lines(full.checks, "public-ami-quota").first)
        #expect(quota.status == .fail)
        #expect(quota.detail.hasPrefix("1 of 1 public AMIs in us-east-1: no room for another (your quota of 1 (--public-ami-quota))"))
        #expect(quota.detail.contains("recipes sharing AMIs publicly: pub"))
        #expect(quota.fix?.contains("Public AMIs") == true)
        // Unknown block-public-access state is a failure too when a recipe shares publicly.
        #expect(lines(full.checks, "ami-block-public-access").first?.status == .fail)

        let roomy = try doctor(motoEnvironment(path: bin), ["--endpoint-url", moto.url, "--skip-aws", "--json"], in: dir.path)
        #expect(roomy.code == 0)
        #expect(lines(roomy.checks, "public-ami-quota").isEmpty)
        #expect(lines(roomy.checks, "aws").first?.status == .skip)
    }

    @Test("a wrong endpoint fails the identity check with the fix, skips what needs it, and exits 1")
    func wrongEndpoint() throws {
        let dir = try TempDirectory()
        let bin = try toolDirectory(dir, ["debootstrap", "skopeo", "umoci"])
        let port = try freeLoopbackPort()
        let (code, io, checks) = try doctor(motoEnvironment(path: bin), ["--endpoint-url", "http://127.0.0.1:\(port)", "--json"], in: dir.path)
        #expect(code == 1)
        let identity = try #require(lines(checks, "identity").first)
        #expect(identity.status == .fail)
        #expect(identity.detail.hasPrefix("STS GetCallerIdentity failed:"))
        #expect(identity.fix?.contains("--endpoint-url") == true, "\(identity)")
        for name in ["ami-block-public-access", "public-ami-quota", "bucket"] {
            #expect(lines(checks, name).first?.status == .skip)
        }
        #expect(!io.out.contains(MotoServer.secretAccessKey))

        let text = try doctor(motoEnvironment(path: bin), ["--endpoint-url", "http://127.0.0.1:\(port)"], in: dir.path)
        #expect(text.code == 1)
        #expect(text.io.out.contains("fail  identity"))
        #expect(text.io.out.contains("fix: check the network, the region name, and any --endpoint-url"))
        #expect(text.io.err.contains("kiln doctor: 1 check failed"))
    }

    @Test("no region: the region check fails with how to set one")
    func noRegion() throws {
        let dir = try TempDirectory()
        let environment = ["PATH": try toolDirectory(dir, ["debootstrap"]), "HOME": dir.path, "AWS_EC2_METADATA_DISABLED": "true"]
        let (code, _, checks) = try doctor(environment, ["--json"], in: dir.path)
        #expect(code == 1)
        let region = try #require(lines(checks, "region").first)
        #expect(region.status == .fail)
        #expect(region.fix?.contains("AWS_REGION") == true)
        #expect(lines(checks, "identity").isEmpty)
    }

    @Test("missing tools and a registry without credentials: clear fixes; debootstrap fails only when a recipe needs it")
    func missingToolAndRegistryLogin() throws {
        let registry = try RegistryServer(password: "doctor-secret")
        defer { registry.stop() }
        let dir = try TempDirectory()
        let empty = try toolDirectory(dir, [])
        try dir.write("recipes/deb.yaml", "name: deb\nversion: \"1\"\nbase: {oci: {debootstrap: {suite: bookworm}}}\n")
        let environment = ["PATH": empty, "DOCKER_CONFIG": dir.path + "/no-docker", "HOME": dir.path]
        let (code, io, checks) = try doctor(environment, ["--skip-aws", "--registry", "\(registry.host)/team/app:1", "--json"], in: dir.path)
        #expect(code == 1)
        let debootstrap = try #require(lines(checks, "debootstrap").first)
        #expect(debootstrap == DoctorCheck("debootstrap", .fail, "debootstrap is not on PATH; needed by deb", fix: "apt-get install debootstrap"))
        #expect(lines(checks, "skopeo").first?.status == .warn)
        #expect(lines(checks, "umoci").first?.fix == "apt-get install umoci")
        let reg = try #require(lines(checks, "registry").first)
        #expect(reg.status == .fail)
        #expect(reg.fix?.contains("docker login \(registry.host)") == true, "\(reg)")
        #expect(!io.out.contains("doctor-secret"))

        // Without a recipe that needs it, a missing debootstrap is only a warning.
        let plain = try TempDirectory()
        let warned = try doctor(["PATH": empty], ["--skip-aws", "--json"], in: plain.path)
        #expect(warned.code == 0)
        #expect(lines(warned.checks, "debootstrap").first?.status == .warn)
        #expect(lines(warned.checks, "registry").first?.status == .skip)
        #expect(lines(warned.checks, "recipes").isEmpty)
    }

    @Test("sandbox problems become a finding and a fix", arguments: [
        ("overlayfs is not available (run `modprobe overlay` as root, or install the kernel's modules)",
         "overlayfs is not available", "run `modprobe overlay` as root, or install the kernel's modules"),
        ("user namespaces are disabled (sysctl user.max_user_namespaces=0); run kiln as root or raise the limit",
         "user namespaces are disabled (sysctl user.max_user_namespaces=0)", "run kiln as root or raise the limit"),
        ("the kernel lacks PID namespaces (/proc/self/ns/pid is missing)",
         "the kernel lacks PID namespaces (/proc/self/ns/pid is missing)",
         "use a kernel with namespaces enabled; inside a container, run kiln in a privileged container"),
    ])
    func sandboxProblems(problem: String, found: String, fix: String) {
        let (detail, advice) = DoctorLocal.split(problem)
        #expect(detail == found)
        #expect(advice == fix)
    }
}
