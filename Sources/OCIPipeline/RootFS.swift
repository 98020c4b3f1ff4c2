import Foundation
import KilnArchive

/// The build's root directory, materialized lazily: layers are applied only when a step must execute
/// in it (or the tests run), so a rebuild whose steps are all cached extracts nothing.
final class RootFS: @unchecked Sendable {
    /// The PATH an image gets when its base sets none.
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    let path: String
    let cache: BuildCache
    /// How many of the image's layers are applied to `path`.
    private(set) var applied = 0

    init(path: String, cache: BuildCache) {
        self.path = path
        self.cache = cache
    }

    /// Applies the layers not yet applied (whiteouts honoured, hostile entries refused).
    func materialize(_ layers: [CachedLayer]) throws {
        if !FileManager.default.fileExists(atPath: path) { try BuildCache.makeDirectory(path) }
        while applied < layers.count {
            _ = try LayerExtractor.apply(layerAt: try cache.blobPath(layers[applied]), to: path)
            applied += 1
        }
    }

    /// Records that `path` already holds the first `count` layers (a base built in place).
    func adopt(layers count: Int) { applied = count }

    /// `uid`, `gid` and home of a user named in the recipe (a name from the root's /etc/passwd, or
    /// `uid[:gid]`).
    func user(_ spec: String) throws -> (uid: UInt32, gid: UInt32, home: String, name: String) {
        let parts = spec.split(separator: ":", maxSplits: 1).map(String.init)
        if let uid = UInt32(parts[0]) {
            let gid = parts.count > 1 ? UInt32(parts[1]) : nil
            let entry = passwd().first { $0.uid == uid }
            return (uid, gid ?? entry?.gid ?? uid, entry?.home ?? "/", entry?.name ?? String(uid))
        }
        guard let entry = passwd().first(where: { $0.name == parts[0] }) else {
            throw OCIBuildError.invalid("user '\(parts[0])' is not in the image's /etc/passwd; create it in an earlier step or use a numeric uid:gid")
        }
        let gid = parts.count > 1 ? (UInt32(parts[1]) ?? group(parts[1])) : entry.gid
        guard let gid else {
            throw OCIBuildError.invalid("group '\(parts[1])' is not in the image's /etc/group")
        }
        return (entry.uid, gid, entry.home, entry.name)
    }

    private func passwd() -> [(name: String, uid: UInt32, gid: UInt32, home: String)] {
        guard let text = try? String(contentsOfFile: path + "/etc/passwd", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6, let uid = UInt32(f[2]), let gid = UInt32(f[3]) else { return nil }
            return (f[0], uid, gid, f[5])
        }
    }

    private func group(_ name: String) -> UInt32? {
        guard let text = try? String(contentsOfFile: path + "/etc/group", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name { return UInt32(f[2]) }
        }
        return nil
    }

    /// Whether the root has bash (steps run with `bash -Eeuo pipefail`; roots without it get `sh -eu`).
    var hasBash: Bool {
        ["/bin/bash", "/usr/bin/bash"].contains { FileManager.default.fileExists(atPath: path + $0) }
    }

    // MARK: environment lists ("NAME=value")

    /// `env` with `name` set to `value` (replacing an earlier value).
    static func setting(_ name: String, _ value: String, in env: [String]) -> [String] {
        env.filter { !$0.hasPrefix(name + "=") } + ["\(name)=\(value)"]
    }

    /// `value` with `$NAME` and `${NAME}` replaced from `env` (unknown names become empty, as in a shell).
    static func expand(_ value: String, in env: [String]) -> String {
        var lookup: [String: String] = [:]
        for entry in env {
            if let eq = entry.firstIndex(of: "=") { lookup[String(entry[..<eq])] = String(entry[entry.index(after: eq)...]) }
        }
        var out = ""
        var i = value.startIndex
        func isName(_ c: Character) -> Bool { c == "_" || c.isLetter || c.isNumber }
        while i < value.endIndex {
            let c = value[i]
            guard c == "$" else { out.append(c); i = value.index(after: i); continue }
            let next = value.index(after: i)
            if next < value.endIndex, value[next] == "{", let close = value[next...].firstIndex(of: "}") {
                out += lookup[String(value[value.index(after: next)..<close])] ?? ""
                i = value.index(after: close)
            } else {
                var end = next
                while end < value.endIndex, isName(value[end]) { end = value.index(after: end) }
                if end == next { out.append("$"); i = next; continue }
                out += lookup[String(value[next..<end])] ?? ""
                i = end
            }
        }
        return out
    }
}
