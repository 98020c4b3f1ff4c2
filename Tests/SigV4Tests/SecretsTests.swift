import Foundation
import SigV4
import Testing

/// Secrets never reach logs or error text (design.md, convention 6).
@Suite("Secrets stay secret")
struct SecretsTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
    static let credentials = Credentials(accessKeyID: "ASIAEXAMPLE", secretAccessKey: secret, sessionToken: token,
                                         expiration: Date(timeIntervalSince1970: 1_700_000_000), source: "environment")

    static func leaks(_ text: String) -> Bool {
        text.contains(secret) || text.contains(token) || text.contains("EXAMPLEKEY") || text.contains("EXAMPLETOKEN")
    }

    @Test("Credentials' description shows the key ID and source only")
    func credentialsDescription() {
        #expect(!Self.leaks(Self.credentials.description))
        #expect(!Self.leaks("\(Self.credentials)"))
        #expect(!Self.leaks(String(reflecting: Self.credentials)))
        #expect(Self.credentials.description.contains("ASIAEXAMPLE"))
        #expect(Self.credentials.description.contains("environment"))
    }

    @Test("a signer prints, debug-prints and dumps without its credentials")
    func signerDescription() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        var dumped = ""
        dump(signer, to: &dumped)
        for text in [signer.description, "\(signer)", String(reflecting: signer), dumped] {
            #expect(!Self.leaks(text), "leaked: \(text)")
        }
        #expect(signer.description.contains("ASIAEXAMPLE"))
    }

    @Test("the signing key and the Authorization header do not contain the secret")
    func signatureOutputs() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "ec2")
        let request = SigningRequest(method: "GET", url: "https://ec2.us-east-1.amazonaws.com/?Action=DescribeImages",
                                     payloadHash: SigningRequest.emptyPayloadHash)
        let headers = signer.signedHeaders(for: request, date: Date(timeIntervalSince1970: 0))
        let authorization = headers.first { $0.name == "Authorization" }?.value ?? ""
        #expect(!authorization.isEmpty && !Self.leaks(authorization))
        #expect(!Self.leaks(String(decoding: signer.signingKey(date: Date(timeIntervalSince1970: 0)), as: UTF8.self)))
    }
}
