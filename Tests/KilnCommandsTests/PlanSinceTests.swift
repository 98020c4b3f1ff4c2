import Foundation
import Testing
import KilnTestSupport
@testable import KilnCommands
import Catalog
import EC2
import Recipe
import SSM

/// A git repository with three recipes: `child` extends `base`; `other` uses a local file.
private func repository() throws -> TempDir {
    let dir = try TempDir()
    try dir.write("recipes/base.yaml", "name: base\nversion: \"1\"\nbase: {oci: scratch}\n")
    try dir.write("recipes/child.yaml", "name: child\nversion: \"1\"\nextends: [base]\nsteps: [{name: s, run: 'true'}]\n")
    try dir.write("recipes/other.yaml", "name: other\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: f, files: [{src: files/x.txt, dest: /etc/x}]}]\n")
    try dir.write("recipes/files/x.txt", "one\n")
    try dir.write("README", "not a recipe\n")
    try git(dir, ["init", "-q", "-b", "main"])
    try git(dir, ["add", "."])
    try git(dir, ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "recipes"])
    return dir
}

@discardableResult
private func git(_ dir: TempDir, _ arguments: [String]) throws -> String {
    let (status, output) = try runProgram("/usr/bin/git", ["-C", dir.path] + arguments)
    #expect(status == 0, "git \(arguments): \(output)")
    return output
}

private struct PlanOutput: Decodable {
    struct Row: Decodable { var name: String; var hash: String; var touched: Bool? }
    struct Item: Decodable { var name: String; var target: String }
    struct Matrix: Decodable { var include: [Item] }
    var recipes: [Row]
    var changed: [String]
    var matrix: Matrix
}

private func plan(_ dir: TempDir, _ extra: [String] = [], environment: [String: String] = [:]) throws -> PlanOutput {
    let (code, io) = kiln(["plan", "--json"] + extra, in: dir.path, environment: environment)
    #expect(code == 0, "\(io.err)")
    return try JSONDecoder().decode(PlanOutput.self, from: Data(io.out.utf8))
}

@Suite("kiln plan --since GIT_REF")
struct PlanSinceTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var edits: [(String, String)]
        var changed: [String]
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "nothing changed: nothing to build", edits: [], changed: []),
        Case(name: "a parent changed: it and what extends it", edits: [("recipes/base.yaml", "name: base\nversion: \"2\"\nbase: {oci: scratch}\n")],
             changed: ["base", "child"]),
        Case(name: "a child changed: only the child", edits: [("recipes/child.yaml", "name: child\nversion: \"2\"\nextends: [base]\n")],
             changed: ["child"]),
        Case(name: "a local file changed: the recipe that uses it", edits: [("recipes/files/x.txt", "two\n")], changed: ["other"]),
        Case(name: "an unrelated file changed: nothing", edits: [("README", "still not a recipe\n")], changed: []),
        Case(name: "a new untracked local file counts", edits: [("recipes/files/new.txt", "n\n"),
                                                               ("recipes/other.yaml", "name: other\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: f, files: [{src: files/new.txt, dest: /etc/x}]}]\n")],
             changed: ["other"]),
    ]

    @Test("touched recipes since HEAD", arguments: cases)
    func touched(_ c: Case) throws {
        let dir = try repository()
        for (path, text) in c.edits { try dir.write(path, text) }
        let output = try plan(dir, ["--since", "HEAD"])
        #expect(output.changed == c.changed)
        #expect(Set(output.matrix.include.map(\.name)) == Set(c.changed))
        #expect(output.recipes.allSatisfy { $0.touched != nil })
        // Without --since every unbuilt recipe is in the matrix.
        #expect(try plan(dir).changed == ["base", "child", "other"])
    }

    @Test("a touched recipe whose hash is already in the catalog is not rebuilt")
    func touchedButBuilt() throws {
        let dir = try repository()
        try dir.write("recipes/files/x.txt", "two\n")
        let hash = try #require(try plan(dir).recipes.first { $0.name == "other" }?.hash)
        try dir.write("images/catalog.json", "{\"format\": 1, \"images\": [{\"recipe\": \"other\", \"hash\": \"\(hash)\"}]}")
        #expect(try plan(dir, ["--since", "HEAD"]).changed == [])
    }

    @Test("since an older commit: everything changed after it")
    func olderCommit() throws {
        let dir = try repository()
        try dir.write("recipes/base.yaml", "name: base\nversion: \"2\"\nbase: {oci: scratch}\n")
        try git(dir, ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-am", "bump base"])
        #expect(try plan(dir, ["--since", "HEAD"]).changed == [])
        #expect(try plan(dir, ["--since", "HEAD~1"]).changed == ["base", "child"])
    }

    @Test("an unknown revision is a usage error that says what git said")
    func unknownRevision() throws {
        let dir = try repository()
        let (code, io) = kiln(["plan", "--since", "no-such-ref"], in: dir.path)
        #expect(code == 64)
        #expect(io.err.contains("--since: git diff"), "\(io.err)")
    }
}

@Suite("kiln plan --resolve-bases on moto", .moto)
struct PlanResolveBasesTests {
    @Test("a new AMI behind the base's SSM parameter marks the recipe changed; without the flag it does not")
    func newBaseAMI() throws {
        let moto = try #require(MotoScope.current)
        let ec2 = try EC2Client(config: MotoScope.config())
        let ssm = try SSMClient(config: MotoScope.config())
        let images = try ec2.describeImages(owners: ["amazon"], filters: [EC2.Filter(name: "name", values: ["amzn2-ami-hvm-*"])])
        #expect(images.count >= 2)
        let (first, second) = (try #require(images.first?.imageID), try #require(images.last?.imageID))
        let parameter = "/\(unique("kiln"))/base"
        try ssm.putParameter(PutParameterRequest(name: parameter, value: first, overwrite: true))
        let dir = try TempDir()
        let path = try dir.write("r.yaml", "name: r\nversion: \"1\"\nbase: {ami: {ssm: \(parameter)}}\n")
        let recipe = try RecipeLoader().load(path)
        // The catalog holds an AMI built from the first base, as kiln build records it.
        let entry = CatalogEntry(id: "r-1", recipe: "r", version: "1", target: .ami, hash: try RecipeHash.compute(recipe),
                                 resolvedHash: try BaseResolver.amiHash(recipe, region: "us-east-1", baseAMI: first),
                                 kilnVersion: "test", builtAt: Date(), seconds: 1, amis: ["us-east-1": "ami-x"])
        try CatalogStore(path: dir.path + "/images/catalog.json").update { $0.record(entry) }
        let aws = ["--resolve-bases", "--endpoint-url", moto.url, "--region", "us-east-1"]
        func changed(_ extra: [String]) throws -> [String] {
            try plan(dir, ["r.yaml"] + extra, environment: motoEnvironment()).changed
        }
        #expect(try changed(aws) == [])
        try ssm.putParameter(PutParameterRequest(name: parameter, value: second, overwrite: true))
        #expect(first != second)
        #expect(try changed(aws) == ["r"])
        #expect(try changed([]) == [], "without --resolve-bases only the recipe text counts")
    }
}
