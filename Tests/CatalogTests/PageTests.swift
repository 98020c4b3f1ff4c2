import Foundation
import Testing
import KilnTestSupport
@testable import Catalog
import Recipe

/// A catalog with two recipes: `lab` with AMIs in two regions (and an older build) and an OCI image,
/// `tools` with an OCI image only.
func sampleCatalog() -> CatalogDocument {
    var document = CatalogDocument()
    document.record(entry("lab", id: "lab-old", amis: ["us-east-1": "ami-0000000000000old1"]))
    var lab = entry("lab", id: "lab-2", amis: ["us-east-1": "ami-0123456789abcdef0", "eu-west-1": "ami-0fedcba9876543210"])
    lab.description = "JupyterLab <for> \"class\" & more"
    lab.instanceTypes = ["t3.large", "m7i.xlarge", "x9.unknown"]
    lab.contents = CatalogEntry.Contents(params: ["python_version": "3.12.13"], apt: ["git=1:2.43.0-1"], pip: ["numpy==2.1.3"],
                                         lineage: ["base", "lab"])
    document.record(lab)
    var labOCI = entry("lab", id: "lab-oci", target: .oci)
    labOCI.oci = CatalogEntry.OCIImage(repository: "123456789012.dkr.ecr.us-east-1.amazonaws.com/lab",
                                       digest: "sha256:" + String(repeating: "c", count: 64), tags: ["2026.11", "latest"])
    document.record(labOCI)
    var tools = entry("tools", id: "tools-oci", target: .oci)
    tools.oci = CatalogEntry.OCIImage(repository: "ghcr.io/example/tools", digest: "sha256:" + String(repeating: "d", count: 64), tags: ["1"])
    document.record(tools)
    return document
}

@Suite("the student page")
struct PageTests {
    @Test("the launch link opens the EC2 console's launch wizard with the AMI, in its region")
    func launchURL() {
        #expect(PageRenderer.launchURL(region: "eu-west-1", ami: "ami-1")
                == "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#LaunchInstances:ami=ami-1")
        #expect(PageRenderer.runInstancesCommand(recipe: "lab", region: "us-east-1", instanceType: "t3.large")
                .contains("--image-id resolve:ssm:/kiln/lab/latest"))
    }

    @Test("README.md: every current image, its links, commands, prices marked as estimates, the cost box")
    func markdown() {
        let md = PageRenderer.markdown(sampleCatalog())
        #expect(md.contains("## lab 1"))
        #expect(md.contains("[Launch](https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#LaunchInstances:ami=ami-0fedcba9876543210)"))
        #expect(!md.contains("ami-0000000000000old1"), "an older build is not on the page")
        #expect(md.contains("docker pull 123456789012.dkr.ecr.us-east-1.amazonaws.com/lab@sha256:cccc"))
        #expect(md.contains("podman pull ghcr.io/example/tools@sha256:dddd"))
        #expect(md.contains("| t3.large | 2 | 8 GiB | 0.0832 |"))
        #expect(md.contains("| x9.unknown | | | not in the price table |"))
        #expect(md.contains("**estimate**") && md.contains(PriceTable.recorded))
        #expect(md.contains("Cost control") && md.contains("billing alarm") && md.contains("Idle auto-stop"))
        #expect(md.contains("`numpy==2.1.3`") && md.contains("| python_version | `3.12.13` |"))
    }

    @Test("an empty catalog makes a page that says nothing is published yet")
    func empty() {
        #expect(PageRenderer.markdown(CatalogDocument()).contains("No image has been published yet"))
        #expect(PageRenderer.html(CatalogDocument()).contains("id=\"empty\""))
    }

    @Test("the HTML escapes text, has no scripts, and is the same bytes for the same catalog")
    func htmlText() {
        let html = PageRenderer.html(sampleCatalog())
        #expect(html.contains("JupyterLab &lt;for&gt; &quot;class&quot; &amp; more"))
        #expect(!html.lowercased().contains("<script"))
        #expect(html == PageRenderer.html(sampleCatalog()))
    }

    @Test("headless Chromium renders the page: each launch link and AMI ID in the DOM matches the catalog")
    func chromium() throws {
        guard let chromium = requireProgram("chromium", install: "apt-get install chromium (Debian's package)") else { return }
        let dir = try TempDirectory()
        let document = sampleCatalog()
        let page = try dir.write("index.html", PageRenderer.html(document))
        let dom = try renderedDOM(chromium: chromium, page: page, profile: dir.path + "/profile")
        let expected = Set(document.current(target: .ami).flatMap { e in e.amis.map { [$0.key, $0.value] } })
        let links = matches(#"<a class="launch" data-region="([^"]+)" data-ami="([^"]+)" href="([^"]+)">"#, in: dom)
        #expect(Set(links.map { [$0[0], $0[1]] }) == expected)
        for link in links {
            #expect(link[2] == PageRenderer.launchURL(region: link[0], ami: link[1]))
        }
        let cells = matches(#"<td class="ami"><code>([^<]+)</code></td>"#, in: dom).map { $0[0] }
        #expect(Set(cells) == Set(expected.map { $0[1] }))
        #expect(dom.contains("id=\"cost-control\""))
        #expect(dom.contains("resolve:ssm:/kiln/lab/latest"))
    }
}


/// The capture groups of every match of a pattern.
func matches(_ pattern: String, in text: String) -> [[String]] {
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    let ns = text as NSString
    return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { match in
        (1..<match.numberOfRanges).map { ns.substring(with: match.range(at: $0)) }
    }
}

@Suite("SSM parameter names")
struct ParameterNameTests {
    @Test("valid names", arguments: [("/kiln/julia/latest", true), ("/kiln/julia/2026.11", true), ("/kiln/x/1.0+build", false),
                                      ("/kiln/x/1 0", false), ("", false), ("/kiln/ü/1", false)])
    func names(_ c: (String, Bool)) {
        #expect(Publisher.isValidParameterName(c.0) == c.1)
    }
}
