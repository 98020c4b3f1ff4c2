import Foundation
import KilnCrypto
import SigV4
import Testing

/// SplitMix64 (https://prng.di.unimi.it/splitmix64.c): a tiny seeded generator, so the generated
/// requests are the same on every run and every toolchain (no `random(in:)`, whose algorithm is the
/// standard library's to change).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (bound > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// In `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: Int) -> Bool { below(100) < percent }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    /// `count` characters drawn from `alphabet`.
    mutating func string(_ alphabet: [String], count: Int) -> String {
        (0..<count).map { _ in pick(alphabet) }.joined()
    }
}

/// One generated request, as the helper script reads it.
struct ParityCase: Encodable {
    struct PathPiece: Encodable { let text: String; let encode: Bool }
    struct Parameter: Encodable { let name: String; let value: String? }
    struct URLParts: Encodable {
        let scheme: String
        let netloc: String
        let path: [PathPiece]
        let query: [Parameter]?
    }
    struct Presign: Encodable {
        let method: String
        let headers: [[String]]
        let expires: Int
    }

    let id: Int
    let service: String
    let region: String
    let accessKeyID: String
    let secretAccessKey: String
    let sessionToken: String?
    let timeMicros: Int64
    let method: String
    let url: String
    let urlParts: URLParts
    let headers: [[String]]
    let body: String
    let unsignedPayload: Bool
    let presign: Presign
    /// Whether botocore's presigned URL is comparable: it keeps only the first of repeated query
    /// parameters (`parse_qs` into a dict), where kiln keeps them all.
    let presignComparable: Bool

    var date: Date { Date(timeIntervalSince1970: Double(timeMicros) / 1_000_000) }
    var signer: SigV4Signer {
        SigV4Signer(credentials: Credentials(accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                                             sessionToken: sessionToken),
                    region: region, service: service)
    }
    var headerTuples: [(name: String, value: String)] { headers.map { (name: $0[0], value: $0[1]) } }
    var presignHeaderTuples: [(name: String, value: String)] { presign.headers.map { (name: $0[0], value: $0[1]) } }
    var payloadHash: String { unsignedPayload ? SigningRequest.unsignedPayload : SHA256.hash(body).hex }
}

/// What botocore produced for one case.
struct BotocoreResult: Decodable {
    let id: Int
    let url: String
    let headers: [String: String]
    let presignedURL: String
}

/// Deterministic request generator: methods, services, partitions, paths with reserved and non-ASCII
/// characters, dot segments and repeated slashes, repeated and empty query parameters, headers with odd
/// whitespace, case and repetition, session tokens, unsigned payloads, odd ports and IPv6 hosts.
enum ParityGenerator {
    static let regions = ["us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2", "sa-east-1",  // aws
                          "cn-north-1", "cn-northwest-1",                                            // aws-cn
                          "us-gov-west-1", "us-gov-east-1",                                          // aws-us-gov
                          "us-iso-east-1", "us-isob-east-1"]                                        // aws-iso, aws-iso-b
    static let letters = (UnicodeScalar("a").value...UnicodeScalar("z").value).compactMap { UnicodeScalar($0).map(String.init) }
    static let upper = letters.map { $0.uppercased() }
    static let digits = (0...9).map(String.init)
    static let base64 = letters + upper + digits + ["+", "/"]
    /// Characters of object keys and query values: unreserved, reserved, space, `%`, non-ASCII.
    static let keyAlphabet = letters + digits + ["-", "_", ".", "~", " ", "!", "$", "&", "'", "(", ")", "*", "+",
                                                 ",", ";", "=", ":", "@", "%", "#", "?", "[", "]", "/", "é",
                                                 "ሴ", "😀", "日本", "\u{A0}", "Ω"]
    static let subDelims = ["!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":", "@"]
    static let queryNames = ["Action", "Version", "prefix", "list-type", "max-keys", "delimiter",
                             "continuation-token", "uploadId", "partNumber", "Filter.1.Name", "x-id", "acl",
                             "tagging", "versionId", "ሴ", "a b", "Key/Path", "+plus", "e~x_a.m-p", "Ünïcode"]
    static let whitespace = [" ", "  ", "\t", " \t ", ""]

    static func dnsSuffix(_ region: String) -> String {
        if region.hasPrefix("cn-") { return "amazonaws.com.cn" }
        if region.hasPrefix("us-isob-") { return "sc2s.sgov.gov" }
        if region.hasPrefix("us-iso-") { return "c2s.ic.gov" }
        return "amazonaws.com"
    }

    static func mixCase(_ s: String, _ rng: inout SplitMix64) -> String {
        switch rng.below(4) {
        case 0: return s.lowercased()
        case 1: return s.uppercased()
        case 2: return s
        default: return s.map { rng.chance(50) ? $0.uppercased() : $0.lowercased() }.joined()
        }
    }

    static func oddValue(_ core: String, _ rng: inout SplitMix64) -> String {
        let words = core.split(separator: " ")
        return rng.pick(whitespace) + words.map(String.init).joined(separator: rng.pick([" ", "  ", " \t ", "\t"]))
            + rng.pick(whitespace)
    }

    static func makeCase(id: Int, _ rng: inout SplitMix64) -> ParityCase {
        let service = rng.pick(["ec2", "ssm", "s3"])
        let s3 = service == "s3"
        let region = rng.pick(regions)
        let method = rng.pick(["GET", "PUT", "POST", "DELETE", "HEAD"])

        // Endpoint: usually the real one, sometimes a local peer (moto), an explicit port, or odd case.
        var scheme = "https"
        var netloc: String
        var bucketInPath = false
        switch rng.below(10) {
        case 0: scheme = "http"; netloc = rng.pick(["localhost:5000", "127.0.0.1:4566", "[::1]:4566", "LocalHost:80"])
                bucketInPath = s3
        case 1: netloc = (s3 ? "s3" : service) + ".\(region).\(dnsSuffix(region)):" + rng.pick(["443", "8443"])
                bucketInPath = s3
        case 2: netloc = (s3 ? "Kiln-Bucket.S3" : service.uppercased()) + ".\(region.uppercased()).\(dnsSuffix(region))"
        default:
            if s3 && rng.chance(30) {
                netloc = "s3.\(region).\(dnsSuffix(region))"
                bucketInPath = true
            } else {
                netloc = (s3 ? "kiln-images-\(rng.below(100)).s3" : service) + ".\(region).\(dnsSuffix(region))"
            }
        }

        // Path, as pieces: encoded text, or literal text sent as it is.
        var path: [ParityCase.PathPiece] = []
        if s3 {
            if bucketInPath { path += [.init(text: "/", encode: false), .init(text: "kiln-bucket", encode: false)] }
            for _ in 0..<rng.int(1...3) {
                path.append(.init(text: "/", encode: false))
                switch rng.below(10) {
                case 0: path.append(.init(text: rng.pick([".", "..", ""]), encode: false))
                default: path.append(.init(text: rng.string(keyAlphabet, count: rng.int(1...12)), encode: true))
                }
            }
            if rng.chance(15) { path.append(.init(text: "/", encode: false)) }
        } else if rng.chance(50) {
            path = rng.chance(30) ? [] : [.init(text: "/", encode: false)]
        } else {
            for _ in 0..<rng.int(1...4) {
                path.append(.init(text: rng.pick(["/", "//", "/./", "/../"]), encode: false))
                switch rng.below(5) {
                case 0: path.append(.init(text: rng.pick(subDelims) + rng.string(letters, count: 2) + rng.pick(subDelims), encode: false))
                case 1: path.append(.init(text: rng.pick(["%e1%88%b4", "%zz", "%", "a%2Fb", ".", ".."]), encode: false))
                default: path.append(.init(text: rng.string(keyAlphabet, count: rng.int(1...10)), encode: true))
                }
            }
        }

        // Query: repeated names, empty values, bare names, or just "?".
        var query: [ParityCase.Parameter]?
        if rng.chance(60) {
            var parameters: [ParityCase.Parameter] = []
            for _ in 0..<rng.int(0...5) {
                let name = !parameters.isEmpty && rng.chance(20) ? rng.pick(parameters).name : rng.pick(queryNames)
                let value: String? = switch rng.below(8) {
                case 0: nil
                case 1: ""
                default: rng.string(keyAlphabet, count: rng.int(1...10))
                }
                parameters.append(.init(name: name, value: value))
            }
            query = parameters
        }

        var url = scheme + "://" + netloc
        for piece in path { url += piece.encode ? URIEncoding.encode(piece.text, encodeSlash: true) : piece.text }
        if let query {
            url += "?" + query.map { p in
                URIEncoding.encode(p.name, encodeSlash: true) + (p.value.map { "=" + URIEncoding.encode($0, encodeSlash: true) } ?? "")
            }.joined(separator: "&")
        }

        // Headers: odd case, odd whitespace, repeats, blacklisted ones, stale auth headers.
        var headers: [[String]] = []
        let pool: [(String, String)] = [
            ("Content-Type", "application/x-amz-json-1.1"), ("Content-Type", "text/plain;   charset=utf-8"),
            ("X-Amz-Target", "AmazonSSM.GetParameter"), ("X-Amz-Meta-Owner", "research   engineering"),
            ("My-Header", "a   b \t c"), ("User-Agent", "kiln/1.0 (linux)"), ("Expect", "100-continue"),
            ("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793"), ("Range", "bytes=0-9"),
            ("Cache-Control", "no-cache"), ("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="),
            ("X-Amz-Date", "19990101T000000Z"), ("Authorization", "stale"), ("Accept", ""),
            ("X-Amz-Meta-Note", "caf\u{E9}  \u{2003} ሴ"), ("Connection", "keep-alive"),
        ]
        for _ in 0..<rng.int(0...5) {
            let (name, value) = rng.pick(pool)
            headers.append([mixCase(name, &rng), oddValue(value, &rng)])
        }
        if let repeated = headers.first, rng.chance(30) {
            headers.append([mixCase(repeated[0], &rng), oddValue("second value", &rng)])
        }
        if rng.chance(15) {
            headers.append([mixCase("Host", &rng), " " + SplitHost.header(scheme: scheme, netloc: netloc) + " "])
        }

        let body = ["PUT", "POST"].contains(method) && rng.chance(70)
            ? rng.string(keyAlphabet + ["\n", "{", "}"], count: rng.int(0...40)) : ""
        let unsigned = s3 ? rng.chance(25) : (scheme == "https" && rng.chance(10))
        let token: String? = rng.chance(50) ? rng.string(base64, count: rng.int(20...120)) + rng.pick(["", "=", "=="]) : nil
        let seconds = Int64(946_684_800 + rng.below(1_199_232_000))  // 2000 ... 2038
        let micros = Int64(rng.pick([0, 250_000, 999_000]))

        let presignHeaders = headers.filter { $0[0].lowercased() != "authorization" && rng.chance(40) }
        let uniqueNames = query.map { Set($0.map(\.name)).count == $0.count } ?? true
        return ParityCase(
            id: id, service: service, region: region,
            accessKeyID: rng.pick(["AKIA", "ASIA"]) + rng.string(upper + digits, count: 16),
            secretAccessKey: rng.string(base64, count: 40), sessionToken: token,
            timeMicros: seconds * 1_000_000 + micros, method: method, url: url,
            urlParts: .init(scheme: scheme, netloc: netloc, path: path, query: query),
            headers: headers, body: body, unsignedPayload: unsigned,
            presign: .init(method: s3 ? rng.pick(["GET", "PUT"]) : method, headers: presignHeaders,
                           expires: rng.int(1...604_800)),
            presignComparable: uniqueNames)
    }
}

/// The Host header botocore derives, recomputed here only to send it explicitly in some cases.
enum SplitHost {
    static func header(scheme: String, netloc: String) -> String {
        let lower = netloc.lowercased()
        if scheme == "https", lower.hasSuffix(":443") { return String(lower.dropLast(4)) }
        if scheme == "http", lower.hasSuffix(":80") { return String(lower.dropLast(3)) }
        return lower
    }
}

/// Runs the helper script once over all cases and returns botocore's results.
enum Botocore {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/botocore_sign.py")

    struct Failure: Error, CustomStringConvertible { let description: String }

    static func sign(_ cases: [ParityCase]) throws -> [BotocoreResult] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-sigv4-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("cases.json")
        let output = directory.appendingPathComponent("out.json")
        let errors = directory.appendingPathComponent("err.txt")
        try JSONEncoder().encode(cases).write(to: input)
        try Data().write(to: output)
        try Data().write(to: errors)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path, input.path]
        let outHandle = try FileHandle(forWritingTo: output)
        let errHandle = try FileHandle(forWritingTo: errors)
        defer { try? outHandle.close(); try? errHandle.close() }
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // A watchdog: under `swift test` children inherit a blocked SIGTERM, so only SIGKILL stops them.
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { _ = kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()

        let stderrText = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        switch process.terminationStatus {
        case 0: break
        case 3: throw Failure(description: "botocore is not importable by python3: pip install botocore\n\(stderrText)")
        case 127: throw Failure(description: "python3 was not found on PATH: install python3, then pip install botocore")
        default:
            throw Failure(description: "\(script.lastPathComponent) failed with status \(process.terminationStatus) "
                          + "(reason \(process.terminationReason.rawValue)); is botocore installed (pip install botocore)?\n\(stderrText)")
        }
        return try JSONDecoder().decode([BotocoreResult].self, from: Data(contentsOf: output))
    }
}

@Suite("Parity with botocore")
struct BotocoreParityTests {
    static let caseCount = 700

    @Test("700 generated requests: Authorization, added headers and presigned URLs match botocore byte for byte")
    func parity() throws {
        var rng = SplitMix64(seed: 0x6B69_6C6E_5369_6756)  // "kilnSigV"
        let cases = (0..<Self.caseCount).map { ParityGenerator.makeCase(id: $0, &rng) }
        let results: [BotocoreResult]
        do {
            results = try Botocore.sign(cases)
        } catch {
            Issue.record("\(error)")
            return
        }
        try #require(results.count == cases.count, "botocore returned \(results.count) results for \(cases.count) cases")

        var failures = 0
        var presignCompared = 0
        var s3PresignWithToken: Set<String> = []
        func fail(_ message: String) {
            failures += 1
            if failures <= 8 { Issue.record(Comment(rawValue: message)) }
        }
        for (testCase, result) in zip(cases, results) {
            let label = "case \(testCase.id) (\(testCase.service) \(testCase.method) \(testCase.url))"
            if testCase.url != result.url {
                fail("\(label): URIEncoding built \(testCase.url), Python's quote built \(result.url)")
                continue
            }
            let request = SigningRequest(method: testCase.method, url: testCase.url, headers: testCase.headerTuples,
                                         payloadHash: testCase.payloadHash)
            let ours = testCase.signer.signedHeaders(for: request, date: testCase.date)
            var oursByName: [String: String] = [:]
            for header in ours { oursByName[header.name.lowercased()] = header.value }
            var theirsByName: [String: String] = [:]
            for (name, value) in result.headers { theirsByName[name.lowercased()] = value }
            if oursByName != theirsByName {
                fail("\(label): headers differ\n  kiln:     \(oursByName)\n  botocore: \(theirsByName)")
            }

            let presigned = testCase.signer.presignedURL(method: testCase.presign.method, url: testCase.url,
                                                         headers: testCase.presignHeaderTuples,
                                                         expires: testCase.presign.expires, date: testCase.date)
            if testCase.presignComparable {
                presignCompared += 1
                if testCase.service == "s3", testCase.sessionToken != nil { s3PresignWithToken.insert(testCase.presign.method) }
                if presigned != result.presignedURL {
                    fail("\(label): presigned URLs differ\n  kiln:     \(presigned)\n  botocore: \(result.presignedURL)")
                }
            }
        }
        #expect(failures == 0, "\(failures) of \(cases.count) cases differ from botocore")
        #expect(presignCompared >= 500, "only \(presignCompared) presigned URLs were comparable")
        #expect(s3PresignWithToken == ["GET", "PUT"], "S3 presigned GET and PUT with a session token must both be covered")
    }
}
