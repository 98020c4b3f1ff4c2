import Foundation
import AWSCore
import EC2
import KilnArchive
import Pipeline
import protocol Pipeline.Step
import Recipe
import S3
import SSM

// The typed stages of an AMI build. Each step's output carries what later steps need; a step that
// creates something journals it before and after the create call, and its cleanup removes it (and
// confirms it gone) unless the build succeeded and the thing is a product (the AMIs).

/// The base AMI is known.
struct Based: Sendable {
    var input: BuildInput
    var baseAMI: String
    /// The base image's root device (`/dev/sda1` on Ubuntu, `/dev/xvda` on Amazon Linux and Debian).
    var rootDevice: String
}

/// The instance's reporting channel and user-data are ready.
struct Prepared: Sendable {
    var based: Based
    var bucket: String
    var logKey: String
    var resultKey: String
    var userData: [UInt8]
    var expiresAt: Date
    var tags: [EC2.Tag]
}

/// The temporary security group exists.
struct Secured: Sendable {
    var prepared: Prepared
    var groupID: String
}

/// The build instance is running.
struct Launched: Sendable {
    var secured: Secured
    var instanceID: String
    var instanceType: String
    var spot: Bool
}

/// The instance reported success and stopped.
struct Reported: Sendable {
    var launched: Launched
    var result: InstanceResult
}

/// The AMI exists and is available in the build region.
struct Imaged: Sendable {
    var reported: Reported
    var imageID: String
    var name: String
}

/// The AMIs of every region.
struct Copied: Sendable {
    var imaged: Imaged
    var amis: [String: String]
}

/// The end of the pipeline.
struct Finished: Sendable {
    var copied: Copied
}

extension Imaged {
    var recipe: ResolvedRecipe { reported.launched.secured.prepared.based.input.recipe }
    var tags: [EC2.Tag] { reported.launched.secured.prepared.tags }
}

/// Resolves the recipe's AMI base: an ID, an SSM parameter, or the newest image matching a name and owners.
struct ResolveBase: Step {
    let builder: AMIBuilder
    var name: String { "resolve base AMI" }

    func run(_ input: BuildInput, _ context: PipelineContext) throws -> Based {
        guard let base = input.recipe.base.ami else {
            throw AMIBuildError("recipe '\(input.recipe.name)' has no AMI base: add base: {ami: …}")
        }
        let ami: String
        switch base {
        case .id(let id):
            ami = id
        case .ssm(let path):
            ami = try builder.clients.ssm.getParameter(name: path).value
        case .filter(let name, let owners):
            let images = try builder.clients.ec2.describeImages(owners: owners, filters: [
                EC2.Filter(name: "name", values: [name]), EC2.Filter(name: "state", values: ["available"]),
                EC2.Filter(name: "architecture", values: [input.recipe.arch.ec2Name]),
            ])
            guard let newest = images.max(by: { ($0.creationDate ?? .distantPast) < ($1.creationDate ?? .distantPast) }) else {
                throw AMIBuildError("no available image named '\(name)' owned by \(owners.joined(separator: ", ")) in \(builder.clients.region)")
            }
            ami = newest.imageID
        }
        guard let image = try builder.clients.ec2.describeImages(imageIDs: [ami]).first else {
            throw AMIBuildError("the base AMI \(ami) does not exist in \(builder.clients.region)")
        }
        guard image.rootDeviceType == nil || image.rootDeviceType == "ebs" else {
            throw AMIBuildError("the base AMI \(ami) is instance-store backed; kiln builds EBS-backed AMIs")
        }
        context.progress.note("base AMI: \(ami)")
        return Based(input: input, baseAMI: ami, rootDevice: image.rootDeviceName ?? "/dev/sda1")
    }
}

/// Makes sure the log bucket exists (with an expiry rule), presigns the log and result uploads, and
/// renders the user-data for this build.
struct PrepareReporting: Step {
    let builder: AMIBuilder
    var name: String { "prepare reporting" }

    func run(_ based: Based, _ context: PipelineContext) throws -> Prepared {
        let recipe = based.input.recipe
        let options = builder.options
        let bucket: String
        if let named = options.bucket {
            bucket = named
        } else {
            let account = try builder.clients.sts.getCallerIdentity().account
            bucket = "kiln-builds-\(account)-\(builder.clients.region)"
        }
        try builder.clients.s3.createBucket(bucket)
        if options.bucket == nil {
            // kiln's own bucket: its logs expire. A bucket the user names keeps the rules it has
            // (PutBucketLifecycleConfiguration replaces them all).
            try builder.clients.s3.putBucketLifecycleConfiguration(bucket: bucket, rules: [
                LifecycleRule(id: "kiln-build-logs", prefix: "builds/", expirationDays: options.logRetentionDays),
            ])
        }
        let prefix = "builds/\(recipe.name)/\(options.buildID)"
        let timeout = TimeInterval((recipe.ami.timeoutMinutes ?? UserDataRenderer.defaultTimeoutMinutes) * 60)
        let expires = Int(timeout + options.reportGrace + 3600)
        let logURL = try builder.clients.s3.presignedURL(method: "PUT", bucket: bucket, key: "\(prefix)/build.log", expires: expires)
        let resultURL = try builder.clients.s3.presignedURL(method: "PUT", bucket: bucket, key: "\(prefix)/result.json", expires: expires)
        let script = try UserDataRenderer.render(recipe, hash: based.input.hash, context: InstanceContext(
            buildID: options.buildID, logURL: logURL, resultURL: resultURL, kilnVersion: options.kilnVersion))
        let payload = try UserDataRenderer.payload(script, recipePath: recipe.path)
        if payload.compressed { context.progress.note("user-data: \(script.utf8.count) bytes, sent gzip-compressed (\(payload.bytes.count))") }
        let expiresAt = context.clock().addingTimeInterval(timeout + options.reportGrace)
        return Prepared(based: based, bucket: bucket, logKey: "\(prefix)/build.log", resultKey: "\(prefix)/result.json",
                        userData: payload.bytes, expiresAt: expiresAt,
                        tags: builder.tags(recipe, hash: based.input.hash, expiresAt: expiresAt))
    }
}

/// A temporary security group with no inbound rule (nothing listens; the instance only reaches out).
struct CreateSecurityGroup: Step {
    let builder: AMIBuilder
    var name: String { "create security group" }

    func run(_ prepared: Prepared, _ context: PipelineContext) throws -> Secured {
        let ec2 = builder.clients.ec2
        let recipe = prepared.based.input.recipe
        // Without a subnet, CreateSecurityGroup puts the group in the default VPC by itself.
        let vpc = try recipe.ami.subnetID.flatMap { try ec2.describeSubnets(subnetIDs: [$0]).first?.vpcID }
        let groupName = "kiln-\(builder.options.buildID)"
        let entry = try context.journal.creating(kind: "security-group", region: builder.clients.region, token: groupName, step: name)
        let result: CreateSecurityGroupResult
        do {
            result = try ec2.createSecurityGroup(groupName: groupName, description: "kiln build \(builder.options.buildID): no inbound access",
                                                 vpcID: vpc, tagSpecifications: [TagSpecification(resourceType: "security-group", tags: prepared.tags)])
        } catch let error as AWSError where error.code == "InvalidGroup.Duplicate" {
            // A retry after a lost answer: the group exists already.
            guard let existing = try ec2.describeSecurityGroups(filters: [EC2.Filter(name: "group-name", values: [groupName])]).first else { throw error }
            result = CreateSecurityGroupResult(groupID: existing.groupID, tags: [])
        }
        try context.journal.created(entry, id: result.groupID)
        return Secured(prepared: prepared, groupID: result.groupID)
    }

    func cleanup(_ output: Secured?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
        let ec2 = builder.clients.ec2
        // The journal's IDs, and whatever carries this build's tag (a create whose answer was lost).
        var ids = Set(context.journal.record.entries.filter { $0.kind == "security-group" && $0.state != "deleted" }.compactMap(\.id))
        if let output { ids.insert(output.groupID) }
        if context.journal.record.entries.contains(where: { $0.kind == "security-group" && $0.id == nil }) {
            ids.formUnion(try ec2.describeSecurityGroups(filters: builder.buildTag).map(\.groupID))
        }
        try eachConfirmed(ids.sorted()) { try deleteSecurityGroup($0, ec2: ec2, context: context) }
    }
}

/// Launches the build instance: IMDSv2 only, encrypted gp3 root, stops on shutdown, no key pair, tagged,
/// idempotent by ClientToken; spot first when asked, then on-demand, through the instance types in order.
struct LaunchInstance: Step {
    let builder: AMIBuilder
    var name: String { "launch instance" }

    static let capacityErrors: Set<String> = [
        "InsufficientInstanceCapacity", "SpotMaxPriceTooLow", "MaxSpotInstanceCountExceeded", "InsufficientCapacity",
        "Unsupported", "UnfulfillableCapacity", "InstanceLimitExceeded",
    ]

    func run(_ secured: Secured, _ context: PipelineContext) throws -> Launched {
        let prepared = secured.prepared
        let recipe = prepared.based.input.recipe
        let types = recipe.ami.instanceTypes ?? [recipe.arch == .arm64 ? "t4g.large" : "t3.large"]
        let markets = recipe.ami.spot == true ? [true, false] : [false]
        var lastError: Error?
        for spot in markets {
            for type in types {
                try context.checkCancelled()
                let token = builder.clientToken("\(spot ? "spot" : "od")-\(type)")
                let entry = try context.journal.creating(kind: "instance", region: builder.clients.region, token: token, step: name)
                let encrypted = !builder.isShared(recipe)
                var volumes = [BlockDeviceMapping(deviceName: prepared.based.rootDevice, ebs: EbsBlockDevice(
                    deleteOnTermination: true, encrypted: encrypted, volumeSize: recipe.ami.rootVolumeGB ?? 16, volumeType: "gp3"))]
                if let data = recipe.ami.dataVolume {
                    volumes.append(BlockDeviceMapping(deviceName: data.device, ebs: EbsBlockDevice(
                        deleteOnTermination: true, encrypted: encrypted, volumeSize: data.sizeGB, volumeType: "gp3")))
                }
                let request = RunInstancesRequest(
                    imageID: prepared.based.baseAMI, instanceType: type, clientToken: token, userData: prepared.userData,
                    securityGroupIDs: [secured.groupID], subnetID: recipe.ami.subnetID, blockDeviceMappings: volumes,
                    instanceInitiatedShutdownBehavior: .stop, metadataOptions: .imdsV2Required,
                    // Spot: a persistent request whose interruption stops the instance, so that the
                    // instance-initiated power-off stops it (one-time spot requests terminate).
                    instanceMarketOptions: spot ? InstanceMarketOptionsRequest(spotOptions: SpotMarketOptions(
                        spotInstanceType: "persistent", instanceInterruptionBehavior: "stop")) : nil,
                    tagSpecifications: [TagSpecification(resourceType: "instance", tags: prepared.tags),
                                        TagSpecification(resourceType: "volume", tags: prepared.tags)])
                do {
                    let reservation = try builder.clients.ec2.runInstances(request)
                    guard let instance = reservation.instances.first else {
                        throw AMIBuildError("RunInstances returned no instance")
                    }
                    try context.journal.created(entry, id: instance.instanceID)
                    context.progress.note("instance \(instance.instanceID) (\(type), \(spot ? "spot" : "on-demand"))")
                    return Launched(secured: secured, instanceID: instance.instanceID, instanceType: type, spot: spot)
                } catch let error as AWSError where LaunchInstance.capacityErrors.contains(error.code) {
                    context.progress.note("no capacity for \(type) \(spot ? "spot" : "on-demand"): \(error.code); trying the next choice")
                    lastError = error
                }
            }
        }
        throw lastError ?? AMIBuildError("no instance type to launch")
    }

    func cleanup(_ output: Launched?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
        // Every instance the journal knows of (a launch may have succeeded without an answer).
        var ids = Set(context.journal.record.entries.filter { $0.kind == "instance" && $0.state != "deleted" }.compactMap(\.id))
        if let output { ids.insert(output.instanceID) }
        let ec2 = builder.clients.ec2
        // A launch whose answer was lost (a journal entry without an ID) is found by the build's tag.
        if context.journal.record.entries.contains(where: { $0.kind == "instance" && $0.id == nil }) {
            ids.formUnion(try ec2.describeInstances(filters: builder.buildTag).filter { $0.state.name != .terminated }.map(\.instanceID))
        }
        try eachConfirmed(ids.sorted()) { try terminateInstance($0, ec2: ec2, context: context) }
    }
}

/// Waits for the instance's own report: the result record in S3 (or the console's result line) and
/// the stopped state; shows the instance's step markers as they arrive on the console.
struct WaitForReport: Step {
    let builder: AMIBuilder
    var name: String { "wait for the instance's report" }

    func run(_ launched: Launched, _ context: PipelineContext) throws -> Reported {
        let prepared = launched.secured.prepared
        let ec2 = builder.clients.ec2
        var shownMarkers = 0
        var consoleReadAt = Date.distantPast
        while true {
            try context.checkCancelled()
            // The console: markers as they arrive (best effort; EC2 refreshes it only every few
            // minutes, so it is read at most every 30 s).
            if context.clock().timeIntervalSince(consoleReadAt) >= 30,
               let console = try? ec2.getConsoleOutput(instanceID: launched.instanceID, latest: true).output {
                consoleReadAt = context.clock()
                let markers = console.split(whereSeparator: \.isNewline).filter { $0.contains("::kiln:: ") }
                for marker in markers.dropFirst(shownMarkers) { context.progress.note("  instance: \(marker)") }
                shownMarkers = max(shownMarkers, markers.count)
            }
            let state = try ec2.describeInstances(instanceIDs: [launched.instanceID]).first?.state.name
            if state == .stopped {
                return try conclude(launched, prepared: prepared, context: context, stoppedState: state)
            }
            if state == .terminated || state == .shuttingDown {
                throw AMIBuildError("the build instance was terminated (\(state?.rawValue ?? "?")) before it could be imaged; no image was made",
                                    logPath: nil)
            }
            if context.clock() > prepared.expiresAt {
                throw AMIBuildError("the instance did not report within the recipe's timeout (\(prepared.based.input.recipe.ami.timeoutMinutes ?? UserDataRenderer.defaultTimeoutMinutes) minutes and \(Int(builder.options.reportGrace)) s of grace); no image was made")
            }
            try context.sleep(builder.options.pollInterval)
        }
    }

    private func conclude(_ launched: Launched, prepared: Prepared, context: PipelineContext,
                          stoppedState: InstanceStateName?) throws -> Reported {
        let s3 = builder.clients.s3
        let record = (try? s3.getObject(bucket: prepared.bucket, key: prepared.resultKey).body)
            .flatMap { try? JSONDecoder().decode(InstanceResult.self, from: Data($0)) }
        // When the instance could not reach S3, its console's result line is the fallback.
        let fromConsole = record != nil ? nil : (try? builder.clients.ec2.getConsoleOutput(instanceID: launched.instanceID).output)
            .flatMap { InstanceResult.fromConsole($0, buildID: builder.options.buildID) }
        guard let result = record ?? fromConsole else {
            let logPath = saveLog(prepared: prepared)
            throw AMIBuildError("the instance stopped without a result record or a console result line (\(stoppedState?.rawValue ?? "?")); no image was made",
                                logPath: logPath, logTail: tail(logPath))
        }
        if record == nil { context.progress.note("no result record in S3: using the instance's console result line") }
        guard result.build_id == builder.options.buildID else {
            throw AMIBuildError("the result record belongs to build \(result.build_id), not \(builder.options.buildID)")
        }
        guard result.status == "succeeded", result.exit_code == 0 else {
            let logPath = saveLog(prepared: prepared)
            throw AMIBuildError("step \(result.failed_step ?? "?") failed on the instance (exit \(result.exit_code)); no image was made",
                                logPath: logPath, logTail: tail(logPath))
        }
        context.progress.note("the instance reported success: \(result.steps.count) steps and tests")
        return Reported(launched: launched, result: result)
    }

    /// Downloads the build log to `.kiln/logs/<build-id>.log`; nil when there is none.
    private func saveLog(prepared: Prepared) -> String? {
        let directory = builder.options.logsDirectory
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = (directory as NSString).appendingPathComponent("\(builder.options.buildID).log")
        guard (try? builder.clients.s3.getObject(bucket: prepared.bucket, key: prepared.logKey, to: path)) != nil else { return nil }
        return path
    }

    private func tail(_ path: String?) -> [String] {
        guard let path, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return Array(text.split(separator: "\n").suffix(20).map(String.init))
    }
}

/// Snapshots the stopped instance into an AMI, tagged with its snapshots, and waits until it is available.
struct CreateImage: Step {
    let builder: AMIBuilder
    var name: String { "create image" }

    func run(_ reported: Reported, _ context: PipelineContext) throws -> Imaged {
        let prepared = reported.launched.secured.prepared
        let recipe = prepared.based.input.recipe
        let imageName = recipe.ami.name ?? "kiln/\(recipe.name)/\(recipe.version)/\(RecipeHash.short(prepared.based.input.hash))-\(builder.options.buildID)"
        let ec2 = builder.clients.ec2
        let entry = try context.journal.creating(kind: "image", region: builder.clients.region, token: imageName, step: name)
        let imageID: String
        do {
            imageID = try ec2.createImage(CreateImageRequest(instanceID: reported.launched.instanceID, name: imageName,
                                                             description: recipe.description,
                                                             tagSpecifications: [TagSpecification(resourceType: "image", tags: prepared.tags)]))
        } catch let error as AWSError where error.code == "InvalidAMIName.Duplicate" {
            // CreateImage takes no ClientToken: after a lost answer the retry finds the image it made.
            guard let existing = try ec2.describeImages(owners: ["self"], filters: [EC2.Filter(name: "name", values: [imageName])])
                .first(where: { $0.tags.value(for: "kiln:build-id") == builder.options.buildID }) else { throw error }
            imageID = existing.imageID
        }
        try context.journal.created(entry, id: imageID)
        try builder.waitAvailable(imageID, ec2: ec2, tags: prepared.tags, context: context)
        context.progress.note("AMI \(imageID) available in \(builder.clients.region)")
        return Imaged(reported: reported, imageID: imageID, name: imageName)
    }

    func cleanup(_ output: Imaged?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
        guard outcome != .succeeded else { return }
        try builder.removeImages(in: builder.clients.region, context: context)
    }
}

/// Copies the AMI to every extra region in parallel, tagged, and waits for each copy.
struct CopyToRegions: Step {
    let builder: AMIBuilder
    var name: String { "copy to regions" }

    func run(_ imaged: Imaged, _ context: PipelineContext) throws -> Copied {
        let regions = (imaged.recipe.ami.regions ?? []).filter { $0 != builder.clients.region }
        let collected = Collected(amis: [builder.clients.region: imaged.imageID])
        DispatchQueue.concurrentPerform(iterations: regions.count) { index in
            let region = regions[index]
            do {
                let ec2 = try builder.clients.ec2.inRegion(region)
                let token = builder.clientToken("copy-\(region)")
                let entry = try context.journal.creating(kind: "image", region: region, token: token, step: name)
                let copy = try ec2.copyImage(CopyImageRequest(sourceImageID: imaged.imageID, sourceRegion: builder.clients.region,
                                                              name: imaged.name, description: imaged.recipe.description,
                                                              clientToken: token,
                                                              tagSpecifications: [TagSpecification(resourceType: "image", tags: imaged.tags)]))
                try context.journal.created(entry, id: copy)
                try builder.waitAvailable(copy, ec2: ec2, tags: imaged.tags, context: context)
                context.progress.note("AMI \(copy) available in \(region)")
                collected.add(region: region, ami: copy)
            } catch {
                collected.fail("\(region): \(error)")
            }
        }
        let (amis, failures) = collected.snapshot
        if !failures.isEmpty { throw AMIBuildError("copying the AMI failed: " + failures.joined(separator: "; ")) }
        return Copied(imaged: imaged, amis: amis)
    }

    func cleanup(_ output: Copied?, outcome: PipelineOutcome, _ context: PipelineContext) throws {
        guard outcome != .succeeded else { return }
        let regions = Set((output?.imaged.recipe.ami.regions ?? []) + context.journal.record.entries.filter { $0.kind == "image" }.map(\.region))
        try eachConfirmed(regions.subtracting([builder.clients.region]).sorted()) { try builder.removeImages(in: $0, context: context) }
    }
}

/// Launch permissions (public, accounts, organizations, OUs) in every region, and deprecation.
struct ShareAndDeprecate: Step {
    let builder: AMIBuilder
    var name: String { "share and deprecate" }

    func run(_ copied: Copied, _ context: PipelineContext) throws -> Finished {
        let recipe = copied.imaged.recipe
        let share = recipe.ami.share ?? AMISharing()
        var permissions: [LaunchPermission] = []
        if share.isPublic == true { permissions.append(LaunchPermission(group: "all")) }
        permissions += (share.accounts ?? []).map { LaunchPermission(userID: $0) }
        permissions += (share.organizations ?? []).map { LaunchPermission(organizationARN: $0) }
        permissions += (share.organizationalUnits ?? []).map { LaunchPermission(organizationalUnitARN: $0) }
        let regions = try copied.amis.sorted(by: { $0.key < $1.key }).map { ($0.value, try builder.clients.ec2.inRegion($0.key)) }
        // Every region's block-public-access state first, so that no region is made public before one refuses.
        if share.isPublic == true {
            for (_, ec2) in regions {
                // moto does not implement this call; a failure to ask is not a refusal.
                if let state = try? ec2.getImageBlockPublicAccessState().imageBlockPublicAccessState, state != "unblocked" {
                    throw AMIBuildError("the account blocks public AMI sharing in \(ec2.region) (\(state)): allow it with `aws ec2 disable-image-block-public-access --region \(ec2.region)`, or set share.public: false")
                }
            }
        }
        for (ami, ec2) in regions {
            try context.checkCancelled()
            if !permissions.isEmpty {
                try ec2.modifyImageAttribute(imageID: ami, launchPermission: LaunchPermissionModifications(add: permissions))
            }
            if let days = recipe.ami.deprecateAfterDays {
                _ = try ec2.enableImageDeprecation(imageID: ami, deprecateAt: context.clock().addingTimeInterval(TimeInterval(days) * 86400))
            }
        }
        // The mark of a finished build, last: `kiln sweep` never removes an AMI that carries it.
        for (ami, ec2) in regions {
            try ec2.createTags(resourceIDs: [ami], tags: [EC2.Tag(key: "kiln:complete", value: "true")])
        }
        return Finished(copied: copied)
    }
}

/// Results of the parallel copies, behind a lock.
private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var amis: [String: String]
    private var failures: [String] = []

    init(amis: [String: String]) { self.amis = amis }
    func add(region: String, ami: String) { lock.withLock { amis[region] = ami } }
    func fail(_ message: String) { lock.withLock { failures.append(message) } }
    var snapshot: ([String: String], [String]) { lock.withLock { (amis, failures) } }
}
