import Foundation
import Testing
import KilnTestSupport
import AWSCore
import AWSCredentials
import SigV4
import EC2
import SSM
import S3
import ECR

/// What a sequence of calls leaves behind, without the IDs the services chose.
struct FinalState: Equatable, CustomStringConvertible {
    var instancesByToken: [String: Int]
    var instanceTypes: [String]
    var parameters: [String: String]
    var objects: [String: Int64]
    var repositories: [String: String]

    var description: String {
        "instances \(instancesByToken) \(instanceTypes), parameters \(parameters), objects \(objects), repositories \(repositories)"
    }
}

/// A realistic slice of a build: launch (with ClientTokens), tag, publish parameters, upload a log,
/// make a repository — each call either idempotent by itself or made so the way kiln makes it.
func runSequence(endpoint: String) throws -> FinalState {
    let config = AWSConfig(region: "us-east-1", credentials: MotoCredentials(), endpointURL: endpoint, maxAttempts: 10, baseDelay: 0.01)
    let ec2 = try EC2Client(config: config)
    let ssm = try SSMClient(config: config)
    let s3 = try S3Client(config: config)
    let ecr = try ECRClient(config: config)

    let image = try #require(try ec2.describeImages(owners: ["amazon"]).first?.imageID)
    var launched: [String] = []
    for (index, type) in ["t3.micro", "t3.small"].enumerated() {
        let token = "kiln-fault-test-\(index)"
        let reservation = try ec2.runInstances(RunInstancesRequest(
            imageID: image, instanceType: type, clientToken: token,
            tagSpecifications: [TagSpecification(resourceType: "instance", tags: [EC2.Tag(key: "kiln:build-id", value: "fault-test"),
                                                                                  EC2.Tag(key: "kiln:token", value: token)])]))
        launched += reservation.instances.map(\.instanceID)
    }
    try ec2.createTags(resourceIDs: launched, tags: [EC2.Tag(key: "stage", value: "provisioned")])

    for version in ["2026.10", "2026.11"] {
        _ = try ssm.putParameter(PutParameterRequest(name: "/kiln/fault/\(version)", value: "ami-\(version)", overwrite: true))
        _ = try ssm.putParameter(PutParameterRequest(name: "/kiln/fault/latest", value: "ami-\(version)", overwrite: true))
    }

    try s3.createBucket("kiln-fault-logs")
    let log = Array(repeating: UInt8(ascii: "x"), count: 300_000)
    for key in ["logs/a.log", "logs/b.log"] {
        try s3.putObject(bucket: "kiln-fault-logs", key: key, bytes: log)
    }

    // CreateRepository is not idempotent: a retry after a lost answer finds the repository made,
    // which is success for kiln ("ensure it exists").
    do {
        _ = try ecr.createRepository(name: "kiln/fault", scanOnPush: true, imageTagMutability: .immutable)
    } catch let error as AWSError where error.code == "RepositoryAlreadyExistsException" {}
    try ecr.putImageTagMutability(repositoryName: "kiln/fault", imageTagMutability: .immutable)

    // Read back everything.
    let instances = try ec2.describeInstances(filters: [EC2.Filter(name: "tag:kiln:build-id", values: ["fault-test"])])
    var byToken: [String: Int] = [:]
    for instance in instances {
        byToken[instance.tags.value(for: "kiln:token") ?? "?", default: 0] += 1
    }
    var parameters: [String: String] = [:]
    for parameter in try ssm.getParametersByPath("/kiln/fault", recursive: true) { parameters[parameter.name] = parameter.value }
    var objects: [String: Int64] = [:]
    for key in ["logs/a.log", "logs/b.log"] {
        objects[key] = try s3.headObject(bucket: "kiln-fault-logs", key: key)?.contentLength
    }
    var repositories: [String: String] = [:]
    for repository in try ecr.describeRepositories(names: ["kiln/fault"]) {
        repositories[repository.repositoryName] = repository.imageTagMutability?.rawValue ?? "?"
    }
    return FinalState(instancesByToken: byToken, instanceTypes: instances.compactMap { $0.instanceType }.sorted(),
                      parameters: parameters, objects: objects, repositories: repositories)
}

@Suite("30% injected faults", .serialized)
struct FaultInjectionTests {
    @Test("a sequence of EC2, SSM, S3 and ECR calls through the fault proxy ends as without faults, with no duplicates")
    func sameStateNoDuplicates() throws {
        let clean = try MotoServer()
        let expected = try runSequence(endpoint: clean.url)
        #expect(expected.instancesByToken == ["kiln-fault-test-0": 1, "kiln-fault-test-1": 1])
        #expect(expected.parameters == ["/kiln/fault/2026.10": "ami-2026.10", "/kiln/fault/2026.11": "ami-2026.11",
                                        "/kiln/fault/latest": "ami-2026.11"])

        let moto = try MotoServer()
        // Besides the random 30%, the first answers of the non-repeatable creates are certainly lost.
        let proxy = try FaultProxy(upstream: moto.url, rate: 0.3, seed: 11,
                                   loseFirstAnswerOf: ["RunInstances", "CreateRepository", "CreateBucket", "PutParameter"])
        let faulty = try runSequence(endpoint: proxy.url)
        #expect(faulty == expected, "with faults: \(faulty)\nwithout: \(expected)")
        let stats = proxy.stats
        let injected = stats.faults.values.reduce(0, +)
        // The run really was faulty: about 30% of requests, every kind of fault.
        #expect(injected >= stats.requests / 5, "\(stats)")
        #expect(Set(stats.faults.keys) == ["throttle", "error500", "drop-before", "drop-after"], "\(stats)")
        // A lost RunInstances answer was retried with its ClientToken and answered, not carried out twice.
        #expect(stats.idempotent_replays >= 1, "\(stats)")
    }
}
