import Foundation
import Testing
@testable import Recipe

@Suite("Recipe hash")
struct RecipeHashTests {
    static let original = """
    name: h
    version: "1"
    # a comment
    params: {v: "1.0"}
    base: {oci: scratch, ami: {ssm: /aws/x}}
    steps:
      - name: tool
        run: echo ${{ v }}
      - name: conf
        files: [{src: files/conf, dest: /etc/conf}]
    ami: {tags: {a: "1", b: "2"}}
    """

    func hash(_ text: String, file: String = "conf-content\n", executable: Bool = false,
              overrides: [String: String] = [:]) throws -> String {
        let dir = try TempDir()
        try dir.write("files/conf", file, mode: executable ? 0o755 : 0o644)
        let path = try dir.write("h.yaml", text)
        return try RecipeHash.compute(try RecipeLoader(overrides: overrides).load(path))
    }

    @Test("the hash has the sha256: form and is stable")
    func stable() throws {
        let a = try hash(Self.original)
        #expect(a.hasPrefix("sha256:") && a.count == 71)
        #expect(try hash(Self.original) == a)
        #expect(RecipeHash.short(a).count == 12)
    }

    @Test("comments, key order, whitespace and flow/block style do not change the hash")
    func invariant() throws {
        let reordered = """
        # different comments, different order, block style
        version: '1'
        name: h

        base:
          ami:
            ssm: /aws/x
          oci: scratch
        steps:
          - run: echo ${{ v }}
            name: tool     # trailing comment
          - files:
              - dest: /etc/conf
                src: files/conf
            name: conf
        ami:
          tags:
            b: "2"
            a: "1"
        params:
          v: "1.0"
        """
        #expect(try hash(reordered) == hash(Self.original))
        // A parameter's spelling does not matter, only its value.
        let literal = Self.original.replacingOccurrences(of: "echo ${{ v }}", with: "echo 1.0")
            .replacingOccurrences(of: "params: {v: \"1.0\"}", with: "params: {v: \"1.0\"}")
        #expect(try hash(literal) == hash(Self.original))
    }

    struct Change: Sendable, CustomTestStringConvertible {
        var what: String
        var from: String
        var to: String
        var testDescription: String { what }
    }

    static let changes: [Change] = [
        Change(what: "a step's script", from: "run: echo ${{ v }}", to: "run: echo ${{ v }}!"),
        Change(what: "a parameter's value", from: "params: {v: \"1.0\"}", to: "params: {v: \"1.1\"}"),
        Change(what: "the version", from: "version: \"1\"", to: "version: \"2\""),
        Change(what: "a step's name", from: "name: tool", to: "name: tools"),
        Change(what: "a step's target", from: "    run: echo", to: "    only: oci\n    run: echo"),
        Change(what: "the base", from: "ami: {ssm: /aws/x}", to: "ami: {ssm: /aws/y}"),
        Change(what: "an AMI tag", from: "b: \"2\"", to: "b: \"3\""),
        Change(what: "a file's destination", from: "dest: /etc/conf", to: "dest: /etc/conf2"),
    ]

    @Test("anything that changes the image changes the hash", arguments: changes)
    func sensitive(_ change: Change) throws {
        #expect(Self.original.contains(change.from))
        let changed = Self.original.replacingOccurrences(of: change.from, with: change.to)
        #expect(try hash(changed) != hash(Self.original))
    }

    @Test("a referenced file's bytes and executable bit change the hash")
    func files() throws {
        let base = try hash(Self.original)
        #expect(try hash(Self.original, file: "conf-content!\n") != base)
        #expect(try hash(Self.original, executable: true) != base)
    }

    @Test("a --param override changes the hash; a resolved base does too")
    func overridesAndBases() throws {
        let base = try hash(Self.original)
        #expect(try hash(Self.original, overrides: ["v": "2.0"]) != base)
        let dir = try TempDir()
        try dir.write("files/conf", "conf-content\n")
        let recipe = try RecipeLoader().load(try dir.write("h.yaml", Self.original))
        #expect(try RecipeHash.compute(recipe) == base)
        let a = try RecipeHash.compute(recipe, resolvedBases: ["ami:us-east-1": "ami-0aaaaaaaaaaaaaaaa"])
        let b = try RecipeHash.compute(recipe, resolvedBases: ["ami:us-east-1": "ami-0bbbbbbbbbbbbbbbb"])
        #expect(a != base && a != b)
    }

    @Test("a change in a parent changes the child's hash")
    func parentChange() throws {
        let dir = try TempDir()
        try dir.write("p.yaml", "name: p\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: s, run: echo 1}]\n")
        let child = try dir.write("c.yaml", "name: c\nversion: \"1\"\nextends: [p]\n")
        let before = try RecipeHash.compute(try RecipeLoader().load(child))
        try dir.write("p.yaml", "name: p\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: s, run: echo 2}]\n")
        let after = try RecipeHash.compute(try RecipeLoader().load(child))
        #expect(before != after)
    }
}
