import Foundation
import KilnCrypto

/// The identity of a recipe: what decides whether an image built from it is still current.
///
/// It covers the recipe language version, the fully resolved recipe (after `extends` and parameters;
/// key order, comments and whitespace in the YAML do not reach it), the bytes and executable bit of
/// every local file the recipe refers to, and, once a build has resolved them, the concrete bases
/// (an AMI ID per region, a base image digest), so a new upstream base marks the recipe changed.
public enum RecipeHash {
    /// `sha256:<64 hex>` of the recipe. `resolvedBases` maps a label (e.g. `ami:us-east-1`, `oci`) to
    /// what the base resolved to.
    public static func compute(_ recipe: ResolvedRecipe, resolvedBases: [String: String] = [:]) throws -> String {
        var hasher = SHA256()
        hasher.update("kiln-recipe\nformat \(recipeFormatVersion)\n")
        hasher.update(try canonicalJSON(recipe))
        hasher.update("\n")
        for file in try fileEntries(recipe) {
            hasher.update("file \(file)\n")
        }
        for key in resolvedBases.keys.sorted() {
            hasher.update("base \(key) \(resolvedBases[key] ?? "")\n")
        }
        return "sha256:" + hasher.finalize().hex
    }

    /// The short form used in names: the first 12 hex digits.
    public static func short(_ hash: String) -> String {
        String(hash.dropFirst("sha256:".count).prefix(12))
    }

    /// Deterministic JSON of the resolved recipe: sorted keys, no positions.
    public static func canonicalJSON(_ recipe: ResolvedRecipe) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(recipe))
    }

    /// One line per local file: `recipe/relative/path mode sha256`, directories expanded, sorted.
    static func fileEntries(_ recipe: ResolvedRecipe) throws -> [String] {
        var entries: [String] = []
        for file in recipe.localFiles {
            for (relative, absolute) in try expand(file) {
                entries.append("\(file.recipe)/\(relative) \(try describeFile(absolute))")
            }
        }
        return entries.sorted()
    }

    /// A file, or every file under a directory, as (recipe-relative path, absolute path), sorted.
    static func expand(_ file: LocalFile) throws -> [(String, String)] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: file.absolutePath, isDirectory: &isDirectory) else {
            throw RecipeError(SourcePosition(file: file.relativePath, line: 1, column: 1),
                              "'\(file.relativePath)' disappeared while the recipe was read")
        }
        guard isDirectory.boolValue else { return [(file.relativePath, file.absolutePath)] }
        let children = LocalTree.subpaths(file.absolutePath).sorted()
        return children.compactMap { child in
            let absolute = file.absolutePath + "/" + child
            var info = stat()
            let isDirectory = stat(absolute, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
            return isDirectory ? nil : ((file.relativePath as NSString).appendingPathComponent(child), absolute)
        }
    }
}

extension RecipeHash {
    /// The identity of one step for the OCI step cache: its resolved definition plus the bytes and
    /// executable bit of the local files it copies (or, for pip, its requirements file). Two steps with
    /// the same fingerprint, run on the same parent, make the same layer.
    public static func stepFingerprint(_ step: Step, in recipe: ResolvedRecipe) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var hasher = SHA256()
        hasher.update("kiln-step\nformat \(recipeFormatVersion)\n")
        hasher.update(Array(try encoder.encode(step)))
        hasher.update("\n")
        var paths: [String] = []
        switch step.action {
        case .files(let copies): paths = copies.map(\.src)
        case .pip(let pip): paths = pip.requirements.map { [$0] } ?? []
        default: break
        }
        for path in paths {
            let file = try UserDataRenderer.localFile(recipe: step.recipe, path: path, in: recipe)
            for (relative, absolute) in try expand(file) {
                hasher.update("file \(relative) \(try describeFile(absolute))\n")
            }
        }
        return "sha256:" + hasher.finalize().hex
    }
}

extension RecipeHash {
    /// What the hash records of one local file: `symlink TARGET`, or its executable bit and sha256.
    static func describeFile(_ absolute: String) throws -> String {
        if let target = LocalTree.symlinkTarget(absolute) { return "symlink \(target)" }
        let executable = FileManager.default.isExecutableFile(atPath: absolute)
        return "\(executable ? "755" : "644") \(try SHA256.hash(fileAt: absolute).hex)"
    }
}

/// Walks local file trees with plain system calls: a recipe may copy tens of thousands of files, and
/// Foundation's per-path objects (and an error object per non-link) cost memory that stays resident.
public enum LocalTree {
    /// Every path below `root`, relative to it, directories before their contents, in directory order
    /// (sort it for a stable order); symbolic links to directories are listed, not entered.
    public static func subpaths(_ root: String) -> [String] {
        var paths: [String] = []
        func walk(_ directory: String, _ prefix: String) {
            guard let handle = opendir(directory) else { return }
            var names: [String] = []
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(handle)
            for name in names {
                let relative = prefix.isEmpty ? name : prefix + "/" + name
                paths.append(relative)
                var info = stat()
                if lstat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                    walk(directory + "/" + name, relative)
                }
            }
        }
        walk(root, "")
        return paths
    }

    /// The target of the symbolic link at `path`, or nil when it is not one.
    public static func symlinkTarget(_ path: String) -> String? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = buffer.withUnsafeMutableBufferPointer { pointer in
            pointer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: pointer.count) { readlink(path, $0, pointer.count - 1) }
        }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
