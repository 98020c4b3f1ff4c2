import Yams

/// Reads one YAML mapping of a recipe: rejects unknown keys with a hint, and reads typed values
/// with diagnostics that point at the value (or at the mapping when a required key is missing).
struct Fields {
    let source: YAMLSource
    let sink: DiagnosticSink
    let node: Node
    let what: String
    private var values: [String: (key: Node, value: Node)] = [:]
    /// Expands `${{ … }}` in strings; nil where parameters are not allowed.
    let expander: Expander?

    /// Checks `node` is a mapping whose keys are all in `allowed`.
    init?(_ node: Node, _ what: String, allowed: [String], source: YAMLSource, sink: DiagnosticSink,
          expander: Expander?) {
        self.source = source
        self.sink = sink
        self.node = node
        self.what = what
        self.expander = expander
        guard case .mapping(let mapping) = node else {
            sink.error(source.position(node), "\(what) must be a mapping, found \(node.kindName)")
            return nil
        }
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                sink.error(source.position(key), "keys of \(what) must be plain names")
                continue
            }
            let name = scalar.string
            if !allowed.contains(name) {
                sink.error(source.position(key), "unknown key '\(name)' in \(what)",
                           hint: Suggest.hint(for: name, in: allowed))
                continue
            }
            values[name] = (key, value)
        }
    }

    /// The mapping's own position.
    var position: SourcePosition { source.position(node) }

    func has(_ key: String) -> Bool { values[key] != nil }
    func node(_ key: String) -> Node? { values[key]?.value }
    func keyPosition(_ key: String) -> SourcePosition? { values[key].map { source.position($0.key) } }
    func valuePosition(_ key: String) -> SourcePosition? { values[key].map { source.position($0.value) } }

    /// Reports a missing required key at the mapping.
    func missing(_ key: String, hint: String? = nil) {
        sink.error(position, "\(what) is missing '\(key)'", hint: hint)
    }

    /// A string value (numbers and booleans are taken as written); nil when absent or wrong.
    func string(_ key: String, required: Bool = false, hint: String? = nil) -> String? {
        guard let value = node(key) else {
            if required { missing(key, hint: hint) }
            return nil
        }
        return Fields.string(value, "'\(key)'", source: source, sink: sink, expander: expander)
    }

    /// A scalar node as a string, expanded when parameters are allowed.
    static func string(_ value: Node, _ what: String, source: YAMLSource, sink: DiagnosticSink,
                       expander: Expander?) -> String? {
        guard case .scalar(let scalar) = value, !value.isNull else {
            sink.error(source.position(value), "\(what) must be a string, found \(value.kindName)")
            return nil
        }
        guard let expander else { return scalar.string }
        return expander.expand(scalar, source: source, sink: sink)
    }

    /// A boolean value (`true` or `false`).
    func bool(_ key: String) -> Bool? {
        guard let value = node(key) else { return nil }
        if case .scalar(let scalar) = value, scalar.style == .plain {
            switch scalar.string {
            case "true", "True", "TRUE": return true
            case "false", "False", "FALSE": return false
            default: break
            }
        }
        sink.error(source.position(value), "'\(key)' must be true or false, found \(value.kindName)")
        return nil
    }

    /// An integer within a range.
    func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let scalar) = value, !value.isNull, let number = Int(expanded(scalar)) else {
            sink.error(source.position(value), "'\(key)' must be a whole number, found \(value.kindName)")
            return nil
        }
        guard range.contains(number) else {
            sink.error(source.position(value), "'\(key)' must be between \(range.lowerBound) and \(range.upperBound), found \(number)")
            return nil
        }
        return number
    }

    private func expanded(_ scalar: Node.Scalar) -> String {
        expander?.expand(scalar, source: source, sink: sink) ?? scalar.string
    }

    /// A list of strings; a single string is accepted as a list of one when `allowScalar`.
    func strings(_ key: String, required: Bool = false, allowScalar: Bool = false, nonEmpty: Bool = false) -> [String]? {
        guard let value = node(key) else {
            if required { missing(key) }
            return nil
        }
        return Fields.strings(value, "'\(key)'", allowScalar: allowScalar, nonEmpty: nonEmpty,
                              source: source, sink: sink, expander: expander)
    }

    static func strings(_ value: Node, _ what: String, allowScalar: Bool, nonEmpty: Bool,
                        source: YAMLSource, sink: DiagnosticSink, expander: Expander?) -> [String]? {
        switch value {
        case .sequence(let sequence):
            if nonEmpty && sequence.isEmpty {
                sink.error(source.position(value), "\(what) must list at least one item")
                return nil
            }
            var result: [String] = []
            for item in sequence {
                guard let text = string(item, "each item of \(what)", source: source, sink: sink, expander: expander)
                else { continue }
                result.append(text)
            }
            return result
        case .scalar where allowScalar && !value.isNull:
            return string(value, what, source: source, sink: sink, expander: expander).map { [$0] }
        default:
            sink.error(source.position(value), "\(what) must be a list of strings, found \(value.kindName)",
                       hint: "write it as [a, b] or as lines starting with '- '")
            return nil
        }
    }

    /// A mapping of strings to strings (tags, labels, env).
    func stringMap(_ key: String) -> [(String, String, SourcePosition)]? {
        guard let value = node(key) else { return nil }
        return Fields.stringMap(value, "'\(key)'", source: source, sink: sink, expander: expander)
    }

    static func stringMap(_ value: Node, _ what: String, source: YAMLSource, sink: DiagnosticSink,
                          expander: Expander?) -> [(String, String, SourcePosition)]? {
        guard case .mapping(let mapping) = value else {
            sink.error(source.position(value), "\(what) must be a mapping of names to values, found \(value.kindName)")
            return nil
        }
        var result: [(String, String, SourcePosition)] = []
        for (k, v) in mapping {
            guard case .scalar(let keyScalar) = k else {
                sink.error(source.position(k), "names in \(what) must be strings")
                continue
            }
            guard let text = string(v, "the value of '\(keyScalar.string)'", source: source, sink: sink,
                                    expander: expander) else { continue }
            result.append((keyScalar.string, text, source.position(k)))
        }
        return result
    }

    /// One of a fixed set of words.
    func choice<T: RawRepresentable>(_ key: String, _ type: T.Type) -> T? where T.RawValue == String, T: CaseIterable {
        guard let text = string(key), let pos = valuePosition(key) else { return nil }
        if let value = T(rawValue: text) { return value }
        let names = T.allCases.map(\.rawValue)
        sink.error(pos, "'\(key)' must be one of \(names.joined(separator: ", ")), found '\(text)'",
                   hint: Suggest.nearest(text, in: names).map { "did you mean '\($0)'?" })
        return nil
    }

    /// Checks a string against a rule; reports at the value when it fails.
    func check(_ key: String, _ value: String?, _ ok: (String) -> Bool, _ message: String, hint: String? = nil) -> String? {
        guard let value else { return nil }
        if ok(value) { return value }
        sink.error(valuePosition(key) ?? position, message, hint: hint)
        return nil
    }
}

/// Expands `${{ name }}` in scalars with a fixed parameter table, reporting problems at their place in the file.
struct Expander {
    let params: [String: String]

    func expand(_ scalar: Node.Scalar, source: YAMLSource, sink: DiagnosticSink) -> String? {
        switch Template.expand(scalar.string, lookup: { params[$0] }) {
        case .success(let text): return text
        case .failure(let problem):
            let position = locate(problem.offset, in: scalar, source: source)
            var hint: String?
            if problem.message.hasPrefix("unknown parameter") {
                let name = problem.message.split(separator: "'").dropFirst().first.map(String.init) ?? ""
                let known = params.keys.sorted()
                if let near = Suggest.nearest(name, in: known) {
                    hint = "did you mean '\(near)'?"
                } else {
                    hint = "declare it under 'params:' (known: \(known.joined(separator: ", ")))"
                }
            }
            sink.error(position, problem.message, hint: hint)
            return nil
        }
    }

    /// Maps a UTF-8 offset inside a scalar's value back to the file: exact for one-line and literal
    /// block scalars, found by text on the line otherwise.
    private func locate(_ offset: Int, in scalar: Node.Scalar, source: YAMLSource) -> SourcePosition {
        let start = source.position(scalar.mark)
        let prefix = String(decoding: Array(scalar.string.utf8).prefix(offset), as: UTF8.self)
        let newlines = prefix.filter { $0 == "\n" }.count
        var line = start.line
        switch scalar.style {
        case .literal, .folded: line += 1 + newlines
        default: line += newlines
        }
        let tail = String(decoding: Array(scalar.string.utf8).dropFirst(offset).prefix(3), as: UTF8.self)
        if line >= 1, line <= source.lines.count, let range = source.lines[line - 1].range(of: tail) {
            let column = source.lines[line - 1][..<range.lowerBound].unicodeScalars.count + 1
            return SourcePosition(file: source.path, line: line, column: column)
        }
        return SourcePosition(file: source.path, line: line, column: start.column)
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        guard !needle.isEmpty else { return nil }
        var index = startIndex
        while index < endIndex {
            if self[index...].hasPrefix(needle) { return index..<self.index(index, offsetBy: needle.count) }
            index = self.index(after: index)
        }
        return nil
    }
}
