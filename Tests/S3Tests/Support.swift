import AWSCore
import AWSCredentials
import Foundation
import KilnTestSupport
import SigV4
import Testing


/// `count` bytes that are not a repeating short pattern (so a shifted or truncated copy cannot match).
func testBytes(_ count: Int) -> [UInt8] {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}
