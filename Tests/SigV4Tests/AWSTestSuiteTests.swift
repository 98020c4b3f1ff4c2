import Foundation
import KilnCrypto
import SigV4
import Testing

/// One case of AWS's SigV4 test suite: the request, and what each stage must produce for it.
///
/// All cases share the suite's context: access key `AKIDEXAMPLE`, secret
/// `wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY`, region `us-east-1`, service `service`, signing time
/// 2015-08-30T12:36:00Z, and (for the presigned variant) 3600 seconds of validity.
struct SuiteVector: Sendable, CustomTestStringConvertible {
    let name: String
    let method: String
    let url: String
    let headers: [(String, String)]
    var body: String = ""
    var sessionToken: String? = nil
    /// Stage 1 for header auth (the request plus the X-Amz-Date header, and the token if any).
    let canonicalRequest: String
    /// The last line of stage 2, SHA-256 of the canonical request.
    let canonicalRequestHash: String
    /// Stage 4 for header auth.
    let signature: String
    /// Stage 4 for the presigned URL; nil where the suite signs the body of a presigned request,
    /// which `presignedURL` does not (its payload is the empty body, or UNSIGNED-PAYLOAD for S3).
    let presignSignature: String?

    var testDescription: String { name }
}

/// Facts transcribed from the AWS SigV4 test suite, as published in awslabs/aws-c-auth at
/// tests/aws-signing-test-suite/v4/<name>/{context.json, request.txt, header-canonical-request.txt,
/// header-string-to-sign.txt, header-signature.txt, query-signature.txt} (commit
/// 495329c2433034bd8fd53fc6ba9e0202d3fac876); the suite itself is described at
/// https://docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html.
/// Only the `-normalized` variants apply (normalization is what every service but S3 gets).
/// Where the suite signs the body (`sign_body: true`) it also sends `X-Amz-Content-Sha256`; that header
/// is listed explicitly here, because kiln's signer adds it only for S3.
let suiteVectors: [SuiteVector] = [
    // tests/aws-signing-test-suite/v4/get-vanilla
    SuiteVector(
        name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-vanilla-query
    SuiteVector(
        name: "get-vanilla-query", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-vanilla-empty-query-key
    SuiteVector(
        name: "get-vanilla-empty-query-key", method: "GET", url: "https://example.amazonaws.com/?Param1=value1",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /
            Param1=value1
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
        signature: "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb",
        presignSignature: "49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de"),
    // tests/aws-signing-test-suite/v4/get-vanilla-query-order-key-case
    SuiteVector(
        name: "get-vanilla-query-order-key-case", method: "GET", url: "https://example.amazonaws.com/?Param2=value2&Param1=value1",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /
            Param1=value1&Param2=value2
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
        signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        presignSignature: "86012e2c9ad4d77369f5d81c11f75158aae4f895a085212cc6d3f923d300bed5"),
    // tests/aws-signing-test-suite/v4/get-vanilla-query-order-encoded
    SuiteVector(
        name: "get-vanilla-query-order-encoded", method: "GET", url: "https://example.amazonaws.com/?Param-3=Value3&Param=Value2&%E1%88%B4=Value1",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /
            %E1%88%B4=Value1&Param=Value2&Param-3=Value3
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "868294f5c38bd141c4972a373a76654f1418a8e4fc18b2e7903ae45e8ae0ec71",
        signature: "371d3713e185cc334048618a97f809c9ffe339c62934c032af5a0e595648fcac",
        presignSignature: "c5f1848ceec943ac2ca68ee720460c23aaae30a2300586597ada94c4a65e4787"),
    // tests/aws-signing-test-suite/v4/get-vanilla-query-unreserved
    SuiteVector(
        name: "get-vanilla-query-unreserved", method: "GET", url: "https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /
            -._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
        signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
        presignSignature: "8e76a88a7433637b12778d5592799b29ad21ecd6cf6325051c21d86f0acda2bf"),
    // tests/aws-signing-test-suite/v4/get-vanilla-utf8-query
    SuiteVector(
        name: "get-vanilla-utf8-query", method: "GET", url: "https://example.amazonaws.com/?ሴ=bar",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /
            %E1%88%B4=bar
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
        presignSignature: "0bdd809b1519ac4f0c1dc3540e2cc46bd0c7f778eda408b2ebf3b913d21ff600"),
    // tests/aws-signing-test-suite/v4/get-utf8
    SuiteVector(
        name: "get-utf8", method: "GET", url: "https://example.amazonaws.com/ሴ",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /%E1%88%B4

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
        signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85",
        presignSignature: "10eae3f14a260bd3911cc6d008d3c576d143b05b62f09782a7a4b37f52178e44"),
    // tests/aws-signing-test-suite/v4/get-unreserved
    SuiteVector(
        name: "get-unreserved", method: "GET", url: "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
        signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f",
        presignSignature: "95968482db1b9e0fadef6efc1bd24689f77c77d9ef56919c96a28cc92e0d6005"),
    // tests/aws-signing-test-suite/v4/get-space-normalized
    SuiteVector(
        name: "get-space-normalized", method: "GET", url: "https://example.amazonaws.com/example space/",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /example%20space/

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
        signature: "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741",
        presignSignature: "7a1f416954786484c9824d93c1f26ef64acb9b1b6c9154d08c9f07d0e394abf6"),
    // tests/aws-signing-test-suite/v4/get-header-key-duplicate
    SuiteVector(
        name: "get-header-key-duplicate", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value2,value2,value1
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
        signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea",
        presignSignature: "3349ee0b81b4b589da0ff28a395c3591e04de515651dd74f298fa992d1507a97"),
    // tests/aws-signing-test-suite/v4/get-header-value-order
    SuiteVector(
        name: "get-header-value-order", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value4,value1,value3,value2
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
        signature: "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01",
        presignSignature: "313720e71ca6202fdcfa9b20f88de01a4eb0638a83c833b1c184359a4eda864e"),
    // tests/aws-signing-test-suite/v4/get-header-value-trim
    SuiteVector(
        name: "get-header-value-trim", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value1
            my-header2:"a b c"
            x-amz-date:20150830T123600Z

            host;my-header1;my-header2;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
        signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736",
        presignSignature: "e7bb0fd515e125e1aec2ecc4c0c17484fb06f6846b927c35e46005dd3df3acd4"),
    // tests/aws-signing-test-suite/v4/get-header-value-multiline
    SuiteVector(
        name: "get-header-value-multiline", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value1\n  value2\n     value3")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            my-header1:value1 value2 value3
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "e99419459a677bc11de234014be3c4e72c1ea5b454ceb58b613061f5d7a162e8",
        signature: "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd",
        presignSignature: "e6f5def831211aca02987a44b96826706278c7bc078112ae0263659c5b2f2d56"),
    // tests/aws-signing-test-suite/v4/get-relative-normalized
    SuiteVector(
        name: "get-relative-normalized", method: "GET", url: "https://example.amazonaws.com/example/..",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-relative-relative-normalized
    SuiteVector(
        name: "get-relative-relative-normalized", method: "GET", url: "https://example.amazonaws.com/example1/example2/../..",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-slash-normalized
    SuiteVector(
        name: "get-slash-normalized", method: "GET", url: "https://example.amazonaws.com//",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-slash-dot-slash-normalized
    SuiteVector(
        name: "get-slash-dot-slash-normalized", method: "GET", url: "https://example.amazonaws.com/./",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        presignSignature: "e93c787ed7f371d5c6b165c1b38ede9550f4dce4144713e844b25b7192d3865d"),
    // tests/aws-signing-test-suite/v4/get-slash-pointless-dot-normalized
    SuiteVector(
        name: "get-slash-pointless-dot-normalized", method: "GET", url: "https://example.amazonaws.com/./example",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /example

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
        signature: "ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5",
        presignSignature: "35034b1a0bdd969f346975386daf8aedfd4976573b8348cf4f67eaa41c5857de"),
    // tests/aws-signing-test-suite/v4/get-slashes-normalized
    SuiteVector(
        name: "get-slashes-normalized", method: "GET", url: "https://example.amazonaws.com//example//",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            GET
            /example/

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
        signature: "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84",
        presignSignature: "c1834e8fb0307243711f0f907f6ab7311ed300d87f13792d7ee4da89ab93e082"),
    // tests/aws-signing-test-suite/v4/post-vanilla
    SuiteVector(
        name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        presignSignature: "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b"),
    // tests/aws-signing-test-suite/v4/post-vanilla-query
    SuiteVector(
        name: "post-vanilla-query", method: "POST", url: "https://example.amazonaws.com/?Param1=value1",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            POST
            /
            Param1=value1
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        presignSignature: "a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682"),
    // tests/aws-signing-test-suite/v4/post-vanilla-empty-query-value
    SuiteVector(
        name: "post-vanilla-empty-query-value", method: "POST", url: "https://example.amazonaws.com/?Param1=value1",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            POST
            /
            Param1=value1
            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
        presignSignature: "a9ef26247f293bffe40eeff86a0480ba8c14d31503b2e0c3399e3a16bf1a3682"),
    // tests/aws-signing-test-suite/v4/post-header-key-case
    SuiteVector(
        name: "post-header-key-case", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z

            host;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        presignSignature: "2ce6e6d2e0cf2f9d1b55fafec88cd20574c31dc2e7631979f71ba2310083e95b"),
    // tests/aws-signing-test-suite/v4/post-header-key-sort
    SuiteVector(
        name: "post-header-key-sort", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value1")],
        canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            my-header1:value1
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
        signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
        presignSignature: "c09d07e0d55871f10f2a6d350d994acf6825a3cae70673d7def55616e6119dd7"),
    // tests/aws-signing-test-suite/v4/post-header-value-case
    SuiteVector(
        name: "post-header-value-case", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com"), ("My-Header1", "VALUE1")],
        canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            my-header1:VALUE1
            x-amz-date:20150830T123600Z

            host;my-header1;x-amz-date
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
        signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
        presignSignature: "0698bc9e4f7f9139065ba2909c0e99da257e8e2a42492a097bcd46d792391fed"),
    // tests/aws-signing-test-suite/v4/post-x-www-form-urlencoded
    SuiteVector(
        name: "post-x-www-form-urlencoded", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com"), ("Content-Length", "13"), ("X-Amz-Content-Sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")],
        body: "Param1=value1",
        canonicalRequest: """
            POST
            /

            content-length:13
            content-type:application/x-www-form-urlencoded
            host:example.amazonaws.com
            x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            x-amz-date:20150830T123600Z

            content-length;content-type;host;x-amz-content-sha256;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """,
        canonicalRequestHash: "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
        signature: "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b",
        presignSignature: nil),
    // tests/aws-signing-test-suite/v4/post-x-www-form-urlencoded-parameters
    SuiteVector(
        name: "post-x-www-form-urlencoded-parameters", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), ("Host", "example.amazonaws.com"), ("Content-Length", "13"), ("X-Amz-Content-Sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")],
        body: "Param1=value1",
        canonicalRequest: """
            POST
            /

            content-length:13
            content-type:application/x-www-form-urlencoded; charset=utf-8
            host:example.amazonaws.com
            x-amz-content-sha256:9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            x-amz-date:20150830T123600Z

            content-length;content-type;host;x-amz-content-sha256;x-amz-date
            9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e
            """,
        canonicalRequestHash: "a89f1a5b53e37702ee6363ce1da3ce8f54386f3c8f352ae652153c2982a0bc4d",
        signature: "328d1b9eaadca9f5818ef05e8392801e091653bafec24fcab71e7344e7f51422",
        presignSignature: nil),
    // tests/aws-signing-test-suite/v4/get-vanilla-with-session-token
    SuiteVector(
        name: "get-vanilla-with-session-token", method: "GET", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        sessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
        canonicalRequest: """
            GET
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z
            x-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267

            host;x-amz-date;x-amz-security-token
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
        signature: "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8",
        presignSignature: "7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c"),
    // tests/aws-signing-test-suite/v4/post-sts-header-before
    SuiteVector(
        name: "post-sts-header-before", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Host", "example.amazonaws.com")],
        sessionToken: "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==",
        canonicalRequest: """
            POST
            /

            host:example.amazonaws.com
            x-amz-date:20150830T123600Z
            x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==

            host;x-amz-date;x-amz-security-token
            e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
            """,
        canonicalRequestHash: "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
        signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        presignSignature: "46c2e3c63c1dbe7d39f8ada16fe7f001c1f56c5791441565323677f96308871c"),
]

/// The suite's fixed context.
enum Suite {
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let scope = "20150830/us-east-1/service/aws4_request"

    static func signer(token: String?) -> SigV4Signer {
        SigV4Signer(credentials: Credentials(accessKeyID: "AKIDEXAMPLE",
                                             secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                             sessionToken: token),
                    region: "us-east-1", service: "service")
    }
}

/// The value of the `X-Amz-Signature` parameter of a presigned URL.
func signatureParameter(of url: String) -> String? {
    url.split(separator: "?", maxSplits: 1).last?.split(separator: "&")
        .first { $0.hasPrefix("X-Amz-Signature=") }
        .map { String($0.dropFirst("X-Amz-Signature=".count)) }
}

@Suite("AWS SigV4 test suite")
struct AWSTestSuiteTests {
    @Test("vector count covers the required cases")
    func coverage() {
        #expect(suiteVectors.count >= 10)
    }

    @Test("header auth: every stage matches", arguments: suiteVectors)
    func headerAuth(_ vector: SuiteVector) {
        let signer = Suite.signer(token: vector.sessionToken)
        let request = SigningRequest(method: vector.method, url: vector.url,
                                     headers: vector.headers.map { (name: $0.0, value: $0.1) },
                                     payloadHash: SHA256.hash(vector.body).hex)
        let added = signer.signedHeaders(for: request, date: Suite.date)

        // The headers the signer adds, in botocore's order.
        var expectedNames = ["X-Amz-Date"]
        if vector.sessionToken != nil { expectedNames.append("X-Amz-Security-Token") }
        expectedNames.append("Authorization")
        #expect(added.map(\.name) == expectedNames)
        #expect(added.first?.value == "20150830T123600Z")
        if let token = vector.sessionToken {
            #expect(added.first { $0.name == "X-Amz-Security-Token" }?.value == token)
        }

        // Stage by stage, on the request as it will be sent.
        let sent = SigningRequest(method: request.method, url: request.url,
                                  headers: request.headers + added.filter { $0.name != "Authorization" },
                                  payloadHash: request.payloadHash)
        let signedNames = signer.headersToSign(sent)
        let canonical = signer.canonicalRequest(sent, signedHeaders: signedNames)
        #expect(canonical == vector.canonicalRequest)
        let sts = signer.stringToSign(canonicalRequest: canonical, date: Suite.date)
        #expect(sts == "AWS4-HMAC-SHA256\n20150830T123600Z\n\(Suite.scope)\n\(vector.canonicalRequestHash)")
        #expect(signer.signature(stringToSign: sts, date: Suite.date) == vector.signature)

        let authorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(Suite.scope), "
            + "SignedHeaders=\(signedNames.joined(separator: ";")), Signature=\(vector.signature)"
        #expect(added.last?.value == authorization)
    }

    @Test("query auth: the presigned URL carries the suite's signature", arguments: suiteVectors.filter { $0.presignSignature != nil })
    func queryAuth(_ vector: SuiteVector) {
        let signer = Suite.signer(token: vector.sessionToken)
        let url = signer.presignedURL(method: vector.method, url: vector.url,
                                      headers: vector.headers.map { (name: $0.0, value: $0.1) },
                                      expires: 3600, date: Suite.date)
        #expect(signatureParameter(of: url) == vector.presignSignature)
        #expect(url.contains("X-Amz-Expires=3600&"))
    }
}
