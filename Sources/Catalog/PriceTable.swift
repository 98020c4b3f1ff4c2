import Foundation

/// A small committed table of EC2 on-demand prices, for the page's "recommended instance types" and the
/// catalog's build-cost estimate. It is an ESTIMATE: prices differ by region and change over time.
///
/// Source: the EC2 on-demand price list, https://aws.amazon.com/ec2/pricing/on-demand/ — Linux,
/// us-east-1 (N. Virginia), USD per hour, as recorded on the date below. Not re-checked automatically:
/// update `recorded` together with the prices.
public enum PriceTable {
    /// Where the prices come from.
    public static let source = "https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, us-east-1, on-demand)"
    /// When they were recorded.
    public static let recorded = "2026-11-21"

    /// One instance type.
    public struct Row: Sendable, Hashable {
        /// The instance type.
        public var type: String
        /// vCPUs.
        public var vcpus: Int
        /// Memory in GiB.
        public var memoryGiB: Double
        /// GPUs.
        public var gpus: Int
        /// USD per hour, on demand, us-east-1, Linux.
        public var hourlyUSD: Double
        /// `amd64` or `arm64`.
        public var arch: String
    }

    /// The table.
    public static let rows: [Row] = [
        Row(type: "t3.medium", vcpus: 2, memoryGiB: 4, gpus: 0, hourlyUSD: 0.0416, arch: "amd64"),
        Row(type: "t3.large", vcpus: 2, memoryGiB: 8, gpus: 0, hourlyUSD: 0.0832, arch: "amd64"),
        Row(type: "t3.xlarge", vcpus: 4, memoryGiB: 16, gpus: 0, hourlyUSD: 0.1664, arch: "amd64"),
        Row(type: "t3a.large", vcpus: 2, memoryGiB: 8, gpus: 0, hourlyUSD: 0.0752, arch: "amd64"),
        Row(type: "m7i.large", vcpus: 2, memoryGiB: 8, gpus: 0, hourlyUSD: 0.1008, arch: "amd64"),
        Row(type: "m7i.xlarge", vcpus: 4, memoryGiB: 16, gpus: 0, hourlyUSD: 0.2016, arch: "amd64"),
        Row(type: "r7i.large", vcpus: 2, memoryGiB: 16, gpus: 0, hourlyUSD: 0.1323, arch: "amd64"),
        Row(type: "t4g.large", vcpus: 2, memoryGiB: 8, gpus: 0, hourlyUSD: 0.0672, arch: "arm64"),
        Row(type: "m7g.large", vcpus: 2, memoryGiB: 8, gpus: 0, hourlyUSD: 0.0816, arch: "arm64"),
        Row(type: "m7g.xlarge", vcpus: 4, memoryGiB: 16, gpus: 0, hourlyUSD: 0.1632, arch: "arm64"),
        Row(type: "g4dn.xlarge", vcpus: 4, memoryGiB: 16, gpus: 1, hourlyUSD: 0.526, arch: "amd64"),
        Row(type: "g5.xlarge", vcpus: 4, memoryGiB: 16, gpus: 1, hourlyUSD: 1.006, arch: "amd64"),
    ]

    /// The row for an instance type, when the table has it.
    public static func row(_ type: String) -> Row? { rows.first { $0.type == type } }

    /// The hourly price of an instance type, when the table has it.
    public static func hourly(_ type: String) -> Double? { row(type)?.hourlyUSD }

    /// Instance types to recommend for an image: the recipe's own `ami.instance_types` when it names
    /// some, else a small and a larger general-purpose type for its architecture, GPU types when it
    /// builds on the CUDA recipe.
    public static func recommended(recipeTypes: [String], arch: String?, lineage: [String]) -> [String] {
        if lineage.contains("cuda") { return ["g4dn.xlarge", "g5.xlarge"] }
        if !recipeTypes.isEmpty { return recipeTypes }
        return arch == "arm64" ? ["t4g.large", "m7g.xlarge"] : ["t3.large", "m7i.xlarge"]
    }

    /// The estimated cost of a build: its duration at the build instance type's hourly price (nil when
    /// the table lacks the type). Storage and data transfer are not counted.
    public static func buildCost(seconds: Double, instanceType: String?) -> Double? {
        guard let instanceType, let price = hourly(instanceType) else { return nil }
        return (price * seconds / 3600 * 10000).rounded() / 10000
    }
}
