import AWSCore
import Foundation
import KilnHTTP
import SigV4

extension STSClient {
    /// A Query call without a signature (no `Authorization`, no `X-Amz-Security-Token`), for
    /// AssumeRoleWithWebIdentity. `AWSClient.send` always signs, so this sends through KilnHTTP itself,
    /// with the same endpoint, error parsing and standard-mode retry schedule (without the shared
    /// retry quota, which is private to `AWSClient`).
    func callUnsigned(_ action: String, _ parameters: [(String, String)]) throws -> XMLNode {
        let form = ([("Action", action), ("Version", STSClient.version)] + parameters)
            .map { "\(URIEncoding.encode($0.0, encodeSlash: true))=\(URIEncoding.encode($0.1, encodeSlash: true))" }
            .joined(separator: "&")
        let request = HTTPRequest(method: "POST", url: client.url(path: "/", query: []),
                                  headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                  body: .bytes(Array(form.utf8)))
        let config = client.config
        let http: HTTPClient
        do {
            http = try HTTPClient(options: config.httpOptions)
        } catch {
            throw AWSError(service: client.service, operation: action, code: "ConnectionError", message: "\(error)", status: 0)
        }
        var attempt = 0
        while true {
            attempt += 1
            let failure: AWSError
            do {
                let response = try http.send(request)
                if response.isSuccess {
                    guard let xml = XMLNode.parse(response.body) else {
                        throw AWSError(service: client.service, operation: action, code: "InvalidResponse",
                                       message: "the answer is not XML", status: response.status)
                    }
                    return xml
                }
                failure = QueryProtocol.parseError(response, client.service, action)
            } catch let error as KilnHTTPError {
                failure = AWSError(service: client.service, operation: action,
                                   code: error.isTimeout ? "Timeout" : "ConnectionError",
                                   message: error.description, status: 0)
            }
            guard failure.isRetryable, attempt < config.maxAttempts else { throw failure }
            // Full jitter over an exponentially growing window, as AWSClient does.
            config.sleep(config.random() * min(20, config.baseDelay * pow(2, Double(attempt - 1))))
        }
    }
}
