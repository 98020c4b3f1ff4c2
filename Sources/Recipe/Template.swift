/// Recipe parameters: `${{ name }}` in a string is replaced by the parameter's value.
///
/// The syntax can never be mistaken for shell: `${{` is not a valid shell expansion, so a `run`
/// script may use `$HOME` and `${HOME}` freely. Write `$${{` for a literal `${{`.
public enum Template {
    /// A reference found in a string: its name and the UTF-8 offset of its `${{`.
    struct Reference {
        var name: String
        var offset: Int
    }

    /// A malformed reference: what is wrong and at which UTF-8 offset.
    struct Problem: Error {
        var message: String
        var offset: Int
    }

    /// Parameter names: lowercase letters, digits and underscores, starting with a letter.
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, ("a"..."z").contains(first) else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// Replaces every `${{ name }}` using `lookup`; unknown names and malformed references are problems.
    static func expand(_ text: String, lookup: (String) -> String?) -> Result<String, Problem> {
        let bytes = Array(text.utf8)
        guard bytes.contains(UInt8(ascii: "$")) else { return .success(text) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let dollar = UInt8(ascii: "$"), open = UInt8(ascii: "{"), close = UInt8(ascii: "}")
        func at(_ k: Int) -> UInt8? { k < bytes.count ? bytes[k] : nil }
        while i < bytes.count {
            // `$${{` is an escaped literal `${{`.
            if bytes[i] == dollar, at(i + 1) == dollar, at(i + 2) == open, at(i + 3) == open {
                out += [dollar, open, open]
                i += 4
                continue
            }
            if bytes[i] == dollar, at(i + 1) == open, at(i + 2) == open {
                let start = i
                var j = i + 3
                while j + 1 < bytes.count, !(bytes[j] == close && bytes[j + 1] == close) { j += 1 }
                guard j + 1 < bytes.count else {
                    return .failure(Problem(message: "'${{' is not closed by '}}'", offset: start))
                }
                let inner = String(decoding: bytes[(i + 3)..<j], as: UTF8.self)
                    .trimmingCharacters(in: [" ", "\t"])
                guard isValidName(inner) else {
                    return .failure(Problem(message: "'${{ \(inner) }}' is not a parameter name (lowercase letters, digits, _)",
                                            offset: start))
                }
                guard let value = lookup(inner) else {
                    return .failure(Problem(message: "unknown parameter '\(inner)'", offset: start))
                }
                out += Array(value.utf8)
                i = j + 2
                continue
            }
            out.append(bytes[i])
            i += 1
        }
        return .success(String(decoding: out, as: UTF8.self))
    }
}

extension String {
    func trimmingCharacters(in set: Set<Character>) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
