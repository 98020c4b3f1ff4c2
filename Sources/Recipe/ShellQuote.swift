/// Shell quoting for generated bash.
enum Shell {
    /// A single-quoted word that bash reads back as exactly `s`.
    static func quote(_ s: String) -> String {
        if !s.isEmpty, s.unicodeScalars.allSatisfy({ safe.contains($0) }) { return s }
        return "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:@+,%".unicodeScalars)

    /// A double-quoted word in which `$NAME` and `${NAME}` expand (to nothing when unset) and nothing
    /// else does, and `\$` is a literal `$`: the semantics of an `env` value, as of a Dockerfile's ENV.
    static func quoteExpandingVariables(_ s: String) -> String {
        var out = "\""
        let chars = Array(s.unicodeScalars)
        var i = 0
        func isNameStart(_ c: Unicode.Scalar) -> Bool { c == "_" || ("A"..."Z").contains(c) || ("a"..."z").contains(c) }
        func isName(_ c: Unicode.Scalar) -> Bool { isNameStart(c) || ("0"..."9").contains(c) }
        while i < chars.count {
            let c = chars[i]
            if c == "\\", i + 1 < chars.count, chars[i + 1] == "$" {
                out += "\\$"   // `\$` is a literal dollar sign, as in a Dockerfile
                i += 2
                continue
            }
            if c == "$" {
                if i + 1 < chars.count, isNameStart(chars[i + 1]) {
                    var j = i + 1
                    while j < chars.count, isName(chars[j]) { j += 1 }
                    out += "${" + String(String.UnicodeScalarView(chars[(i + 1)..<j])) + "-}"
                    i = j
                    continue
                }
                if i + 2 < chars.count, chars[i + 1] == "{", isNameStart(chars[i + 2]) {
                    var j = i + 2
                    while j < chars.count, isName(chars[j]) { j += 1 }
                    if j < chars.count, chars[j] == "}" {
                        out += "${" + String(String.UnicodeScalarView(chars[(i + 2)..<j])) + "-}"
                        i = j + 1
                        continue
                    }
                }
                out += "\\$"
            } else if c == "\"" || c == "\\" || c == "`" {
                out += "\\" + String(c)
            } else {
                out.unicodeScalars.append(c)
            }
            i += 1
        }
        return out + "\""
    }

    /// A heredoc delimiter that does not occur as a line of `body`.
    static func delimiter(_ base: String, avoiding body: String) -> String {
        let lines = Set(body.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        var candidate = base
        var n = 1
        while lines.contains(candidate) {
            n += 1
            candidate = "\(base)_\(n)"
        }
        return candidate
    }
}
