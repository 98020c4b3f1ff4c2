import Foundation
import Testing
import KilnTestSupport
@testable import KilnCommands
import AWSCore
import Catalog
import EC2
import Recipe
import SSM

@Suite("kiln build → kiln publish on moto", .moto, .serialized)
struct PublishCommandTests {
    @Test("an AMI build lands in the catalog; publish writes SSM parameters only where the AMI is shared, and the page agrees")
    func buildThenPublish() throws {
        guard getuid() == 0 else {
            Issue.record("the instance simulator plays the build with bubblewrap as root: run the suite as root (CI does)")
            return
        }
        let moto = try #require(MotoScope.current)
        let factory = try AMIFactory()
        let simulator = try InstanceSimulator(moto: moto, regions: ["us-east-1"])
        simulator.start()
        defer { simulator.stop() }
        let dir = try TempDir()
        let name = unique("demo")
        try dir.write("recipes/\(name).yaml", """
        name: \(name)
        version: "2026.11"
        description: A demo image for the publish test
        base: {ami: {id: \(factory.base)}}
        params:
          tool_version: "1.2.3"
        steps:
          - name: hello
            run: echo "tool ${{ tool_version }}" > /etc/kiln-demo
        tests:
          - grep -q 1.2.3 /etc/kiln-demo
        ami:
          instance_types: [t3.micro]
          timeout_minutes: 5
          regions: [us-west-2]
          share: {public: true}
        """)
        var environment = motoEnvironment()
        environment["KILN_POLL_SECONDS"] = "0.2"
        let aws = ["--endpoint-url", moto.url, "--region", "us-east-1"]

        // Build: the catalog gets the build as its current entry.
        let (buildCode, build) = kiln(["build", "--target", "ami", "--json", "--bucket", unique("kiln-logs"),
                                                 "recipes/\(name).yaml"] + aws, in: dir.path, environment: environment)
        #expect(buildCode == 0, "\(build.err)")
        struct Built: Decodable { var buildID: String; var hash: String; var amis: [String: String]; var baseAMI: String }
        let built = try #require(try JSONDecoder().decode([Built].self, from: Data(build.out.utf8)).first)
        #expect(Set(built.amis.keys) == ["us-east-1", "us-west-2"])
        let catalog = try CatalogStore(path: dir.path + "/images/catalog.json").read()
        let entry = try #require(catalog.current(target: .ami).first)
        #expect(catalog.images.count == 1)
        #expect(entry.id == built.buildID && entry.recipe == name && entry.version == "2026.11")
        #expect(entry.hash == built.hash && entry.amis == built.amis)
        #expect(entry.base.amis == ["us-east-1": built.baseAMI])
        let loaded = try RecipeLoader().load(dir.path + "/recipes/\(name).yaml")
        #expect(entry.resolvedHash == (try BaseResolver.amiHash(loaded, region: "us-east-1", baseAMI: built.baseAMI)))
        #expect(entry.sharing?.public == true)
        #expect(entry.contents.params["tool_version"] == "1.2.3")
        #expect(entry.kilnVersion == Kiln.version)
        // kiln plan now sees the recipe as built.
        let (_, plan) = kiln(["plan", "--json", "recipes"], in: dir.path)
        struct Plan: Decodable { var changed: [String] }
        #expect(try JSONDecoder().decode(Plan.self, from: Data(plan.out.utf8)).changed == [], "\(plan.out)")

        // Unshare the copy in us-west-2: publish writes us-east-1's parameters only, and exits 1.
        let west = try factory.ec2.inRegion("us-west-2")
        let westAMI = try #require(built.amis["us-west-2"])
        try west.modifyImageAttribute(imageID: westAMI, launchPermission: LaunchPermissionModifications(remove: [LaunchPermission(group: "all")]))
        let (notReadyCode, notReady) = kiln(["publish", "--json"] + aws, in: dir.path, environment: environment)
        #expect(notReadyCode == 1)
        #expect(notReady.err.contains("\(westAMI) in us-west-2 is not ready: not shared yet with public"), "\(notReady.err)")
        let westSSM = try SSMClient(config: MotoScope.config(region: "us-west-2"))
        #expect(throws: (any Error).self) { try westSSM.getParameter(name: "/kiln/\(name)/latest") }

        // Shared again: every region gets both parameters, as aws:ec2:image.
        try west.modifyImageAttribute(imageID: westAMI, launchPermission: LaunchPermissionModifications(add: [LaunchPermission(group: "all")]))
        let (code, io) = kiln(["publish", "--json"] + aws, in: dir.path, environment: environment)
        #expect(code == 0, "\(io.err)")
        struct Published: Decodable {
            struct Parameter: Decodable { var region: String; var name: String; var value: String; var written: Bool }
            var parameters: [Parameter]
            var files: [String]
        }
        let published = try JSONDecoder().decode(Published.self, from: Data(io.out.utf8))
        #expect(published.parameters.count == 4 && published.parameters.allSatisfy(\.written))
        #expect(published.files == ["images/README.md", "images/index.html"])
        for (region, ami) in built.amis {
            let ssm = try SSMClient(config: MotoScope.config(region: region))
            for parameter in ["/kiln/\(name)/latest", "/kiln/\(name)/2026.11"] {
                let value = try ssm.getParameter(name: parameter)
                #expect(value.value == ami, "\(parameter) in \(region)")
                #expect(value.dataType == .ec2Image)
            }
        }

        // The page shows the same AMIs, and Chromium renders the launch links for them.
        let readme = try String(contentsOfFile: dir.path + "/images/README.md", encoding: .utf8)
        for (region, ami) in built.amis {
            #expect(readme.contains("| \(region) | `\(ami)` | [Launch](\(PageRenderer.launchURL(region: region, ami: ami))) |"))
        }
        #expect(readme.contains("resolve:ssm:/kiln/\(name)/latest"))
        guard let chromium = requireProgram("chromium", install: "apt-get install chromium (Debian's package)") else { return }
        let dom = try renderedDOM(chromium: chromium, page: dir.path + "/images/index.html", profile: dir.path + "/chromium")
        let links = domMatches(#"<a class="launch" data-region="([^"]+)" data-ami="([^"]+)" href="([^"]+)">"#, in: dom)
        #expect(Dictionary(uniqueKeysWithValues: links.map { ($0[0], $0[1]) }) == built.amis)
        for link in links { #expect(link[2] == PageRenderer.launchURL(region: link[0], ami: link[1])) }
        #expect(dom.contains("tool_version") && dom.contains("1.2.3"))
    }

    @Test("an OCI build is recorded too: digest, layout tag, size, resolved base; --no-catalog leaves the catalog alone")
    func ociBuildRecorded() throws {
        let dir = try TempDir()
        try dir.write("files/motd", "hello\n")
        try dir.write("r.yaml", """
        name: scratchy
        version: "3"
        base: {oci: scratch}
        params: {motd_version: "7"}
        steps:
          - name: motd
            files: [{src: files/motd, dest: /etc/motd}]
        """)
        let common = ["build", "--target", "oci", "--json", "--cache-dir", dir.path + "/cache", "r.yaml"]
        let (skipped, skippedIO) = kiln(common + ["--no-catalog"], in: dir.path, environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(skipped == 0, "\(skippedIO.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/images/catalog.json"))
        let (code, io) = kiln(common, in: dir.path, environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(code == 0, "\(io.err)")
        struct Record: Decodable {
            struct Build: Decodable { var manifestDigest: String; var size: Int64; var tag: String; var base: String }
            var build: Build
        }
        let record = try #require(try JSONDecoder().decode([Record].self, from: Data(io.out.utf8)).first)
        let catalog = try CatalogStore(path: dir.path + "/images/catalog.json").read()
        let entry = try #require(catalog.current(target: .oci).first)
        #expect(catalog.images.count == 1)
        #expect(entry.recipe == "scratchy" && entry.version == "3" && entry.target == .oci)
        #expect(entry.oci == CatalogEntry.OCIImage(repository: nil, digest: record.build.manifestDigest, tags: [record.build.tag],
                                                   platform: entry.oci?.platform))
        #expect(entry.sizeBytes == record.build.size)
        #expect(entry.base.digest == record.build.base)
        #expect(entry.contents.params == ["motd_version": "7"])
        // plan: the recipe is built.
        let (_, plan) = kiln(["plan", "--json", "r.yaml"], in: dir.path)
        struct Plan: Decodable { var changed: [String] }
        #expect(try JSONDecoder().decode(Plan.self, from: Data(plan.out.utf8)).changed == [], "\(plan.out)")
    }

    @Test("two kiln build commands running at once both land in the catalog")
    func concurrentBuilds() throws {
        let dir = try TempDir()
        for name in ["one", "two"] {
            try dir.write("\(name).yaml", "name: \(name)\nversion: \"1\"\nbase: {oci: scratch}\nsteps: [{name: f, files: [{src: \(name).txt, dest: /\(name)}]}]\n")
            try dir.write("\(name).txt", name)
        }
        let results = Failures()
        let root = dir.path
        DispatchQueue.concurrentPerform(iterations: 2) { index in
            let name = index == 0 ? "one" : "two"
            let (code, io) = kiln(["build", "--target", "oci", "--cache-dir", root + "/cache-\(name)",
                                             "--output", "oci-layout:\(root)/out-\(name)", "\(name).yaml"], in: root)
            if code != 0 { results.add("\(name): \(io.err)") }
        }
        #expect(results.all.isEmpty, "\(results.all)")
        let catalog = try CatalogStore(path: dir.path + "/images/catalog.json").read()
        #expect(Set(catalog.images.map(\.recipe)) == ["one", "two"])
        #expect(catalog.current(target: .oci).count == 2)
    }

    @Test("publish with an empty catalog writes the 'nothing yet' page and calls no AWS; --dry-run writes nothing")
    func emptyCatalog() throws {
        let dir = try TempDir()
        try dir.write("images/catalog.json", "{\"format\": 1, \"images\": []}")
        let (dryCode, dry) = kiln(["publish", "--dry-run"], in: dir.path)
        #expect(dryCode == 0, "\(dry.err)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/images/index.html"))
        #expect(dry.out.contains("would write images/index.html"))
        let (code, io) = kiln(["publish"], in: dir.path)
        #expect(code == 0, "\(io.err)")
        let html = try String(contentsOfFile: dir.path + "/images/index.html", encoding: .utf8)
        #expect(html.contains("No image has been published yet"))
    }

    @Test("publish --merge folds build jobs' catalogs in (CI), and --dry-run shows the merged page without writing")
    func mergeJobs() throws {
        let dir = try TempDir()
        try dir.write("images/catalog.json", "{\"format\": 1, \"images\": []}")
        var job = CatalogDocument()
        var built = CatalogEntry(id: "tools-1", recipe: "tools", version: "1", target: .oci, hash: "sha256:t", kilnVersion: "test",
                                 builtAt: Date(timeIntervalSince1970: 0), seconds: 1)
        built.oci = CatalogEntry.OCIImage(repository: "ghcr.io/x/tools", digest: "sha256:" + String(repeating: "e", count: 64), tags: ["1"])
        job.record(built)
        try CatalogStore(path: dir.path + "/results/job/out/catalog.json").update { $0 = job }
        let (dryCode, dry) = kiln(["publish", "--dry-run", "--merge", "results/job/out/catalog.json"], in: dir.path)
        #expect(dryCode == 0, "\(dry.err)")
        #expect(try CatalogStore(path: dir.path + "/images/catalog.json").read().images.isEmpty)
        let (code, io) = kiln(["publish", "--merge", "results/job/out/catalog.json"], in: dir.path)
        #expect(code == 0, "\(io.err)")
        #expect(io.err.contains("merged 1 build into images/catalog.json"))
        #expect(try CatalogStore(path: dir.path + "/images/catalog.json").read().current(target: .oci).map(\.id) == ["tools-1"])
        let readme = try String(contentsOfFile: dir.path + "/images/README.md", encoding: .utf8)
        #expect(readme.contains("docker pull ghcr.io/x/tools@sha256:eeee"))
    }

    @Test("the committed images/README.md and images/index.html are what kiln publish writes for the committed catalog")
    func committedPage() throws {
        let document = try CatalogStore(path: repositoryRoot + "/images/catalog.json").read()
        let readme = try String(contentsOfFile: repositoryRoot + "/images/README.md", encoding: .utf8)
        let html = try String(contentsOfFile: repositoryRoot + "/images/index.html", encoding: .utf8)
        #expect(readme == PageRenderer.markdown(document), "run: kiln publish --no-ssm")
        #expect(html == PageRenderer.html(document), "run: kiln publish --no-ssm")
    }
}


/// The capture groups of every match of a pattern.
func domMatches(_ pattern: String, in text: String) -> [[String]] {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    let ns = text as NSString
    return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
        (1..<match.numberOfRanges).map { ns.substring(with: match.range(at: $0)) }
    }
}

/// Failures collected from several threads.
final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
