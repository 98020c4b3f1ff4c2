import Foundation
import KilnHTTP

/// The AWS Query protocol (EC2 and STS): form-encoded `Action` and `Version`, XML answers.
/// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html
public struct QueryProtocol: Sendable {
    /// The API version (`2016-11-15` for EC2, `2011-06-15` for STS).
    public var version: String
    /// Creates the protocol for one API version.
    public init(version: String) { self.version = version }

    /// Calls `action` with `parameters` and returns the parsed XML answer.
    /// `unsigned` sends no signature (STS AssumeRoleWithWebIdentity).
    public func call(_ client: AWSClient, _ action: String, _ parameters: [(String, String)] = [],
                     unsigned: Bool = false) throws -> XMLNode {
        let body = ([("Action", action), ("Version", version)] + parameters)
            .map { "\(URIEncodingForm.encode($0.0))=\(URIEncodingForm.encode($0.1))" }.joined(separator: "&")
        let request = AWSRequest(operation: action, method: "POST", path: "/",
                                 headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                 body: .bytes(Array(body.utf8)), unsigned: unsigned)
        let response = try client.send(request, parseError: QueryProtocol.parseError)
        guard let xml = XMLNode.parse(response.body) else {
            throw AWSError(service: client.service, operation: action, code: "InvalidResponse",
                           message: "the answer is not XML", status: response.status)
        }
        return xml
    }

    /// Calls a paginated action until `NextToken` runs out, collecting what `page` extracts.
    public func paginate<T>(_ client: AWSClient, _ action: String, _ parameters: [(String, String)] = [],
                            _ page: (XMLNode) throws -> [T]) throws -> [T] {
        var results: [T] = []
        var token: String?
        repeat {
            let xml = try call(client, action, parameters + (token.map { [("NextToken", $0)] } ?? []))
            results += try page(xml)
            token = xml.string("nextToken") ?? xml.string("NextToken")
            if token?.isEmpty == true { token = nil }
        } while token != nil
        return results
    }

    /// EC2's `<Response><Errors><Error>` and STS's `<ErrorResponse><Error>`.
    public static let parseError: ErrorParser = { response, service, operation in
        let xml = XMLNode.parse(response.body)
        let error = xml?.find("Error")
        return AWSError(service: service, operation: operation,
                        code: error?.string("Code") ?? statusCode(response.status),
                        message: error?.string("Message") ?? "",
                        requestID: xml?.find("RequestID")?.text ?? xml?.find("RequestId")?.text
                            ?? response.header("x-amzn-RequestId"),
                        status: response.status)
    }
}

/// The AWS JSON 1.1 protocol (SSM, ECR): `X-Amz-Target: Prefix.Operation`, JSON in and out.
public struct JSONProtocol: Sendable {
    /// The target prefix (`AmazonSSM`, `AmazonEC2ContainerRegistry_V20150921`).
    public var targetPrefix: String
    /// Creates the protocol for one service.
    public init(targetPrefix: String) { self.targetPrefix = targetPrefix }

    /// Calls `operation` with a JSON-encodable input and decodes the output.
    public func call<Input: Encodable, Output: Decodable>(_ client: AWSClient, _ operation: String, _ input: Input,
                                                          as: Output.Type = Output.self) throws -> Output {
        let body: Data
        do { body = try JSONEncoder().encode(input) } catch {
            throw AWSError(service: client.service, operation: operation, code: "InvalidInput", message: "\(error)", status: 0)
        }
        let request = AWSRequest(operation: operation, method: "POST", path: "/",
                                 headers: [("Content-Type", "application/x-amz-json-1.1"),
                                           ("X-Amz-Target", "\(targetPrefix).\(operation)")],
                                 body: .bytes(Array(body)))
        let response = try client.send(request, parseError: JSONProtocol.parseError)
        do {
            return try JSONDecoder().decode(Output.self, from: Data(response.body.isEmpty ? Array("{}".utf8) : response.body))
        } catch {
            throw AWSError(service: client.service, operation: operation, code: "InvalidResponse",
                           message: "cannot read the answer: \(error)", status: response.status)
        }
    }

    /// `{"__type": "…#Code", "message": "…"}`, or the `x-amzn-ErrorType` header.
    public static let parseError: ErrorParser = { response, service, operation in
        let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
        var code = (object?["__type"] as? String) ?? response.header("x-amzn-ErrorType") ?? statusCode(response.status)
        if let hash = code.lastIndex(of: "#") { code = String(code[code.index(after: hash)...]) }
        if let colon = code.firstIndex(of: ":") { code = String(code[..<colon]) }
        let message = (object?["message"] as? String) ?? (object?["Message"] as? String) ?? ""
        return AWSError(service: service, operation: operation, code: code, message: message,
                        requestID: response.header("x-amzn-RequestId"), status: response.status)
    }
}

/// The REST-XML protocol (S3): errors as `<Error><Code>`; answers without a body (HEAD) by status.
public enum RESTXMLProtocol {
    /// S3's error shape.
    public static let parseError: ErrorParser = { response, service, operation in
        let xml = XMLNode.parse(response.body)
        let error = xml?.name == "Error" ? xml : xml?.find("Error")
        return AWSError(service: service, operation: operation,
                        code: error?.string("Code") ?? statusCode(response.status),
                        message: error?.string("Message") ?? "",
                        requestID: error?.string("RequestId") ?? response.header("x-amz-request-id"),
                        status: response.status)
    }
}

/// A code for answers that carry none (HEAD requests, proxies).
func statusCode(_ status: Int) -> String {
    switch status {
    case 301: return "PermanentRedirect"
    case 400: return "BadRequest"
    case 403: return "Forbidden"
    case 404: return "NotFound"
    case 429: return "TooManyRequestsException"
    case 500: return "InternalError"
    case 503: return "ServiceUnavailable"
    default: return "HTTP\(status)"
    }
}

/// Form encoding for Query bodies: RFC 3986 unreserved characters kept, everything else %-encoded.
enum URIEncodingForm {
    static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~".utf8)

    static func encode(_ s: String) -> String {
        var out = ""
        for byte in s.utf8 {
            if unreserved.contains(byte) { out.unicodeScalars.append(Unicode.Scalar(byte)) } else {
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// Polls until a condition holds, with backoff and jitter, up to a deadline.
public struct Waiter: Sendable {
    /// The first delay.
    public var initialDelay: TimeInterval
    /// The longest delay between polls.
    public var maxDelay: TimeInterval
    /// How long to wait in all.
    public var timeout: TimeInterval

    /// Creates a waiter.
    public init(initialDelay: TimeInterval = 2, maxDelay: TimeInterval = 30, timeout: TimeInterval) {
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.timeout = timeout
    }

    /// Calls `poll` until it returns a value; throws what `poll` throws, or a timeout naming `what`.
    public func wait<T>(for what: String, config: AWSConfig, _ poll: () throws -> T?) throws -> T {
        let deadline = config.clock().addingTimeInterval(timeout)
        var delay = initialDelay
        while true {
            if let value = try poll() { return value }
            let remaining = deadline.timeIntervalSince(config.clock())
            if remaining <= 0 {
                throw AWSError(service: "kiln", operation: "wait", code: "WaiterTimeout",
                               message: "gave up waiting for \(what) after \(Int(timeout)) s", status: 0)
            }
            config.sleep(min(remaining, delay * (0.5 + config.random() / 2)))
            delay = min(maxDelay, delay * 1.5)
        }
    }
}
