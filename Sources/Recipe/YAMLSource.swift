import Foundation
import Yams

/// A recipe file's text, parsed into a positioned YAML tree; turns libyaml's errors into diagnostics.
struct YAMLSource {
    /// The path as the user named it (used in every diagnostic).
    let path: String
    /// The file's text.
    let text: String
    /// The text split into lines, for locating things libyaml does not point at precisely.
    let lines: [Substring]

    init(path: String, text: String) {
        self.path = path
        self.text = text
        self.lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Reads a file; a missing or non-UTF-8 file is a diagnostic at 1:1 of that file.
    static func read(path: String, reportedAs shown: String? = nil) throws -> YAMLSource {
        let shown = shown ?? path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecipeError(SourcePosition(file: shown, line: 1, column: 1), "cannot read the recipe file",
                              hint: "check that the path exists and is readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw RecipeError(SourcePosition(file: shown, line: 1, column: 1), "the file is not valid UTF-8 text",
                              hint: "save the recipe as UTF-8")
        }
        return YAMLSource(path: shown, text: text)
    }

    /// The position of a node (1:1 when libyaml gave none).
    func position(_ node: Node) -> SourcePosition {
        position(node.mark)
    }

    func position(_ mark: Mark?) -> SourcePosition {
        SourcePosition(file: path, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }

    /// Parses the single YAML document; an empty file is an error, as is anything but a mapping at the top.
    func parse() throws -> Node.Mapping {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw RecipeError([diagnostic(for: error)])
        }
        guard let node else {
            throw RecipeError(SourcePosition(file: path, line: 1, column: 1), "the recipe is empty",
                              hint: "a recipe starts with 'name:', 'version:' and 'base:'; see docs/recipes.md")
        }
        guard case .mapping(let mapping) = node else {
            throw RecipeError(position(node), "a recipe must be a YAML mapping of keys to values, found \(node.kindName)",
                              hint: "start with 'name: my-image' on the first line")
        }
        return mapping
    }

    /// Converts a libyaml error into a diagnostic, with clearer words for the common cases.
    func diagnostic(for error: YamlError) -> Diagnostic {
        switch error {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            if let tab = tabInIndentation(near: mark.line) {
                return Diagnostic(tab, "tab character in indentation; YAML allows only spaces there",
                                  hint: "replace the tab with spaces (two per level is usual)")
            }
            var message = "invalid YAML: \(problem)"
            if let context { message += " (\(context.text))" }
            return Diagnostic(position(mark), message, hint: hint(forProblem: problem))
        case let .duplicatedKeysInMapping(duplicates, context):
            let key = duplicates.first ?? "?"
            let first = context.mark
            if let again = repeatedKey(key, after: first) {
                return Diagnostic(again, "duplicate key '\(key)'",
                                  hint: "'\(key)' is already set at line \(first.line); keep one of them")
            }
            return Diagnostic(position(first), "duplicate key '\(key)' in this mapping", hint: "keep only one of them")
        case let .reader(problem, offset, _, _):
            var pos = SourcePosition(file: path, line: 1, column: 1)
            if let offset { pos = position(ofUTF8Offset: offset) }
            return Diagnostic(pos, "cannot read the recipe: \(problem)", hint: "save the recipe as UTF-8 text")
        default:
            return Diagnostic(SourcePosition(file: path, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    private func hint(forProblem problem: String) -> String? {
        if problem.contains("mapping values are not allowed") {
            return "a value containing ': ' must be quoted, or the indentation is off"
        }
        if problem.contains("did not find expected key") || problem.contains("did not find expected '-'") {
            return "check the indentation of this line against the lines above it"
        }
        if problem.contains("found character that cannot start any token") {
            return "quote the value, e.g. key: \"@value\""
        }
        return nil
    }

    /// The first tab that stands in the leading whitespace of `line` or the line before it.
    private func tabInIndentation(near line: Int) -> SourcePosition? {
        for candidate in [line, line - 1] where candidate >= 1 && candidate <= lines.count {
            var column = 1
            for ch in lines[candidate - 1] {
                if ch == "\t" { return SourcePosition(file: path, line: candidate, column: column) }
                if ch != " " { break }
                column += 1
            }
        }
        return nil
    }

    /// Finds the second occurrence of a block-mapping key at the same indentation as the first.
    private func repeatedKey(_ key: String, after first: Mark) -> SourcePosition? {
        guard first.line >= 1, first.line <= lines.count else { return nil }
        let indent = first.column - 1
        for index in first.line..<lines.count {
            let line = lines[index]
            let leading = line.prefix(while: { $0 == " " || $0 == "-" }).count
            guard leading == indent else { continue }
            let rest = line.dropFirst(indent)
            for candidate in [key, "\"\(key)\"", "'\(key)'"] where rest.hasPrefix(candidate) {
                let after = rest.dropFirst(candidate.count).drop(while: { $0 == " " })
                if after.hasPrefix(":") {
                    return SourcePosition(file: path, line: index + 1, column: indent + 1)
                }
            }
        }
        return nil
    }

    private func position(ofUTF8Offset offset: Int) -> SourcePosition {
        var line = 1, column = 1, seen = 0
        for scalar in text.unicodeScalars {
            if seen >= offset { break }
            seen += String(scalar).utf8.count
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return SourcePosition(file: path, line: line, column: column)
    }
}

extension Node {
    /// "a mapping", "a list", "a string", … for messages.
    var kindName: String {
        switch self {
        case .scalar(let scalar):
            if scalar.tag.rawValue == Tag.Name.null.rawValue || (scalar.string.isEmpty && scalar.style == .plain) {
                return "nothing"
            }
            switch scalar.tag.rawValue {
            case Tag.Name.bool.rawValue: return "a boolean"
            case Tag.Name.int.rawValue: return "a number"
            case Tag.Name.float.rawValue: return "a number"
            default: return "a string"
            }
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// True for an empty plain value or `~`/`null`.
    var isNull: Bool {
        if case .scalar(let scalar) = self {
            return scalar.style == .plain && (scalar.tag.rawValue == Tag.Name.null.rawValue || scalar.string.isEmpty)
        }
        return false
    }
}
