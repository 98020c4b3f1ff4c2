import Foundation
import Testing

/// The DOM headless Chromium (Debian's `chromium`) builds from a page (`--dump-dom`; standard output
/// only), for tests that check what a browser renders rather than the HTML text.
public func renderedDOM(chromium: String, page: String, profile: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: chromium)
    process.arguments = ["--headless", "--disable-gpu", "--no-sandbox", "--user-data-dir=\(profile)", "--dump-dom",
                         URL(fileURLWithPath: page).absoluteString]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "chromium --dump-dom exited \(process.terminationStatus)")
    return String(decoding: data, as: UTF8.self)
}
