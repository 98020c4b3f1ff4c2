import AWSCore
import EC2
import Foundation

/// Which AMI builds `kiln gc` removes: per recipe, every build older than the newest `keep`, except
/// the one the catalog marks current (it is never removed, whatever `keep` says).
public enum Retention {
    /// The entries to remove, oldest first. `recipes` limits it to those recipes (empty: all).
    public static func expired(_ document: CatalogDocument, keep: Int, recipes: [String] = []) -> [CatalogEntry] {
        var expired: [CatalogEntry] = []
        for recipe in document.recipes where recipes.isEmpty || recipes.contains(recipe) {
            let live = document.images.enumerated()
                .filter { $0.element.recipe == recipe && $0.element.target == .ami && $0.element.deleted == nil && !$0.element.amis.isEmpty }
                // Newest first: by build time, then by position in the file (later is newer).
                .sorted { a, b in
                    let (ta, tb) = (a.element.builtAt ?? .distantPast, b.element.builtAt ?? .distantPast)
                    return ta != tb ? ta > tb : a.offset > b.offset
                }
                .map(\.element)
            for (rank, entry) in live.enumerated() where rank >= max(0, keep) && !entry.current {
                expired.append(entry)
            }
        }
        return expired.sorted { ($0.builtAt ?? .distantPast) < ($1.builtAt ?? .distantPast) }
    }

    /// Marks entries deleted at `date` (matched by build ID, or by recipe, hash and AMIs when an entry has none).
    public static func markDeleted(_ removed: [CatalogEntry], in document: inout CatalogDocument, at date: Date) {
        for index in document.images.indices {
            let image = document.images[index]
            if removed.contains(where: { same($0, image) }) {
                document.images[index].deleted = date
                document.images[index].current = false
            }
        }
    }

    static func same(_ a: CatalogEntry, _ b: CatalogEntry) -> Bool {
        if !a.id.isEmpty || !b.id.isEmpty { return a.id == b.id }
        return a.recipe == b.recipe && a.hash == b.hash && a.amis == b.amis && a.target == b.target
    }
}

/// What `kiln gc` did (or would do) to one AMI in one region.
public struct RemovedImage: Codable, Sendable, Equatable {
    /// The recipe.
    public var recipe: String
    /// The build ID.
    public var build: String
    /// The region.
    public var region: String
    /// The AMI ID.
    public var ami: String
    /// Its snapshots.
    public var snapshots: [String]
    /// Whether it was deprecated first (false when the call failed or in a dry run).
    public var deprecated: Bool
    /// Whether the AMI was already gone.
    public var alreadyGone: Bool
}

/// Removes AMIs from AWS: deprecate (so no new launch picks it up while the rest runs), deregister,
/// then delete its snapshots (a deregistered AMI's snapshots stay, and are billed, until deleted).
public struct ImageCollector: Sendable {
    /// The AWS configuration; its region is replaced by each AMI's region.
    public var config: AWSConfig
    /// The clock, for the deprecation time.
    public var clock: @Sendable () -> Date

    /// A collector.
    public init(config: AWSConfig, clock: @escaping @Sendable () -> Date = Date.init) {
        self.config = config
        self.clock = clock
    }

    /// Removes the AMIs of one catalog entry in every region; `dryRun` only looks. Failing to deprecate
    /// is reported through `note` and does not stop the removal (moto, for one, lacks the call).
    public func remove(_ entry: CatalogEntry, dryRun: Bool, note: (String) -> Void = { _ in }) throws -> [RemovedImage] {
        var removed: [RemovedImage] = []
        for (region, ami) in entry.amis.sorted(by: { $0.key < $1.key }) {
            var regional = config
            regional.region = region
            let ec2 = try EC2Client(config: regional)
            let image: Image?
            do {
                image = try ec2.describeImages(imageIDs: [ami]).first
            } catch let error as AWSError where error.code.hasPrefix("InvalidAMIID") {
                image = nil
            } catch {
                throw CatalogError.aws("describing \(ami) in \(region)", "\(error)")
            }
            guard let image else {
                note("\(entry.recipe): \(ami) in \(region) is already gone")
                removed.append(RemovedImage(recipe: entry.recipe, build: entry.id, region: region, ami: ami, snapshots: [],
                                            deprecated: false, alreadyGone: true))
                continue
            }
            let snapshots = image.snapshotIDs
            var record = RemovedImage(recipe: entry.recipe, build: entry.id, region: region, ami: ami, snapshots: snapshots,
                                      deprecated: false, alreadyGone: false)
            if dryRun {
                note("would remove \(ami) in \(region) (\(entry.recipe) \(entry.version), \(entry.id)) and snapshots \(snapshots.joined(separator: ", "))")
                removed.append(record)
                continue
            }
            do {
                // AWS rounds to the minute and refuses the past: one minute ahead.
                record.deprecated = try ec2.enableImageDeprecation(imageID: ami, deprecateAt: clock().addingTimeInterval(60))
            } catch {
                note("warning: could not deprecate \(ami) in \(region) (\(error)); removing it anyway")
            }
            do {
                try ec2.deregisterImage(imageID: ami)
                for snapshot in snapshots { try ec2.deleteSnapshot(snapshotID: snapshot) }
            } catch {
                throw CatalogError.aws("removing \(ami) in \(region)", "\(error)")
            }
            note("removed \(ami) in \(region) (\(entry.recipe) \(entry.version)) and snapshots \(snapshots.joined(separator: ", "))")
            removed.append(record)
        }
        return removed
    }
}
