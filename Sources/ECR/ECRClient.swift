import AWSCore
import Foundation

/// The ECR control-plane client (AWS JSON 1.1, target prefix `AmazonEC2ContainerRegistry_V20150921`,
/// endpoint `api.ecr.REGION.amazonaws.com`, signing name `ecr`): repositories, their settings, images,
/// and the registry login for pushes.
/// https://docs.aws.amazon.com/AmazonECR/latest/APIReference/Welcome.html
public struct ECRClient: Sendable {
    /// The transport (endpoint, signing as `ecr`, retries).
    public let client: AWSClient
    private let json = JSONProtocol(targetPrefix: "AmazonEC2ContainerRegistry_V20150921")

    /// Creates a client for the configuration's region and endpoint.
    public init(config: AWSConfig) throws {
        client = try AWSClient(service: "ecr", config: config, endpointService: "ecr")
    }

    /// GetAuthorizationToken: the registry login of the default registry (or of each of `registryIds`).
    /// The base64 token is decoded into user name and password here, so callers never handle it.
    public func getAuthorizationToken(registryIds: [String] = []) throws -> [AuthorizationData] {
        struct Input: Encodable {
            var registryIds: [String]?
        }
        struct Wire: Decodable {
            var authorizationToken: String
            var proxyEndpoint: String?
            var expiresAt: Double?
        }
        struct Output: Decodable {
            var authorizationData: [Wire]?
        }
        let operation = "GetAuthorizationToken"
        let output = try json.call(client, operation, Input(registryIds: registryIds.isEmpty ? nil : registryIds),
                                   as: Output.self)
        return try (output.authorizationData ?? []).map { wire in
            // The token is base64("AWS:password"). Errors must not quote it: it is the password.
            guard let decoded = Data(base64Encoded: wire.authorizationToken).map({ String(decoding: $0, as: UTF8.self) }),
                  let colon = decoded.firstIndex(of: ":") else {
                throw AWSError(service: client.service, operation: operation, code: "InvalidResponse",
                               message: "the authorization token is not base64 of user:password", status: 200)
            }
            return AuthorizationData(username: String(decoded[..<colon]),
                                     password: String(decoded[decoded.index(after: colon)...]),
                                     proxyEndpoint: wire.proxyEndpoint ?? "",
                                     expiresAt: wire.expiresAt.map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// CreateRepository with scan-on-push, tag mutability and tags; returns the new repository.
    /// An existing name throws `AWSError` with code `RepositoryAlreadyExistsException`.
    @discardableResult
    public func createRepository(name: String, scanOnPush: Bool = true, imageTagMutability: ImageTagMutability = .mutable,
                                 tags: [Tag] = []) throws -> Repository {
        struct Input: Encodable {
            var repositoryName: String
            var imageScanningConfiguration: ImageScanningConfiguration
            var imageTagMutability: ImageTagMutability
            var tags: [Tag]?
        }
        struct Output: Decodable {
            var repository: Repository
        }
        let input = Input(repositoryName: name, imageScanningConfiguration: ImageScanningConfiguration(scanOnPush: scanOnPush),
                          imageTagMutability: imageTagMutability, tags: tags.isEmpty ? nil : tags)
        return try json.call(client, "CreateRepository", input, as: Output.self).repository
    }

    /// DescribeRepositories: the named repositories (all of the registry's when `names` is empty), every
    /// page. A name that does not exist throws `AWSError` with code `RepositoryNotFoundException`.
    public func describeRepositories(names: [String] = []) throws -> [Repository] {
        struct Input: Encodable {
            var repositoryNames: [String]?
            var nextToken: String?
        }
        struct Output: Decodable {
            var repositories: [Repository]?
            var nextToken: String?
        }
        var repositories: [Repository] = []
        var token: String?
        repeat {
            let page = try json.call(client, "DescribeRepositories",
                                     Input(repositoryNames: names.isEmpty ? nil : names, nextToken: token),
                                     as: Output.self)
            repositories += page.repositories ?? []
            token = page.nextToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return repositories
    }

    /// One repository, or nil when it does not exist.
    public func describeRepository(name: String) throws -> Repository? {
        do {
            return try describeRepositories(names: [name]).first
        } catch let error as AWSError where error.code == "RepositoryNotFoundException" {
            return nil
        }
    }

    /// DescribeImages: the images of a repository (those in `imageIds`, or all of them), every page.
    /// An identifier that matches nothing throws `AWSError` with code `ImageNotFoundException`.
    public func describeImages(repositoryName: String, imageIds: [ImageIdentifier] = []) throws -> [ImageDetail] {
        struct Input: Encodable {
            var repositoryName: String
            var imageIds: [ImageIdentifier]?
            var nextToken: String?
        }
        struct Output: Decodable {
            var imageDetails: [ImageDetail]?
            var nextToken: String?
        }
        var images: [ImageDetail] = []
        var token: String?
        repeat {
            let page = try json.call(client, "DescribeImages",
                                     Input(repositoryName: repositoryName, imageIds: imageIds.isEmpty ? nil : imageIds,
                                           nextToken: token),
                                     as: Output.self)
            images += page.imageDetails ?? []
            token = page.nextToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return images
    }

    /// PutImageTagMutability: makes a repository's tags movable or fixed.
    public func putImageTagMutability(repositoryName: String, imageTagMutability: ImageTagMutability) throws {
        struct Input: Encodable {
            var repositoryName: String
            var imageTagMutability: ImageTagMutability
        }
        struct Output: Decodable {}
        _ = try json.call(client, "PutImageTagMutability",
                          Input(repositoryName: repositoryName, imageTagMutability: imageTagMutability), as: Output.self)
    }

    /// PutLifecyclePolicy: sets a repository's lifecycle policy (its JSON text, e.g. expire untagged
    /// images after 14 days). https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
    public func putLifecyclePolicy(repositoryName: String, lifecyclePolicyText: String) throws {
        struct Input: Encodable {
            var repositoryName: String
            var lifecyclePolicyText: String
        }
        struct Output: Decodable {}
        _ = try json.call(client, "PutLifecyclePolicy",
                          Input(repositoryName: repositoryName, lifecyclePolicyText: lifecyclePolicyText), as: Output.self)
    }
}
