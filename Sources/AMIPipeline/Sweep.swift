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
/// is not running here and whose `kiln:expires-at` has passed (or with `force`) — instances that are not terminated, security groups, AMIs without the
/// `kiln:complete` mark (a build that never finished) and the snapshots of such AMIs, and snapshots no
/// AMI uses any more.
public struct Sweeper: Sendable {
    /// EC2 clients, one per region to sweep.
    public var regions: [EC2Client]
    /// Builds that are still running (their resources are left alone).
    public var runningBuilds: Set<String>
    /// Also remove what carries a `kiln:expires-at` still in the future (a build that may still be running
    /// on another machine); off by default.
    public var force: Bool
    /// The current time, for `kiln:expires-at`.
    public var now: Date

    /// Creates a sweeper.
    public init(regions: [EC2Client], runningBuilds: Set<String>, force: Bool = false, now: Date = Date()) {
        self.regions = regions
        self.runningBuilds = runningBuilds
        self.force = force
        self.now = now
    }

    /// The build IDs of journals in `directory` whose kiln process is still alive and unfinished
    /// (a process we may not signal, EPERM, is alive too).
    public static func runningBuilds(journals directory: String) -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var running: Set<String> = []
        for file in files where file.hasSuffix(".json") {
            guard let record = try? Journal.load(path: (directory as NSString).appendingPathComponent(file)) else { continue }
            if record.finishedAt == nil, kill(pid_t(record.pid), 0) == 0 || errno == EPERM { running.insert(record.buildID) }
        }
        return running
    }

    /// The regions named in the journals in `directory` (where builds made copies).
    public static func journalRegions(_ directory: String) -> Set<String> {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return Set(files.filter { $0.hasSuffix(".json") }.compactMap {
            try? Journal.load(path: (directory as NSString).appendingPathComponent($0))
        }.flatMap { $0.entries.map(\.region) })
    }

    /// What would be removed.
    public func find() throws -> [Leftover] {
        var found: [Leftover] = []
        let tagged = [EC2.Filter(name: "tag-key", values: ["kiln:build-id"])]
        for ec2 in regions {
            let region = ec2.region
            func build(_ tags: [EC2.Tag]) -> String? {
                guard let id = tags.value(for: "kiln:build-id"), !runningBuilds.contains(id) else { return nil }
                // A build whose deadline has not passed may be running elsewhere (CI, a colleague's laptop).
                if !force, let expires = tags.value(for: "kiln:expires-at").flatMap({ ISO8601DateFormatter().date(from: $0) }),
                   expires > now { return nil }
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

    /// Removes leftovers in dependency order (instances, then images with their snapshots, snapshots,
    /// security groups), each confirmed gone; carries on past failures and reports them at the end.
    public func remove(_ leftovers: [Leftover], context: PipelineContext) throws {
        let order = ["instance", "image", "snapshot", "security-group"]
        var failures: [String] = []
        for kind in order {
            for leftover in leftovers where leftover.kind == kind {
                guard let ec2 = regions.first(where: { $0.region == leftover.region }) else { continue }
                do {
                    switch kind {
                    case "instance": try terminateInstance(leftover.id, ec2: ec2, context: context)
                    case "image": try deregisterWithSnapshots(leftover.id, ec2: ec2, context: context)
                    case "snapshot":
                        let already = context.journal.record.entries.contains { $0.kind == "snapshot" && $0.id == leftover.id && $0.state == "deleted" }
                        if !already { try deleteSnapshot(leftover.id, ec2: ec2, context: context) }
                    default: try deleteSecurityGroup(leftover.id, ec2: ec2, context: context)
                    }
                } catch {
                    failures.append("\(kind) \(leftover.id) in \(leftover.region): \(error)")
                }
            }
        }
        if !failures.isEmpty { throw AMIBuildError("sweep could not remove: " + failures.joined(separator: "; ")) }
    }
}
