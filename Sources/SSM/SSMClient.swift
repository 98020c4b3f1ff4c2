import AWSCore
import Foundation

/// The Systems Manager Parameter Store client (AWS JSON 1.1, target prefix `AmazonSSM`): reads base AMI
/// IDs and publishes the AMIs kiln builds.
/// https://docs.aws.amazon.com/systems-manager/latest/APIReference/Welcome.html
public struct SSMClient: Sendable {
    /// The transport (endpoint, signing as `ssm`, retries).
    public let client: AWSClient
    private let json = JSONProtocol(targetPrefix: "AmazonSSM")

    /// The most `GetParametersByPath` returns per page.
    static let pageSize = 10

    /// Creates a client for the configuration's region and endpoint.
    public init(config: AWSConfig) throws {
        client = try AWSClient(service: "ssm", config: config)
    }

    /// GetParameter: one parameter; throws `AWSError` with code `ParameterNotFound` when it does not exist.
    public func getParameter(name: String, withDecryption: Bool = false) throws -> Parameter {
        struct Input: Encodable {
            var Name: String
            var WithDecryption: Bool
        }
        struct Output: Decodable {
            var Parameter: SSM.Parameter
        }
        return try json.call(client, "GetParameter", Input(Name: name, WithDecryption: withDecryption),
                             as: Output.self).Parameter
    }

    /// GetParameters: up to 10 parameters at once; names that do not exist come back in
    /// `invalidParameters` rather than as an error.
    public func getParameters(names: [String], withDecryption: Bool = false) throws -> GetParametersResult {
        struct Input: Encodable {
            var Names: [String]
            var WithDecryption: Bool
        }
        return try json.call(client, "GetParameters", Input(Names: names, WithDecryption: withDecryption),
                             as: GetParametersResult.self)
    }

    /// PutParameter: creates a parameter, or a new version of it with `overwrite`; returns the version.
    @discardableResult
    public func putParameter(_ request: PutParameterRequest) throws -> Int {
        struct Input: Encodable {
            var Name: String
            var Value: String
            var `Type`: ParameterType
            var DataType: ParameterDataType
            var Overwrite: Bool
            var Description: String?
            var Tags: [Tag]?
        }
        struct Output: Decodable {
            var Version: Int?
        }
        let input = Input(Name: request.name, Value: request.value, Type: request.type, DataType: request.dataType,
                          Overwrite: request.overwrite, Description: request.description,
                          Tags: request.overwrite || request.tags.isEmpty ? nil : request.tags)
        return try json.call(client, "PutParameter", input, as: Output.self).Version ?? 0
    }

    /// GetParametersByPath: every parameter under `path` (one level, or the whole tree with
    /// `recursive`), following `NextToken` until the last page.
    public func getParametersByPath(_ path: String, recursive: Bool = false,
                                    withDecryption: Bool = false) throws -> [Parameter] {
        struct Input: Encodable {
            var Path: String
            var Recursive: Bool
            var WithDecryption: Bool
            var MaxResults: Int
            var NextToken: String?
        }
        struct Output: Decodable {
            var Parameters: [Parameter]?
            var NextToken: String?
        }
        var parameters: [Parameter] = []
        var token: String?
        repeat {
            let page = try json.call(client, "GetParametersByPath",
                                     Input(Path: path, Recursive: recursive, WithDecryption: withDecryption,
                                           MaxResults: SSMClient.pageSize, NextToken: token),
                                     as: Output.self)
            parameters += page.Parameters ?? []
            token = page.NextToken.flatMap { $0.isEmpty ? nil : $0 }
        } while token != nil
        return parameters
    }
}
