import Foundation
import Testing
@testable import Recipe

@Suite("Composition: extends and params")
struct CompositionTests {
    /// A diamond: d extends [b, c]; b and c extend a.
    func diamond() throws -> TempDir {
        let dir = try TempDir()
        try dir.write("a.yaml", """
        name: a
        version: "1"
        params: {greeting: hello, who: world}
        base:
          oci: scratch
          ami: {ssm: /aws/service/x}
        steps:
          - {name: one, run: "echo ${{ greeting }} ${{ who }}"}
        tests: ["true"]
        ami: {instance_types: [t3.small], tags: {team: a}}
        oci: {labels: {from: a}, cmd: [a]}
        """)
        try dir.write("b.yaml", """
        name: b
        version: "1"
        extends: a
        steps:
          - {name: two, run: "echo b", only: ami}
        ami: {tags: {layer: b}}
        """)
        try dir.write("c.yaml", """
        name: c
        version: "1"
        extends: [a]
        params: {who: class}
        steps:
          - {name: three, run: "echo c", arch: arm64}
        oci: {cmd: [c]}
        """)
        try dir.write("d.yaml", """
        name: d
        version: "2026.11"
        extends: [b, c]
        params: {greeting: hi}
        steps:
          - {name: four, env: {X: "${{ name }}-${{ version }}-${{ arch }}-${{ uname_arch }}"}}
        """)
        return dir
    }

    @Test("extends linearizes depth-first, each recipe once, after what it extends")
    func linearization() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader().load(dir.path + "/d.yaml")
        #expect(recipe.lineage == ["a", "b", "c", "d"])
        #expect(recipe.steps.map(\.id) == ["a/one", "b/two", "c/three", "d/four"])
        #expect(recipe.tests.map(\.recipe) == ["a"])
    }

    @Test("later recipes override parameters, and parents' steps see the final values")
    func parameters() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader().load(dir.path + "/d.yaml")
        guard case .run(let run) = recipe.steps[0].action else { Issue.record("not a run step"); return }
        #expect(run.script == "echo hi class")
        guard case .env(let vars) = recipe.steps[3].action else { Issue.record("not an env step"); return }
        #expect(vars == [EnvVar(name: "X", value: "d-2026.11-amd64-x86_64")])
        #expect(recipe.params == ["greeting": "hi", "who": "class"])
    }

    @Test("--param overrides a declared parameter")
    func override() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader(overrides: ["who": "everyone"]).load(dir.path + "/d.yaml")
        guard case .run(let run) = recipe.steps[0].action else { Issue.record("not a run step"); return }
        #expect(run.script == "echo hi everyone")
    }

    @Test("settings overlay field by field; tags and labels merge; lists are replaced")
    func settings() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader().load(dir.path + "/d.yaml")
        #expect(recipe.ami.instanceTypes == ["t3.small"])
        #expect(recipe.ami.tags == ["team": "a", "layer": "b"])
        #expect(recipe.oci.cmd == ["c"])
        #expect(recipe.oci.labels == ["from": "a"])
        #expect(recipe.base.ami == .ssm("/aws/service/x"))
        #expect(recipe.base.oci == .scratch)
    }

    @Test("only and arch limit steps per target")
    func targetFilters() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader().load(dir.path + "/d.yaml")
        #expect(recipe.steps(for: .ami).map(\.id) == ["a/one", "b/two", "d/four"])
        #expect(recipe.steps(for: .oci).map(\.id) == ["a/one", "d/four"])
    }

    @Test("two recipes of one composition may not share a name")
    func duplicateNames() throws {
        let dir = try TempDir()
        try dir.write("x.yaml", "name: same\nversion: \"1\"\nbase: {oci: scratch}\n")
        try dir.write("y.yaml", "name: same\nversion: \"1\"\nextends: [x]\n")
        let error = try #require(loadError(dir.path + "/y.yaml"))
        #expect(error.diagnostics[0].message.contains("recipe name 'same' is also used by"))
    }

    @Test("extends finds recipes in the parent directory and by relative path")
    func lookup() throws {
        let dir = try TempDir()
        try dir.write("base.yaml", "name: base\nversion: \"1\"\nbase: {oci: scratch}\n")
        try dir.write("more/other.yaml", "name: other\nversion: \"1\"\nbase: {oci: scratch}\n")
        try dir.write("examples/child.yaml", "name: child\nversion: \"1\"\nextends: [base, ../more/other.yaml]\n")
        let recipe = try RecipeLoader().load(dir.path + "/examples/child.yaml")
        #expect(recipe.lineage == ["base", "other", "child"])
    }

    @Test("relative recipe paths resolve against the loader's working directory")
    func workingDirectory() throws {
        let dir = try diamond()
        let recipe = try RecipeLoader(workingDirectory: dir.path).load("d.yaml")
        #expect(recipe.name == "d")
        let error = try #require(loadError(dir.path + "/missing.yaml"))
        #expect(error.diagnostics[0].message.contains("cannot read"))
    }

    @Test("the example recipes load, with every step kind present")
    func examples() throws {
        let recipe = try RecipeLoader().load("\(repositoryRoot)/recipes/examples/notebook.yaml")
        #expect(Set(recipe.steps.map(\.action.kind)) == ["run", "apt", "pip", "fetch", "files", "env"])
        #expect(recipe.lineage == ["tools", "notebook"])
    }
}

@Suite("Template syntax")
struct TemplateTests {
    struct Case: Sendable {
        var input: String
        var output: String?
    }

    static let cases: [Case] = [
        Case(input: "plain $HOME and ${HOME}", output: "plain $HOME and ${HOME}"),
        Case(input: "${{ v }}", output: "1.2"),
        Case(input: "${{v}}-${{  v  }}", output: "1.2-1.2"),
        Case(input: "$${{ v }}", output: "${{ v }}"),
        Case(input: "a${{ v }}b$c", output: "a1.2b$c"),
        Case(input: "${{ missing }}", output: nil),
        Case(input: "${{ v", output: nil),
        Case(input: "${{ V }}", output: nil),
        Case(input: "ünïcode ${{ v }} ✓", output: "ünïcode 1.2 ✓"),
    ]

    @Test("parameters expand; shell syntax is left alone", arguments: cases)
    func expand(_ c: Case) {
        let result = Template.expand(c.input) { $0 == "v" ? "1.2" : nil }
        switch result {
        case .success(let text): #expect(text == c.output)
        case .failure: #expect(c.output == nil)
        }
    }
}

@Suite("Bases")
struct BaseTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var yaml: String
        var ami: AMIBase?
        var oci: OCIBase?
        var testDescription: String { yaml }
    }

    static let digest = "sha256:" + String(repeating: "ab", count: 32)
    static let cases: [Case] = [
        Case(yaml: "{ami: {id: ami-0123456789abcdef0}}", ami: .id("ami-0123456789abcdef0")),
        Case(yaml: "{ami: {id: ami-01234567}}", ami: .id("ami-01234567")),
        Case(yaml: "{ami: {ssm: /aws/service/x}}", ami: .ssm("/aws/service/x")),
        Case(yaml: "{ami: {name: 'ubuntu/*', owners: '099720109477'}}", ami: .filter(name: "ubuntu/*", owners: ["099720109477"])),
        Case(yaml: "{ami: {name: 'al2023-*', owners: [amazon, '123456789012']}}", ami: .filter(name: "al2023-*", owners: ["amazon", "123456789012"])),
        Case(yaml: "{oci: scratch}", oci: .scratch),
        Case(yaml: "{oci: {scratch: true}}", oci: .scratch),
        Case(yaml: "{oci: {image: 'public.ecr.aws/ubuntu/ubuntu:24.04'}}", oci: .image("public.ecr.aws/ubuntu/ubuntu:24.04")),
        Case(yaml: "{oci: {image: 'ubuntu@\(digest)'}}", oci: .image("ubuntu@\(digest)")),
        Case(yaml: "{oci: {image: 'localhost:5000/a/b:1@\(digest)'}}", oci: .image("localhost:5000/a/b:1@\(digest)")),
        Case(yaml: "{oci: {debootstrap: {suite: bookworm}}}", oci: .debootstrap(suite: "bookworm", mirror: "http://deb.debian.org/debian", variant: "minbase")),
        Case(yaml: "{oci: {debootstrap: {suite: noble, mirror: 'http://archive.ubuntu.com/ubuntu', variant: buildd}}}",
             oci: .debootstrap(suite: "noble", mirror: "http://archive.ubuntu.com/ubuntu", variant: "buildd")),
        Case(yaml: "{oci: {layout: layout, ref: v1}}", oci: .layout(path: "layout", reference: "v1")),
    ]

    @Test("every base form is read", arguments: cases)
    func forms(_ c: Case) throws {
        let dir = try TempDir()
        try dir.write("layout/index.json", "{\"schemaVersion\": 2, \"manifests\": []}")
        let recipe = try RecipeLoader().load(try dir.write("r.yaml", "name: r\nversion: \"1\"\nbase: \(c.yaml)\n"))
        #expect(recipe.base.ami == c.ami)
        #expect(recipe.base.oci == c.oci)
    }

    @Test("only digest-pinned images count as pinned")
    func pinned() {
        #expect(!OCIBase.image("ubuntu:24.04").isPinned)
        #expect(OCIBase.image("ubuntu@\(Self.digest)").isPinned)
        #expect(OCIBase.scratch.isPinned)
    }

    @Test("a layout that is not an OCI layout is an error at its line")
    func badLayout() throws {
        let dir = try TempDir()
        let error = try #require(loadError(try dir.write("r.yaml", "name: r\nversion: \"1\"\nbase:\n  oci: {layout: nowhere}\n")))
        #expect(error.diagnostics[0].position.line == 4)
        #expect(error.diagnostics[0].message.contains("not an OCI image layout"))
    }
}
