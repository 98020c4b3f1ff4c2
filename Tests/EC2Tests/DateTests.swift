@testable import EC2
import Foundation
import Testing

/// EC2's ISO 8601 timestamps, parsed and written without locale or calendar.
@Suite struct DateTests {
    @Test(arguments: [
        ("2022-06-15T13:17:00Z", 1_655_299_020.0),
        ("2022-06-15T13:17:00.000Z", 1_655_299_020.0),
        ("2025-01-02T03:04:05.250Z", 1_735_787_045.25),
        ("2006-01-02T15:04:05.999999999Z", 1_136_214_245.999999999),  // nanoseconds
        ("2024-02-29T23:59:59+01:00", 1_709_247_599.0),
        ("2024-02-29T23:59:59-00:30", 1_709_252_999.0),
        ("1969-12-31T23:59:59Z", -1.0),
    ])
    func parses(text: String, seconds: Double) {
        let date = EC2Date.parse(text)
        #expect(date.map { abs($0.timeIntervalSince1970 - seconds) < 0.000_001 } == true, "\(text)")
    }

    @Test(arguments: ["", "2022-06-15", "2022-06-15T13:17:00", "2022-13-01T00:00:00Z", "2022-06-15T13:17:00.Z",
                      "2022-06-15T13:17:00Zjunk", "２０２２-06-15T13:17:00Z", "2022-06-15T25:00:00Z"])
    func rejects(text: String) {
        #expect(EC2Date.parse(text) == nil)
    }

    @Test(arguments: [
        (1_655_299_020.0, "2022-06-15T13:17:00Z"),
        (1_655_299_020.999, "2022-06-15T13:17:00Z"),
        (0.0, "1970-01-01T00:00:00Z"),
        (-1.0, "1969-12-31T23:59:59Z"),
        (4_102_444_800.0, "2100-01-01T00:00:00Z"),
        (951_782_400.0, "2000-02-29T00:00:00Z"),
    ])
    func formats(seconds: Double, text: String) {
        #expect(EC2Date.format(Date(timeIntervalSince1970: seconds)) == text)
        #expect(EC2Date.parse(text).map { EC2Date.format($0) } == text)
    }
}
