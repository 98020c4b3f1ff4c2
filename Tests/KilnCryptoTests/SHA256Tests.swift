import Foundation
import Testing
import KilnCrypto

/// FIPS 180-4 / NIST CAVS example vectors.
private let vectors: [(message: String, hex: String)] = [
    ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
]

@Test(arguments: vectors)
func sha256OneShot(message: String, hex: String) {
    #expect(SHA256.hash(message).hex == hex)
    #expect(SHA256.hash(Array(message.utf8)).hex == hex)
    var hasher = SHA256()
    hasher.update(message)
    #expect(hasher.finalize().hex == hex)
}

@Test func sha256OneMillionAIncrementally() {
    var hasher = SHA256()
    let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
    for _ in 0..<1000 { hasher.update(chunk) }
    #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
}

@Test func sha256FinalizeResetsAndCopiesFork() {
    var a = SHA256()
    a.update("ab")
    var b = a            // fork: both have seen "ab"
    a.update("c")
    b.update("x")
    #expect(a.finalize() == SHA256.hash("abc"))
    #expect(b.finalize() == SHA256.hash("abx"))
    // After finalize the hasher starts over.
    a.update("abc")
    #expect(a.finalize() == SHA256.hash("abc"))
    #expect(a.finalize() == SHA256.hash(""))
}

@Test func sha256RawBufferAndEmptyBuffer() {
    var hasher = SHA256()
    hasher.update(UnsafeRawBufferPointer(start: nil, count: 0))
    [UInt8]("abc".utf8).withUnsafeBytes { hasher.update($0) }
    #expect(hasher.finalize().hex == vectors[1].hex)
}

/// A temp file that is removed when the test is done.
private func withTempFile<T>(_ bytes: [UInt8], _ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("kiln-crypto-\(UUID().uuidString)").path
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Bytes that are not a repeating block, spanning several 1 MiB chunks.
private func pseudoRandomBytes(count: Int) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: state >> 33)
    }
}

@Test(arguments: [0, 1, SHA256.fileChunkSize, 3 * SHA256.fileChunkSize + 17])
func fileHashEqualsOneShot(size: Int) throws {
    let bytes = pseudoRandomBytes(count: size)
    try withTempFile(bytes) { (path: String) throws in
        #expect(try SHA256.hash(fileAt: path) == SHA256.hash(bytes))
    }
}

@Test func fileHashMatchesSha256sum() throws {
    let sha256sum = "/usr/bin/sha256sum"
    try #require(FileManager.default.isExecutableFile(atPath: sha256sum),
                 "sha256sum is missing: install the coreutils package")
    let bytes = pseudoRandomBytes(count: 2_500_000)
    try withTempFile(bytes) { (path: String) throws in
        let process = Process()
        process.executableURL = URL(fileURLWithPath: sha256sum)
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let expected = String(output.prefix { $0 != " " })
        #expect(try SHA256.hash(fileAt: path).hex == expected)
    }
}

@Test func missingFileThrowsWithPathAndSystemMessage() {
    let path = "/nonexistent/kiln/file"
    #expect {
        _ = try SHA256.hash(fileAt: path)
    } throws: { error in
        let text = String(describing: error)
        return text.contains(path) && text.contains("No such file or directory") && text.contains("open")
    }
}

@Test(arguments: [
    ([UInt8](), ""),
    ([0x00, 0x0f, 0xa0, 0xff], "000fa0ff"),
])
func hexRoundTrip(bytes: [UInt8], hex: String) {
    #expect(bytes.hexString == hex)
    #expect([UInt8](hexString: hex) == bytes)
    #expect([UInt8](hexString: hex.uppercased()) == bytes)
}

@Test(arguments: ["0", "zz", "0g"])
func malformedHexIsNil(text: String) {
    #expect([UInt8](hexString: text) == nil)
}
