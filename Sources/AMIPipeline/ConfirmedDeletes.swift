import Foundation
import AWSCore
import EC2
import KilnCrypto
import Pipeline
import Recipe

// Deleting what a build made, each deletion confirmed by a describe call: one set of helpers for the
// pipeline's cleanups and for `kiln sweep`.

extension AMIBuilder {
    /// The filter that finds everything this build tagged (what a lost create answer leaves behind too).
    var buildTag: [EC2.Filter] { [EC2.Filter(name: "tag:kiln:build-id", values: [options.buildID])] }

    /// A ClientToken within EC2's 64 characters: a digest of the build ID, then a readable suffix.
    func clientToken(_ suffix: String) -> String {
        "kiln-" + String(SHA256.hash(options.buildID).hex.prefix(16)) + "-" + String(suffix.prefix(40))
    }

    /// Whether the recipe shares the AMI: then its volumes cannot be encrypted with the default EBS key.
    func isShared(_ recipe: ResolvedRecipe) -> Bool {
        guard let share = recipe.ami.share else { return false }
        return share.isPublic == true || !(share.accounts ?? []).isEmpty || !(share.organizations ?? []).isEmpty
            || !(share.organizationalUnits ?? []).isEmpty
    }

    /// Waits (cancellably) until an image is available, then tags it and its snapshots.
    func waitAvailable(_ imageID: String, ec2: EC2Client, tags: [EC2.Tag], context: PipelineContext) throws {
        let deadline = context.clock().addingTimeInterval(options.imageTimeout)
        while true {
            let image = try ec2.describeImages(imageIDs: [imageID]).first
            switch image?.state {
            case .some(.available):
                let snapshots = image?.blockDeviceMappings.compactMap { $0.ebs?.snapshotID } ?? []
                try ec2.createTags(resourceIDs: [imageID] + snapshots, tags: tags)
                context.progress.note("AMI \(imageID) available in \(ec2.region)")
                return
            case .some(.failed), .some(.error), .some(.invalid), .some(.deregistered):
                throw AMIBuildError("AMI \(imageID) in \(ec2.region) became \(image?.state.rawValue ?? "?"): \(image?.stateReason?.message ?? "no reason given")")
            default:
                guard context.clock() < deadline else {
                    throw AMIBuildError("AMI \(imageID) in \(ec2.region) was not available after \(Int(options.imageTimeout)) s")
                }
                try context.sleep(options.pollInterval)
            }
        }
    }

    /// Deregisters every image of this build in a region (the journal's and the tagged ones) with its snapshots.
    func removeImages(in region: String, context: PipelineContext) throws {
        let ec2 = try clients.ec2.inRegion(region)
        var ids = Set(context.journal.record.entries.filter { $0.kind == "image" && $0.region == region && $0.state != "deleted" }
            .compactMap(\.id))
        ids.formUnion(try ec2.describeImages(owners: ["self"]).filter { $0.tags.value(for: "kiln:build-id") == options.buildID }
            .map(\.imageID))
        try eachConfirmed(ids.sorted()) { try deregisterWithSnapshots($0, ec2: ec2, context: context) }
    }
}

/// Runs `body` for every item even when some fail; throws one error listing the failures.
func eachConfirmed(_ items: [String], _ body: (String) throws -> Void) throws {
    var failures: [String] = []
    for item in items {
        do { try body(item) } catch { failures.append("\(item): \(error)") }
    }
    if !failures.isEmpty {
        throw AMIBuildError("could not remove everything: " + failures.joined(separator: "; ") + " — `kiln sweep` retries")
    }
}

/// Terminates an instance and waits until it is terminated.
func terminateInstance(_ id: String, ec2: EC2Client, context: PipelineContext) throws {
    context.progress.cleaning("terminate instance \(id) in \(ec2.region)")
    try Cleanup.until(gone: "instance \(id)", context: context, delete: {
        do { _ = try ec2.terminateInstances(instanceIDs: [id]) } catch let error as AWSError where error.code == "InvalidInstanceID.NotFound" {}
    }, isGone: {
        do {
            return try ec2.describeInstances(instanceIDs: [id]).allSatisfy { $0.state.name == .terminated }
        } catch let error as AWSError where error.code == "InvalidInstanceID.NotFound" { return true }
    })
    try context.journal.deleted(kind: "instance", id: id)
}

/// Deletes a security group and confirms it gone.
func deleteSecurityGroup(_ id: String, ec2: EC2Client, context: PipelineContext) throws {
    context.progress.cleaning("delete security group \(id) in \(ec2.region)")
    try Cleanup.until(gone: "security group \(id)", context: context, delete: {
        do { try ec2.deleteSecurityGroup(groupID: id) } catch let error as AWSError where error.code == "InvalidGroup.NotFound" {}
    }, isGone: {
        do { return try ec2.describeSecurityGroups(groupIDs: [id]).isEmpty } catch let error as AWSError where error.code == "InvalidGroup.NotFound" { return true }
    })
    try context.journal.deleted(kind: "security-group", id: id)
}

/// Deregisters an AMI and deletes its snapshots — the ones its block devices name and, for an image
/// still pending, the ones whose description names it ("Created by CreateImage(…) for ami-…").
func deregisterWithSnapshots(_ imageID: String, ec2: EC2Client, context: PipelineContext) throws {
    var snapshots = Set(((try? ec2.describeImages(imageIDs: [imageID])) ?? [])
        .flatMap { $0.blockDeviceMappings.compactMap { $0.ebs?.snapshotID } })
    snapshots.formUnion(((try? ec2.describeSnapshots(ownerIDs: ["self"])) ?? [])
        .filter { $0.description?.contains(imageID) == true }.map(\.snapshotID))
    context.progress.cleaning("deregister AMI \(imageID) in \(ec2.region)")
    try Cleanup.until(gone: "AMI \(imageID)", context: context, delete: {
        do { try ec2.deregisterImage(imageID: imageID) } catch let error as AWSError where error.code.hasPrefix("InvalidAMIID") {}
    }, isGone: {
        do { return try ec2.describeImages(imageIDs: [imageID]).allSatisfy { $0.state == .deregistered } } catch let error as AWSError where error.code.hasPrefix("InvalidAMIID") { return true }
    })
    try context.journal.deleted(kind: "image", id: imageID)
    try eachConfirmed(snapshots.sorted()) { try deleteSnapshot($0, ec2: ec2, context: context) }
}

/// Deletes a snapshot and confirms it gone.
func deleteSnapshot(_ id: String, ec2: EC2Client, context: PipelineContext) throws {
    context.progress.cleaning("delete snapshot \(id) in \(ec2.region)")
    try Cleanup.until(gone: "snapshot \(id)", context: context, delete: {
        do { try ec2.deleteSnapshot(snapshotID: id) } catch let error as AWSError where error.code == "InvalidSnapshot.NotFound" {}
    }, isGone: {
        do { return try ec2.describeSnapshots(snapshotIDs: [id]).isEmpty } catch let error as AWSError where error.code == "InvalidSnapshot.NotFound" { return true }
    })
    try context.journal.deleted(kind: "snapshot", id: id)
}
