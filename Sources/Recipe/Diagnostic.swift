/// A place in a recipe file: the file's path as the user named it, and a 1-based line and column.
public struct SourcePosition: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file's path as given on the command line or reached through `extends`.
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, counted in Unicode scalars as libyaml counts them.
    public var column: Int

    /// Creates a position.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`, the form compilers and editors understand.
    public var description: String { "\(file):\(line):\(column)" }
}

/// One problem found in a recipe, printed as `FILE:LINE:COL: error: MESSAGE` with an optional hint.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// Where the problem is.
    public var position: SourcePosition
    /// What is wrong, in one sentence.
    public var message: String
    /// What to do about it, when kiln can tell (e.g. the nearest valid key for a typo).
    public var hint: String?

    /// Creates a diagnostic.
    public init(_ position: SourcePosition, _ message: String, hint: String? = nil) {
        self.position = position
        self.message = message
        self.hint = hint
    }

    /// The compiler-style rendering: `FILE:LINE:COL: error: MESSAGE` and, when there is one, a `note:` line.
    public var description: String {
        var text = "\(position): error: \(message)"
        if let hint { text += "\n\(position): note: \(hint)" }
        return text
    }
}

/// The one public error type of the Recipe module: every problem found in the recipes involved,
/// each with its file, line and column.
public struct RecipeError: Error, Sendable, CustomStringConvertible {
    /// The problems, in the order they were found (file by file, top to bottom).
    public var diagnostics: [Diagnostic]

    /// Creates an error from one or more diagnostics.
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }

    /// Creates an error from one diagnostic.
    public init(_ position: SourcePosition, _ message: String, hint: String? = nil) {
        self.diagnostics = [Diagnostic(position, message, hint: hint)]
    }

    /// All diagnostics, one per line (two with a hint).
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a file is decoded, so that one run reports every problem it can.
final class DiagnosticSink {
    private(set) var diagnostics: [Diagnostic] = []

    func error(_ position: SourcePosition, _ message: String, hint: String? = nil) {
        diagnostics.append(Diagnostic(position, message, hint: hint))
    }

    var isEmpty: Bool { diagnostics.isEmpty }

    /// Throws the collected diagnostics, if any.
    func check() throws {
        if !diagnostics.isEmpty { throw RecipeError(diagnostics) }
    }
}

/// Suggestions for typos: the candidate with the smallest edit distance, when it is close enough.
enum Suggest {
    /// The nearest candidate to `word`, or nil when none is within a third of the word's length (at least 2 edits).
    static func nearest(_ word: String, in candidates: [String]) -> String? {
        let limit = max(2, word.count / 3)
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(word.lowercased(), candidate.lowercased())
            if distance <= limit, distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous2 = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], previous2[j - 2] + 1)
                }
            }
            previous2 = previous
            previous = current
        }
        return previous[b.count]
    }

    /// "did you mean 'x'?" or a list of the valid choices when nothing is close.
    static func hint(for word: String, in candidates: [String], noun: String = "key") -> String {
        if let near = nearest(word, in: candidates) { return "did you mean '\(near)'?" }
        return "valid \(noun)s here: " + candidates.joined(separator: ", ")
    }
}
