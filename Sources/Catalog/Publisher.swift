import AWSCore
import EC2
import Foundation
import SSM

/// One SSM parameter `kiln publish` writes (or would write, with `--dry-run`).
public struct PublishedParameter: Codable, Sendable, Equatable {
    /// The region.
    public var region: String
    /// `/kiln/<recipe>/latest` or `/kiln/<recipe>/<version>`.
    public var name: String
    /// The AMI ID.
    public var value: String
    /// Whether it was written (false with `--dry-run`).
    public var written: Bool
}

/// An AMI that is not ready to hand out, and why.
public struct NotReady: Codable, Sendable, Equatable {
    /// The recipe.
    public var recipe: String
    /// The region.
    public var region: String
    /// The AMI ID.
    public var ami: String
    /// What is missing.
    public var reason: String
}

/// Writes the SSM parameters of the catalog's current AMIs, in every region, once each AMI is
/// `available` and carries the launch permissions its recipe asked for.
///
/// Parameters have the data type `aws:ec2:image`, so `resolve:ssm:` works in `RunInstances`
/// (https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-ec2-aliases.html).
public struct Publisher: Sendable {
    /// The AWS configuration; its region is replaced by each AMI's region.
    public var config: AWSConfig

    /// A publisher.
    public init(config: AWSConfig) {
        self.config = config
    }

    /// Whether SSM accepts a parameter name: `a-zA-Z0-9_.-/`, at most 1011 characters.
    /// https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html
    public static func isValidParameterName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 1011 && name.allSatisfy { c in
            c.isASCII && (c.isLetter || c.isNumber || "_.-/".contains(c))
        }
    }

    func config(in region: String) -> AWSConfig {
        var copy = config
        copy.region = region
        return copy
    }

    /// Why an AMI is not ready to publish in its region, or nil when it is: it must exist, be
    /// `available`, and be shared as the entry records (`DescribeImages`, `DescribeImageAttribute`).
    public func problem(ami: String, region: String, sharing: CatalogEntry.Sharing?) throws -> String? {
        let ec2 = try EC2Client(config: config(in: region))
        guard let image = try ec2.describeImages(imageIDs: [ami]).first else { return "the AMI does not exist" }
        guard image.state == "available" else { return "the AMI is \(image.state), not available yet" }
        guard let sharing, sharing.isShared else { return nil }
        let permissions = try ec2.describeImageAttribute(imageID: ami, attribute: .launchPermission).launchPermissions
        var missing: [String] = []
        if sharing.public, !permissions.contains(where: { $0.group == "all" }) { missing.append("public") }
        for account in sharing.accounts where !permissions.contains(where: { $0.userID == account }) { missing.append("account \(account)") }
        for org in sharing.organizations where !permissions.contains(where: { $0.organizationARN == org }) { missing.append(org) }
        for ou in sharing.organizationalUnits where !permissions.contains(where: { $0.organizationalUnitARN == ou }) { missing.append(ou) }
        return missing.isEmpty ? nil : "not shared yet with " + missing.joined(separator: ", ")
    }

    /// Checks every current AMI and writes `/kiln/<recipe>/latest` and `/kiln/<recipe>/<version>` in
    /// each region where it is ready; `dryRun` checks without writing. Returns the parameters and the
    /// AMIs that were not ready.
    public func publish(_ document: CatalogDocument, dryRun: Bool,
                        note: (String) -> Void = { _ in }) throws -> (parameters: [PublishedParameter], notReady: [NotReady]) {
        var parameters: [PublishedParameter] = []
        var notReady: [NotReady] = []
        for entry in document.current(target: .ami) {
            for (region, ami) in entry.amis.sorted(by: { $0.key < $1.key }) {
                let reason: String?
                do {
                    reason = try problem(ami: ami, region: region, sharing: entry.sharing)
                } catch {
                    throw CatalogError.aws("checking \(ami) (\(entry.recipe)) in \(region)", "\(error)")
                }
                if let reason {
                    notReady.append(NotReady(recipe: entry.recipe, region: region, ami: ami, reason: reason))
                    note("\(entry.recipe): \(ami) in \(region) not published: \(reason)")
                    continue
                }
                var names = [PageRenderer.latestParameter(recipe: entry.recipe)]
                let versioned = PageRenderer.versionParameter(recipe: entry.recipe, version: entry.version)
                if Publisher.isValidParameterName(versioned) {
                    names.append(versioned)
                } else {
                    note("warning: \(versioned) is not a valid SSM parameter name (letters, digits, . - _ /); only \(names[0]) is written")
                }
                let ssm = try SSMClient(config: config(in: region))
                for name in names {
                    if !dryRun {
                        do {
                            try ssm.putParameter(PutParameterRequest(
                                name: name, value: ami, type: .string, dataType: .ec2Image, overwrite: true,
                                description: "kiln: \(entry.recipe) \(entry.version) (\(entry.id))"))
                        } catch {
                            throw CatalogError.aws("writing \(name) in \(region)", "\(error)")
                        }
                    }
                    note("\(dryRun ? "would write" : "wrote") \(name) = \(ami) in \(region)")
                    parameters.append(PublishedParameter(region: region, name: name, value: ami, written: !dryRun))
                }
            }
        }
        return (parameters, notReady)
    }
}
