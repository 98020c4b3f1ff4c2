import Testing
import KilnCrypto

/// RFC 4231 section 4 test cases (case 5, a truncated MAC, is omitted).
private let rfc4231: [(name: String, key: [UInt8], data: [UInt8], mac: String)] = [
    ("1", [UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    ("2", Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    ("3", [UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    ("4", Array(1...25), [UInt8](repeating: 0xcd, count: 50),
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    ("6", [UInt8](repeating: 0xaa, count: 131),
     Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    ("7", [UInt8](repeating: 0xaa, count: 131),
     Array(("This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm.").utf8),
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]

@Test(arguments: rfc4231.map { $0.name })
func hmacSHA256RFC4231(name: String) throws {
    let vector = try #require(rfc4231.first { $0.name == name })
    #expect(HMAC.sha256(key: vector.key, message: vector.data).hexString == vector.mac)

    // Incrementally, one byte at a time.
    var mac = HMACSHA256(key: vector.key)
    for byte in vector.data { mac.update([byte]) }
    #expect(mac.finalize().hexString == vector.mac)
}

@Test func hmacFinalizeResetsToKeyedStateAndCopiesFork() {
    let key = Array("Jefe".utf8)
    var mac = HMACSHA256(key: key)
    mac.update("what do ya want ")
    var fork = mac
    mac.update("for nothing?")
    fork.update("for something?")
    #expect(mac.finalize() == HMAC.sha256(key: key, message: "what do ya want for nothing?"))
    #expect(fork.finalize() == HMAC.sha256(key: key, message: "what do ya want for something?"))
    mac.update("what do ya want for nothing?")
    #expect(mac.finalize().hexString == rfc4231[1].mac)
}

@Test func hmacWithEmptyKeyAndMessage() {
    // Python: hmac.new(b"", b"", "sha256").hexdigest()
    #expect(HMAC.sha256(key: [], message: []).hexString
            == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
}
