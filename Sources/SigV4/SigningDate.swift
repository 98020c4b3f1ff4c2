import Foundation

/// The two renderings of the signing time that SigV4 uses, computed arithmetically in UTC (no
/// `DateFormatter`, no locale, no time zone database), so they are exact and thread-safe.
///
/// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
/// ("X-Amz-Date … ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z'").
enum SigningDate {
    /// `YYYYMMDD'T'HHMMSS'Z'`, e.g. `20150830T123600Z`; fractions of a second are dropped.
    static func timestamp(_ date: Date) -> String {
        let (day, seconds) = split(date)
        return day + "T" + pad(seconds / 3600, 2) + pad(seconds / 60 % 60, 2) + pad(seconds % 60, 2) + "Z"
    }

    /// `YYYYMMDD`, the date part of the credential scope.
    static func day(_ date: Date) -> String {
        split(date).day
    }

    /// The UTC calendar day as `YYYYMMDD` and the seconds elapsed in it.
    private static func split(_ date: Date) -> (day: String, seconds: Int64) {
        let interval = date.timeIntervalSince1970
        // Clamp to years 0000...9999 so the arithmetic below cannot overflow on absurd input.
        let clamped = min(max(interval, -62_167_219_200), 253_402_300_799)
        let total = Int64(clamped.rounded(.down))
        let days = floorDiv(total, 86_400)
        let seconds = total - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        return (pad(year, 4) + pad(month, 2) + pad(day, 2), seconds)
    }

    /// Proleptic Gregorian year, month, day for a count of days since 1970-01-01
    /// (Howard Hinnant's `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html).
    private static func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = floorDiv(z, 146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        let q = a / b
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
