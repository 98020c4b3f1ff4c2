import EC2
import Foundation
import Recipe
import SSM

/// What an AMI base names today, so `kiln plan --resolve-bases` sees a new upstream image (a new
/// Canonical AMI behind an SSM parameter or a name filter) as a changed recipe. It resolves as the AMI
/// pipeline's first step does: an ID as written, an SSM parameter's value, or the newest available image
/// matching the name filter, of these owners, for the recipe's architecture.
public enum BaseResolver {
    /// The label a resolved AMI base has in the recipe hash (`RecipeHash.compute(_:resolvedBases:)`).
    public static func amiLabel(region: String) -> String { "ami:\(region)" }

    /// The recipe hash with an AMI base folded in: what an AMI build records as `resolvedHash`.
    public static func amiHash(_ recipe: ResolvedRecipe, region: String, baseAMI: String) throws -> String {
        try RecipeHash.compute(recipe, resolvedBases: [amiLabel(region: region): baseAMI])
    }

    /// The AMI ID a base resolves to in the clients' region.
    public static func resolve(_ base: AMIBase, arch: Architecture, ec2: EC2Client, ssm: SSMClient) throws -> String {
        do {
            switch base {
            case .id(let id):
                return id
            case .ssm(let path):
                return try ssm.getParameter(name: path).value
            case .filter(let name, let owners):
                let images = try ec2.describeImages(owners: owners, filters: [
                    EC2.Filter(name: "name", values: [name]), EC2.Filter(name: "state", values: ["available"]),
                    EC2.Filter(name: "architecture", values: [arch.ec2Name]),
                ])
                guard let newest = images.max(by: { ($0.creationDate ?? .distantPast) < ($1.creationDate ?? .distantPast) }) else {
                    throw CatalogError.aws("resolving the base AMI '\(name)' in \(ec2.region)",
                                           "no available image of \(owners.joined(separator: ", ")) matches")
                }
                return newest.imageID
            }
        } catch let error as CatalogError {
            throw error
        } catch {
            throw CatalogError.aws("resolving the base AMI in \(ec2.region)", "\(error)")
        }
    }
}
