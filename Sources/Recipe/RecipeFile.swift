import Foundation
import Yams

/// One recipe file as written, before composition: its header is decoded at once, its body
/// (base, steps, tests, ami, oci) once the parameters of the whole composition are known.
struct RecipeFile {
    static let topKeys = ["name", "version", "description", "extends", "arch", "epoch", "params",
                          "base", "steps", "tests", "ami", "oci"]

    let source: YAMLSource
    /// The file on disk (absolute), for finding files it refers to.
    let absolutePath: String
    let name: String
    let version: String
    let description: String?
    let extends: [(name: String, position: SourcePosition)]
    let arch: Architecture?
    let epoch: Int?
    let params: [(name: String, value: String, position: SourcePosition)]
    let top: Fields

    var directory: String { (absolutePath as NSString).deletingLastPathComponent }
    var namePosition: SourcePosition { top.valuePosition("name") ?? top.position }

    /// Reads and decodes the header; throws every problem found in it.
    static func load(absolutePath: String, shownAs path: String) throws -> RecipeFile {
        let source = try YAMLSource.read(path: absolutePath, reportedAs: path)
        let mapping = try source.parse()
        let sink = DiagnosticSink()
        guard let top = Fields(.mapping(mapping), "the recipe", allowed: topKeys, source: source, sink: sink,
                               expander: nil) else { try sink.check(); throw RecipeError([]) }
        let name = top.check("name", top.string("name", required: true, hint: "add 'name: my-image' at the top"),
                             isValidRecipeName,
                             "'name' must be lowercase letters, digits and '-', starting with a letter or digit",
                             hint: "it becomes part of SSM paths, AMI names and repository names")
        let version = top.check("version", top.string("version", required: true,
                                                      hint: "add 'version: \"2026.11\"' (quoted, so YAML keeps it a string)"),
                                isValidVersion,
                                "'version' must be letters, digits, '.', '_' and '-' (up to 64)")
        let description = top.string("description")
        var extends: [(String, SourcePosition)] = []
        if let node = top.node("extends") {
            let items: [Node]
            switch node {
            case .sequence(let sequence): items = Array(sequence)
            case .scalar where !node.isNull: items = [node]
            default:
                sink.error(source.position(node), "'extends' must be a list of recipe names, found \(node.kindName)")
                items = []
            }
            for item in items {
                guard let text = Fields.string(item, "each item of 'extends'", source: source, sink: sink,
                                               expander: nil) else { continue }
                extends.append((text, source.position(item)))
            }
        }
        let arch = top.choice("arch", Architecture.self)
        let epoch = top.int("epoch", in: 0...253_402_300_799)
        var params: [(String, String, SourcePosition)] = []
        if let raw = top.stringMap("params") {
            for (key, value, position) in raw {
                if !Template.isValidName(key) {
                    sink.error(position, "parameter name '\(key)' must be lowercase letters, digits and '_', starting with a letter")
                } else if builtinParams.contains(key) {
                    sink.error(position, "'\(key)' is a built-in parameter and cannot be declared",
                               hint: "built-ins: \(builtinParams.joined(separator: ", ")); choose another name")
                } else {
                    params.append((key, value, position))
                }
            }
        }
        try sink.check()
        return RecipeFile(source: source, absolutePath: absolutePath, name: name ?? "", version: version ?? "",
                          description: description, extends: extends, arch: arch, epoch: epoch,
                          params: params, top: top)
    }

    /// Parameters every recipe has: its own name and version, and the architecture in two spellings.
    static let builtinParams = ["name", "version", "arch", "uname_arch"]
}

func isValidRecipeName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, s.count <= 64,
          ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
    return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
}

func isValidVersion(_ s: String) -> Bool {
    !s.isEmpty && s.count <= 64 && s.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || "._-".unicodeScalars.contains($0)
    }
}

func isStepName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, s.count <= 64,
          ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
    return s.unicodeScalars.allSatisfy {
        ("a"..."z").contains($0) || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)
    }
}

func isHex(_ s: String, count: Int) -> Bool {
    s.utf8.count == count && s.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
}

func isAbsolutePath(_ s: String) -> Bool {
    s.hasPrefix("/") && !s.split(separator: "/").contains("..")
}

func isOctalMode(_ s: String) -> Bool {
    (3...4).contains(s.count) && s.allSatisfy { ("0"..."7").contains($0) }
}

func isOwner(_ s: String) -> Bool {
    let parts = s.split(separator: ":", omittingEmptySubsequences: false)
    return parts.count == 2 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(isASCIIDigit) }
}

func isEnvName(_ s: String) -> Bool {
    guard let first = s.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first)
    else { return false }
    return s.unicodeScalars.allSatisfy {
        $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0)
    }
}

func isURL(_ s: String) -> Bool {
    (s.hasPrefix("https://") || s.hasPrefix("http://")) && !s.contains(" ") && s.count > 8
}
