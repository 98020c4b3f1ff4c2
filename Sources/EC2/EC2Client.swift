import AWSCore
import Foundation

/// The Amazon EC2 client: the operations kiln needs to bake, copy, share and clean up AMIs, over the
/// EC2 Query API (version 2016-11-15).
///
/// Shapes and parameters are named as the API reference names them:
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/. Calls block; each one is signed, sent and
/// retried by the shared `AWSClient`. Failures are `AWSError`s (the service's code, the operation, the
/// HTTP status and the request ID); an answer missing an element kiln relies on is an `AWSError` with
/// the code `InvalidResponse`.
public final class EC2Client: Sendable {
    /// The EC2 API version this client speaks.
    public static let apiVersion = "2016-11-15"

    /// The transport (endpoint, signing, retries) shared with other clients of the same configuration.
    public let client: AWSClient
    /// The Query protocol at EC2's API version.
    let query: QueryProtocol

    /// Creates a client for the region (and endpoint override) of `config`.
    public init(config: AWSConfig) throws {
        client = try AWSClient(service: "ec2", config: config)
        query = QueryProtocol(version: EC2Client.apiVersion)
    }

    /// The region this client sends requests to.
    public var region: String { client.config.region }

    /// A client for another region with the same credentials and settings: `CopyImage` is called on a
    /// client of the destination region.
    public func inRegion(_ region: String) throws -> EC2Client {
        var config = client.config
        config.region = region
        return try EC2Client(config: config)
    }

    /// Calls `action` and hands the answer to `decode`; an answer without an element `decode` needs
    /// becomes an `InvalidResponse` error that names the operation.
    func call<T>(_ action: String, _ parameters: QueryParameters = QueryParameters(),
                 _ decode: (XMLNode) throws -> T) throws -> T {
        let xml = try query.call(client, action, parameters.pairs)
        return try reportingMissingElements(action) { try decode(xml) }
    }

    /// Calls a paginated `action` until `NextToken` runs out, collecting what `page` extracts.
    func paginate<T>(_ action: String, _ parameters: QueryParameters,
                     _ page: (XMLNode) throws -> [T]) throws -> [T] {
        try reportingMissingElements(action) {
            try query.paginate(client, action, parameters.pairs, page)
        }
    }

    /// Calls an action whose answer is `<return>true</return>` (or no body at all), and returns it.
    @discardableResult
    func callReturningBool(_ action: String, _ parameters: QueryParameters) throws -> Bool {
        try call(action, parameters) { $0.bool("return") ?? true }
    }

    private func reportingMissingElements<T>(_ action: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let missing as MissingElement {
            throw AWSError(service: client.service, operation: action, code: "InvalidResponse",
                           message: "the answer has no <\(missing.element)> in <\(missing.parent)>", status: 200)
        } catch let invalid as InvalidElement {
            throw AWSError(service: client.service, operation: action, code: "InvalidResponse",
                           message: "the answer's <\(invalid.element)> is not valid: \(invalid.reason)", status: 200)
        }
    }
}
