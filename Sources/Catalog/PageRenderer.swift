import Foundation
import Recipe

/// Renders the student page from the catalog: `images/README.md` (read on GitHub) and
/// `images/index.html` (static, no scripts). Both are pure functions of the catalog, so a rerun writes
/// the same bytes and the committed files only change when an image does.
public enum PageRenderer {
    /// The SSM parameter a recipe's newest AMI is published under.
    public static func latestParameter(recipe: String) -> String { "/kiln/\(recipe)/latest" }

    /// The SSM parameter of one version of a recipe.
    public static func versionParameter(recipe: String, version: String) -> String { "/kiln/\(recipe)/\(version)" }

    /// The EC2 console's launch wizard with an AMI selected.
    public static func launchURL(region: String, ami: String) -> String {
        "https://\(region).console.aws.amazon.com/ec2/home?region=\(region)#LaunchInstances:ami=\(ami)"
    }

    /// The command line that launches the newest AMI of a recipe through its SSM parameter.
    public static func runInstancesCommand(recipe: String, region: String, instanceType: String) -> String {
        "aws ec2 run-instances --region \(region) --image-id resolve:ssm:\(latestParameter(recipe: recipe)) "
            + "--instance-type \(instanceType) --instance-initiated-shutdown-behavior stop --key-name YOUR-KEY"
    }

    /// One image on the page: a recipe's current AMI and OCI builds.
    public struct Item: Sendable {
        /// The recipe.
        public var recipe: String
        /// The current AMI build.
        public var ami: CatalogEntry?
        /// The current OCI build.
        public var oci: CatalogEntry?
        /// The newer of the two, for the name, version and contents.
        var main: CatalogEntry { ami ?? oci! }
    }

    /// The images to show: every recipe with a current, not deleted build, by name.
    public static func items(_ document: CatalogDocument) -> [Item] {
        let amis = Dictionary(document.current(target: .ami).map { ($0.recipe, $0) }, uniquingKeysWith: { _, b in b })
        let ocis = Dictionary(document.current(target: .oci).map { ($0.recipe, $0) }, uniquingKeysWith: { _, b in b })
        return Set(amis.keys).union(ocis.keys).sorted().map { Item(recipe: $0, ami: amis[$0], oci: ocis[$0]) }
    }

    static let costControl = [
        "**Stop, don't just close the tab.** A running instance is billed every second. *Stop* it when you are done (you then pay only for its disks, and it starts again as you left it); *terminate* it when you no longer need it (its disks and your files on them are deleted).",
        "**Set a billing alarm** before your first launch: CloudWatch → Alarms → Billing, e.g. at 10 USD (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html).",
        "**Idle auto-stop:** the images power themselves off after 60 minutes without a login, a Systems Manager session or a busy Jupyter kernel (see docs/standard-images.md). Launch with shutdown behaviour *stop* (the default, and what the command below sets), never *terminate*.",
    ]

    static let estimateNote = "Prices are an estimate: on-demand, Linux, us-east-1, from \(PriceTable.source), recorded \(PriceTable.recorded). Other regions cost more or less; check the price list."

    // MARK: README.md

    /// `images/README.md`.
    public static func markdown(_ document: CatalogDocument) -> String {
        var md = "# kiln images\n\n"
        md += "Ready-made data-science machines. Pick an image, pick your region, click *Launch*. "
        md += "This page is written by `kiln publish` from [catalog.json](catalog.json); do not edit it by hand.\n\n"
        md += "> **Cost control**\n>\n"
        for line in costControl { md += "> - \(line)\n" }
        md += "\n"
        let items = items(document)
        if items.isEmpty {
            md += "No image has been published yet. Build one with `kiln build`, then run `kiln publish`.\n"
            return md
        }
        for item in items {
            let main = item.main
            md += "## \(main.recipe) \(main.version)\n\n"
            if let description = main.description { md += "\(description)\n\n" }
            if let ami = item.ami {
                md += "### Launch (AMI)\n\n| region | AMI | launch |\n|---|---|---|\n"
                for (region, id) in ami.amis.sorted(by: { $0.key < $1.key }) {
                    md += "| \(region) | `\(id)` | [Launch](\(launchURL(region: region, ami: id))) |\n"
                }
                let type = ami.instanceTypes.first ?? "t3.large"
                let region = ami.amis.keys.sorted().first ?? "us-east-1"
                md += "\nFrom the command line (the SSM parameter always names the newest AMI):\n\n"
                md += "```sh\n\(runInstancesCommand(recipe: ami.recipe, region: region, instanceType: type))\n```\n\n"
                md += recommendedMarkdown(ami)
            }
            if let oci = item.oci, let reference = oci.oci?.pinnedReference {
                md += "### Container (OCI)\n\n```sh\ndocker pull \(reference)\npodman pull \(reference)\n```\n\n"
                if let tags = oci.oci?.tags, !tags.isEmpty {
                    md += "Tags: \(tags.map { "`\($0)`" }.joined(separator: ", ")).\n\n"
                }
            }
            md += contentsMarkdown(main)
        }
        return md
    }

    static func recommendedMarkdown(_ entry: CatalogEntry) -> String {
        var md = "Recommended instance types (hourly price is an **estimate**):\n\n| type | vCPUs | memory | USD/hour (estimate) |\n|---|---|---|---|\n"
        for type in entry.instanceTypes {
            if let row = PriceTable.row(type) {
                md += "| \(type) | \(row.vcpus)\(row.gpus > 0 ? " + \(row.gpus) GPU" : "") | \(formatGiB(row.memoryGiB)) GiB | \(String(format: "%.4f", row.hourlyUSD)) |\n"
            } else {
                md += "| \(type) | | | not in the price table |\n"
            }
        }
        return md + "\n" + estimateNote + "\n\n"
    }

    static func contentsMarkdown(_ entry: CatalogEntry) -> String {
        var md = "### What is inside\n\n"
        if !entry.contents.lineage.isEmpty { md += "Built from: \(entry.contents.lineage.joined(separator: " → ")).\n\n" }
        let params = entry.contents.params.sorted { $0.key < $1.key }
        if !params.isEmpty {
            md += "| parameter | value |\n|---|---|\n"
            for (name, value) in params { md += "| \(name) | `\(value.replacingOccurrences(of: "|", with: "\\|"))` |\n" }
            md += "\n"
        }
        if !entry.contents.apt.isEmpty { md += "apt: \(entry.contents.apt.map { "`\($0)`" }.joined(separator: ", "))\n\n" }
        if !entry.contents.pip.isEmpty { md += "pip: \(entry.contents.pip.map { "`\($0)`" }.joined(separator: ", "))\n\n" }
        md += "Recipe hash `\(entry.hash)`, built by kiln \(entry.kilnVersion)"
        if let builtAt = entry.builtAt { md += " on \(ISO8601DateFormatter().string(from: builtAt))" }
        return md + ".\n\n"
    }

    static func formatGiB(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    // MARK: index.html

    /// `images/index.html`: the same content as static HTML, no scripts.
    public static func html(_ document: CatalogDocument) -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>kiln images</title>
        <style>
        body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }
        table { border-collapse: collapse; margin: 0.5rem 0; }
        th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
        pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; }
        .cost { border: 2px solid #c60; background: #fff6ec; padding: 0.5rem 1rem; }
        .estimate { color: #666; font-size: 0.9em; }
        a.launch { font-weight: bold; }
        </style>
        </head>
        <body>
        <h1>kiln images</h1>
        <p>Ready-made data-science machines. Pick an image, pick your region, click <em>Launch</em>.
        Written by <code>kiln publish</code> from <a href="catalog.json">catalog.json</a>.</p>
        <aside class="cost" id="cost-control">
        <h2>Cost control</h2>
        <ul>

        """
        for line in costControl { h += "<li>\(inlineMarkdown(line))</li>\n" }
        h += "</ul>\n</aside>\n"
        let items = items(document)
        if items.isEmpty {
            h += "<p id=\"empty\">No image has been published yet. Build one with <code>kiln build</code>, then run <code>kiln publish</code>.</p>\n"
        }
        for item in items {
            let main = item.main
            h += "<section class=\"image\" id=\"\(escape(main.recipe))\">\n"
            h += "<h2>\(escape(main.recipe)) <span class=\"version\">\(escape(main.version))</span></h2>\n"
            if let description = main.description { h += "<p>\(escape(description))</p>\n" }
            if let ami = item.ami {
                h += "<h3>Launch (AMI)</h3>\n<table class=\"amis\">\n<tr><th>region</th><th>AMI</th><th>launch</th></tr>\n"
                for (region, id) in ami.amis.sorted(by: { $0.key < $1.key }) {
                    h += "<tr><td>\(escape(region))</td><td class=\"ami\"><code>\(escape(id))</code></td>"
                    h += "<td><a class=\"launch\" data-region=\"\(escape(region))\" data-ami=\"\(escape(id))\" href=\"\(escape(launchURL(region: region, ami: id)))\">Launch in \(escape(region))</a></td></tr>\n"
                }
                h += "</table>\n"
                let type = ami.instanceTypes.first ?? "t3.large"
                let region = ami.amis.keys.sorted().first ?? "us-east-1"
                h += "<p>From the command line (the SSM parameter always names the newest AMI):</p>\n"
                h += "<pre class=\"run-instances\"><code>\(escape(runInstancesCommand(recipe: ami.recipe, region: region, instanceType: type)))</code></pre>\n"
                h += "<h3>Recommended instance types</h3>\n<table class=\"prices\">\n<tr><th>type</th><th>vCPUs</th><th>memory</th><th>USD/hour (estimate)</th></tr>\n"
                for type in ami.instanceTypes {
                    if let row = PriceTable.row(type) {
                        h += "<tr><td>\(escape(type))</td><td>\(row.vcpus)\(row.gpus > 0 ? " + \(row.gpus) GPU" : "")</td><td>\(formatGiB(row.memoryGiB)) GiB</td><td>\(String(format: "%.4f", row.hourlyUSD))</td></tr>\n"
                    } else {
                        h += "<tr><td>\(escape(type))</td><td></td><td></td><td>not in the price table</td></tr>\n"
                    }
                }
                h += "</table>\n<p class=\"estimate\">\(escape(estimateNote))</p>\n"
            }
            if let oci = item.oci, let reference = oci.oci?.pinnedReference {
                h += "<h3>Container (OCI)</h3>\n<pre class=\"pull\"><code>docker pull \(escape(reference))\npodman pull \(escape(reference))</code></pre>\n"
                if let tags = oci.oci?.tags, !tags.isEmpty {
                    h += "<p>Tags: \(tags.map { "<code>\(escape($0))</code>" }.joined(separator: ", "))</p>\n"
                }
            }
            h += "<h3>What is inside</h3>\n"
            if !main.contents.lineage.isEmpty { h += "<p>Built from: \(escape(main.contents.lineage.joined(separator: " → ")))</p>\n" }
            let params = main.contents.params.sorted { $0.key < $1.key }
            if !params.isEmpty {
                h += "<table class=\"params\">\n<tr><th>parameter</th><th>value</th></tr>\n"
                for (name, value) in params { h += "<tr><td>\(escape(name))</td><td><code>\(escape(value))</code></td></tr>\n" }
                h += "</table>\n"
            }
            if !main.contents.apt.isEmpty { h += "<p>apt: \(main.contents.apt.map { "<code>\(escape($0))</code>" }.joined(separator: ", "))</p>\n" }
            if !main.contents.pip.isEmpty { h += "<p>pip: \(main.contents.pip.map { "<code>\(escape($0))</code>" }.joined(separator: ", "))</p>\n" }
            h += "<p class=\"estimate\">Recipe hash <code>\(escape(main.hash))</code>, built by kiln \(escape(main.kilnVersion))"
            if let builtAt = main.builtAt { h += " on \(ISO8601DateFormatter().string(from: builtAt))" }
            h += ".</p>\n</section>\n"
        }
        h += "</body>\n</html>\n"
        return h
    }

    /// Escapes text for HTML content and attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// The cost box's **bold** and *italic* as HTML (the only markup it uses).
    static func inlineMarkdown(_ text: String) -> String {
        var html = escape(text)
        for (marker, tag) in [("**", "strong"), ("*", "em")] {
            var parts = html.components(separatedBy: marker)
            guard parts.count >= 3 else { continue }
            var result = parts.removeFirst()
            var open = true
            for part in parts {
                result += (open ? "<\(tag)>" : "</\(tag)>") + part
                open.toggle()
            }
            html = result
        }
        return html
    }
}
