import AWSCore
import ECR
import Foundation
import KilnTestSupport
import Testing

@Suite(.moto)
struct ECRClientTests {
    let ecr: ECRClient

    init() throws {
        ecr = try ECRClient(config: MotoScope.config())
    }

    /// PutImage through the raw transport: kiln pushes through the registry API, not this call, but
    /// moto has no registry, so this is how a test gets images into a repository.
    @discardableResult
    func putImage(repository: String, tag: String, layer: String) throws -> String {
        struct Input: Encodable {
            var repositoryName: String
            var imageManifest: String
            var imageTag: String
        }
        struct Output: Decodable {
            struct Image: Decodable {
                struct ID: Decodable { var imageDigest: String }
                var imageId: ID
            }
            var image: Image
        }
        let manifest = #"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","#
            + #""config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"#
            + #""layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":1,"digest":"sha256:\#(layer)"}]}"#
        return try JSONProtocol(targetPrefix: "AmazonEC2ContainerRegistry_V20150921")
            .call(ecr.client, "PutImage", Input(repositoryName: repository, imageManifest: manifest, imageTag: tag),
                  as: Output.self).image.imageId.imageDigest
    }

    @Test func authorizationTokenIsDecodedAndItsPasswordHidden() throws {
        let data = try #require(try ecr.getAuthorizationToken().first)
        #expect(data.username == "AWS")
        #expect(!data.password.isEmpty)
        #expect(data.proxyEndpoint.hasPrefix("https://"))
        #expect(data.registry.hasSuffix(".dkr.ecr.us-east-1.amazonaws.com"))
        #expect(data.expiresAt != nil)

        #expect(!data.description.contains(data.password))
        #expect(data.description.contains("<redacted>"))
        #expect(!String(describing: data).contains(data.password))
        #expect(!"\(data)".contains(data.password))
        var dumped = ""
        dump(data, to: &dumped)
        #expect(!dumped.contains(data.password))
        let decoded = try #require(Data(base64Encoded: String(data.basicAuthorization.dropFirst("Basic ".count))))
        #expect(String(decoding: decoded, as: UTF8.self) == "AWS:\(data.password)")
    }

    @Test func createdRepositoryIsDescribedWithItsSettings() throws {
        let name = "kiln/\(unique("stats"))"
        let created = try ecr.createRepository(name: name, scanOnPush: true, imageTagMutability: .immutable,
                                               tags: [Tag(key: "kiln:recipe", value: "stats")])
        #expect(created.repositoryName == name)
        #expect(created.repositoryUri?.hasSuffix(".dkr.ecr.us-east-1.amazonaws.com/\(name)") == true)

        let described = try #require(try ecr.describeRepositories(names: [name]).first)
        #expect(described.repositoryName == name)
        #expect(described.imageScanningConfiguration?.scanOnPush == true)
        #expect(described.imageTagMutability == .immutable)
        #expect(described.repositoryArn == created.repositoryArn)
        #expect(described.createdAt.map { abs($0.timeIntervalSinceNow) < 300 } == true,
                "createdAt is read as seconds since 1970")
        #expect(try ecr.describeRepositories().contains { $0.repositoryName == name })

        struct TagsInput: Encodable { var resourceArn: String }
        struct TagsOutput: Decodable { var tags: [ECR.Tag] }
        let tags = try JSONProtocol(targetPrefix: "AmazonEC2ContainerRegistry_V20150921")
            .call(ecr.client, "ListTagsForResource", TagsInput(resourceArn: #require(created.repositoryArn)),
                  as: TagsOutput.self).tags
        #expect(tags == [Tag(key: "kiln:recipe", value: "stats")])
    }

    @Test func creatingAnExistingRepositoryFails() throws {
        let name = unique("dup")
        try ecr.createRepository(name: name)
        let error = try #require(throws: AWSError.self) { try ecr.createRepository(name: name) }
        #expect(error.code == "RepositoryAlreadyExistsException")
        #expect(error.operation == "CreateRepository")
        #expect(error.status == 400)
    }

    @Test func missingRepositoryIsNilOrATypedError() throws {
        let name = unique("missing")
        #expect(try ecr.describeRepository(name: name) == nil)
        let error = try #require(throws: AWSError.self) { try ecr.describeRepositories(names: [name]) }
        #expect(error.code == "RepositoryNotFoundException")
        #expect(error.operation == "DescribeRepositories")
        #expect(error.service == "ecr")
        #expect(error.status == 400)
    }

    @Test func tagMutabilityCanBeChanged() throws {
        let name = unique("mutable")
        let created = try ecr.createRepository(name: name, scanOnPush: false)
        #expect(created.imageTagMutability == .mutable)
        #expect(created.imageScanningConfiguration?.scanOnPush == false)
        try ecr.putImageTagMutability(repositoryName: name, imageTagMutability: .immutable)
        #expect(try ecr.describeRepository(name: name)?.imageTagMutability == .immutable)
        try ecr.putImageTagMutability(repositoryName: name, imageTagMutability: .mutable)
        #expect(try ecr.describeRepository(name: name)?.imageTagMutability == .mutable)
    }

    @Test func lifecyclePolicyIsStored() throws {
        let name = unique("lifecycle")
        try ecr.createRepository(name: name)
        let policy = #"{"rules":[{"rulePriority":1,"description":"expire untagged after 14 days","#
            + #""selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"#
            + #""action":{"type":"expire"}}]}"#
        try ecr.putLifecyclePolicy(repositoryName: name, lifecyclePolicyText: policy)

        struct Input: Encodable { var repositoryName: String }
        struct Output: Decodable { var lifecyclePolicyText: String }
        let stored = try JSONProtocol(targetPrefix: "AmazonEC2ContainerRegistry_V20150921")
            .call(ecr.client, "GetLifecyclePolicy", Input(repositoryName: name), as: Output.self).lifecyclePolicyText
        let parse = { (text: String) in try JSONSerialization.jsonObject(with: Data(text.utf8)) as? NSDictionary }
        #expect(try parse(stored) == parse(policy))

        let error = try #require(throws: AWSError.self) {
            try ecr.putLifecyclePolicy(repositoryName: unique("missing"), lifecyclePolicyText: policy)
        }
        #expect(error.code == "RepositoryNotFoundException")
    }

    @Test func describeImagesListsAndSelects() throws {
        let name = unique("images")
        try ecr.createRepository(name: name)
        #expect(try ecr.describeImages(repositoryName: name).isEmpty)
        let layers = (0..<3).map { String(repeating: String($0), count: 64) }
        var digests: [String: String] = [:]
        for (index, layer) in layers.enumerated() {
            digests["v\(index)"] = try putImage(repository: name, tag: "v\(index)", layer: layer)
        }

        let all = try ecr.describeImages(repositoryName: name)
        #expect(all.count == 3)
        #expect(Set(all.flatMap(\.imageTags)) == ["v0", "v1", "v2"])
        #expect(all.allSatisfy { $0.repositoryName == name && $0.imageDigest?.hasPrefix("sha256:") == true })
        #expect(all.allSatisfy { $0.imagePushedAt.map { abs($0.timeIntervalSinceNow) < 300 } == true })

        let byTag = try ecr.describeImages(repositoryName: name, imageIds: [.tag("v1")])
        #expect(byTag.map(\.imageDigest) == [digests["v1"]])
        let byDigest = try ecr.describeImages(repositoryName: name, imageIds: [.digest(try #require(digests["v2"]))])
        #expect(byDigest.first?.imageTags == ["v2"])

        let error = try #require(throws: AWSError.self) {
            try ecr.describeImages(repositoryName: name, imageIds: [.tag("nope")])
        }
        #expect(error.code == "ImageNotFoundException")
    }

    @Test func realEndpointIsTheAPIHostSignedAsECR() throws {
        let config = AWSConfig(region: "eu-west-1", credentials: MotoCredentials())
        let ecr = try ECRClient(config: config)
        #expect(ecr.client.endpoint.url == "https://api.ecr.eu-west-1.amazonaws.com")
        #expect(ecr.client.service == "ecr")
    }
}
