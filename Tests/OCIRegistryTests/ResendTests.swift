import Foundation
import KilnHTTP
import KilnTestSupport
@testable import OCIRegistry
import Testing

/// Why upload requests set `allowsTransparentResend = false`: libcurl resends a request by itself when a
/// reused connection dies before any answer — for a PATCH, the same bytes into the same session.
@Suite("no transparent resend of upload chunks")
struct ResendTests {
    /// Opens an upload session through the proxy (so the next request reuses the connection), then
    /// sends one PATCH that the proxy swallows whole and answers by closing the connection.
    static func patchOnReusedConnection(allowsResend: Bool) throws -> (result: Result<HTTPResponse, any Error>,
                                                                        patches: [RegistryFaultProxy.Entry]) {
        let registry = try RegistryServer(password: nil)
        let proxy = try RegistryFaultProxy(upstreamPort: registry.port, dropPatch: 1, dropAfter: 64 << 20)
        let client = try HTTPClient()
        let opened = try client.send(HTTPRequest(method: "POST", url: "http://\(proxy.host)/v2/resend/test/blobs/uploads/"))
        let location = try #require(opened.header("Location"))
        let url = location.hasPrefix("http") ? location : "http://\(proxy.host)\(location)"
        var patch = HTTPRequest(method: "PATCH", url: url, headers: [("Content-Type", "application/octet-stream"),
                                                                     ("Content-Range", "0-1048575")],
                                body: .bytes([UInt8](repeating: 9, count: 1 << 20)))
        patch.allowsTransparentResend = allowsResend
        let result = Result { try client.send(patch) }
        return (result, proxy.entries.filter { $0.method == "PATCH" })
    }

    @Test("libcurl replays a chunk into the same session unless the request forbids it")
    func replay() throws {
        let allowed = try Self.patchOnReusedConnection(allowsResend: true)
        // The default: curl sent the chunk twice, to the same session with the same range.
        #expect(allowed.patches.count == 2)
        #expect(Set(allowed.patches.map { "\($0.session ?? "") \($0.range ?? "")" }).count == 1)

        let forbidden = try Self.patchOnReusedConnection(allowsResend: false)
        #expect(forbidden.patches.count == 1)
        #expect {
            _ = try forbidden.result.get()
        } throws: { error in
            guard let error = error as? KilnHTTPError else { return false }
            return error.isResendRefused && RegistryError.transport("PATCH", error).isRetryable
        }
    }
}
