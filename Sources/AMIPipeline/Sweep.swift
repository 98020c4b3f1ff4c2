import Foundation
import AWSCore
import EC2
import Pipeline

/// Something a build left behind.
public struct Leftover: Sendable, Codable, Equatable {
    /// `instance`, `security-group`, `image`, `snapshot`.
    public var kind: String
    /// Its ID.
    public var id: String
    /// Its region.
    public var region: String
    /// The build that made it.
    public var buildID: String
}

/// Finds and removes what kiln builds left behind: everything tagged `kiln:build-id` by a build that
/// is not running now — instances that are not terminated, security groups, AMIs without the
/// `kiln:complete` mark (a build that never finished) and the snapshots of such AMIs, and snapshots no
/// AMI uses any more.
public struct Sweeper: Sendable {
    /// EC2 clients, one per region to sweep.
    public var regions: [EC2Client]
    /// Builds that are still running (their resources are left alone).
    public var runningBuilds: Set<String>

    /// Creates a sweeper.
    public init(regions: [EC2Client], runningBuilds: Set<String>) {
        self.regions = regions
        self.runningBuilds = runningBuilds
    }

    /// The build IDs of journals in `directory` whose kiln process is still alive and unfinished.
    public static func runningBuilds(journals directory: String) -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var running: Set<String> = []
        for file in files where file.hasSuffix(".json") {
            guard let record = try? Journal.load(path: (directory as NSString).appendingPathComponent(file)) else { continue }
            if record.finishedAt == nil, kill(pid_t(record.pid), 0) == 0 { running.insert(record.buildID) }
        }
        return running
    }

    /// What would be removed.
    public func find() throws -> [Leftover] {
        var found: [Leftover] = []
        let tagged = [EC2.Filter(name: "tag-key", values: ["kiln:build-id"])]
        for ec2 in regions {
            let region = ec2.region
            func build(_ tags: [EC2.Tag]) -> String? {
                guard let id = tags.value(for: "kiln:build-id"), !runningBuilds.contains(id) else { return nil }
                return id
            }
            for instance in try ec2.describeInstances(filters: tagged) where instance.state.name != .terminated {
                if let id = build(instance.tags) { found.append(Leftover(kind: "instance", id: instance.instanceID, region: region, buildID: id)) }
            }
            for group in try ec2.describeSecurityGroups(filters: tagged) {
                if let id = build(group.tags) { found.append(Leftover(kind: "security-group", id: group.groupID, region: region, buildID: id)) }
            }
            // Images and snapshots are filtered by tag here, not by the API (moto ignores `tag-key` on them;
            // an account's own images and snapshots are few).
            let images = try ec2.describeImages(owners: ["self"]).filter { $0.tags.value(for: "kiln:build-id") != nil }
            var keptSnapshots: Set<String> = []
            for image in images {
                let snapshots = image.blockDeviceMappings.compactMap { $0.ebs?.snapshotID }
                if image.tags.value(for: "kiln:complete") == "true" || build(image.tags) == nil {
                    keptSnapshots.formUnion(snapshots)
                    continue
                }
                if let id = build(image.tags) { found.append(Leftover(kind: "image", id: image.imageID, region: region, buildID: id)) }
            }
            let snapshots = try ec2.describeSnapshots(ownerIDs: ["self"]).filter { $0.tags.value(for: "kiln:build-id") != nil }
            for snapshot in snapshots where !keptSnapshots.contains(snapshot.snapshotID) {
                if let id = build(snapshot.tags) { found.append(Leftover(kind: "snapshot", id: snapshot.snapshotID, region: region, buildID: id)) }
            }
        }
        return found
    }

    /// Removes leftovers in dependency order (instances, then images, snapshots, security groups),
    /// each confirmed gone.
    public func remove(_ leftovers: [Leftover], context: PipelineContext) throws {
        let order = ["instance", "image", "snapshot", "security-group"]
        for kind in order {
            for leftover in leftovers where leftover.kind == kind {
                guard let ec2 = regions.first(where: { $0.region == leftover.region }) else { continue }
                context.progress.cleaning("\(kind) \(leftover.id) in \(leftover.region) (build \(leftover.buildID))")
                switch kind {
                case "instance":
                    try Cleanup.until(gone: "instance \(leftover.id)", context: context, delete: {
                        _ = try ec2.terminateInstances(instanceIDs: [leftover.id])
                    }, isGone: {
                        try ec2.describeInstances(instanceIDs: [leftover.id]).allSatisfy { $0.state.name == .terminated }
                    })
                case "image":
                    try Cleanup.until(gone: "AMI \(leftover.id)", context: context, delete: {
                        try ec2.deregisterImage(imageID: leftover.id)
                    }, isGone: {
                        do { return try ec2.describeImages(imageIDs: [leftover.id]).isEmpty } catch let error as AWSError where error.code.hasPrefix("InvalidAMIID") { return true }
                    })
                case "snapshot":
                    try Cleanup.until(gone: "snapshot \(leftover.id)", context: context, delete: {
                        try ec2.deleteSnapshot(snapshotID: leftover.id)
                    }, isGone: {
                        do { return try ec2.describeSnapshots(snapshotIDs: [leftover.id]).isEmpty } catch let error as AWSError where error.code == "InvalidSnapshot.NotFound" { return true }
                    })
                default:
                    try Cleanup.until(gone: "security group \(leftover.id)", context: context, delete: {
                        try ec2.deleteSecurityGroup(groupID: leftover.id)
                    }, isGone: {
                        do { return try ec2.describeSecurityGroups(groupIDs: [leftover.id]).isEmpty } catch let error as AWSError where error.code == "InvalidGroup.NotFound" { return true }
                    })
                }
            }
        }
    }
}
