import Foundation
import Recipe

/// `images/catalog.json`: every image kiln built, history included (schema in docs/catalog.md).
public struct CatalogDocument: Codable, Sendable, Equatable {
    /// The schema version this kiln writes.
    public static let currentFormat = 1

    /// The schema version of the file.
    public var format: Int
    /// Every recorded build, oldest first.
    public var images: [CatalogEntry]

    /// An empty catalog.
    public init(format: Int = CatalogDocument.currentFormat, images: [CatalogEntry] = []) {
        self.format = format
        self.images = images
    }

    /// Every recipe hash some recorded image was built from (both the recipe hash `kiln plan` computes and
    /// the hash with resolved bases, when the build recorded one).
    public var hashes: Set<String> {
        Set(images.flatMap { [$0.hash] + ($0.resolvedHash.map { [$0] } ?? []) })
    }

    /// Adds a build: it becomes the current image of its recipe and target, and the previous current one
    /// stays in the history with `current: false`. An entry with the same build ID is replaced.
    public mutating func record(_ entry: CatalogEntry) {
        var entry = entry
        entry.current = true
        entry.deleted = nil
        for index in images.indices where images[index].recipe == entry.recipe && images[index].target == entry.target {
            images[index].current = false
        }
        images.removeAll { $0.id == entry.id && !entry.id.isEmpty }
        images.append(entry)
    }

    /// Folds in the builds of another catalog (a CI build job's): each entry whose build ID is not here yet
    /// is recorded, in the other catalog's order, so the newest becomes current. Returns the IDs added.
    @discardableResult
    public mutating func merge(_ other: CatalogDocument) -> [String] {
        var added: [String] = []
        for entry in other.images where entry.id.isEmpty || !images.contains(where: { $0.id == entry.id }) {
            if entry.id.isEmpty, images.contains(where: { $0.recipe == entry.recipe && $0.hash == entry.hash && $0.target == entry.target }) {
                continue
            }
            if entry.deleted == nil { record(entry) } else { images.append(entry) }
            added.append(entry.id)
        }
        return added
    }

    /// The current image of each recipe for a target, by recipe name (sorted).
    public func current(target: Target) -> [CatalogEntry] {
        images.filter { $0.target == target && $0.current && $0.deleted == nil }.sorted { $0.recipe < $1.recipe }
    }

    /// The recipe names in the catalog, sorted.
    public var recipes: [String] { Array(Set(images.map(\.recipe))).sorted() }
}

/// One build of one recipe for one target.
public struct CatalogEntry: Codable, Sendable, Equatable {
    /// The build ID (`julia-20261121-203000-3fa9`).
    public var id: String
    /// The recipe's name.
    public var recipe: String
    /// The recipe's version.
    public var version: String
    /// `ami` or `oci`.
    public var target: Target
    /// The recipe hash `kiln plan` compares (`sha256:…`; the resolved recipe and its local files).
    public var hash: String
    /// The hash with the resolved bases folded in, when the build computed one (OCI builds).
    public var resolvedHash: String?
    /// The kiln version that built it.
    public var kilnVersion: String
    /// When the build finished (UTC).
    public var builtAt: Date?
    /// How long the build took, in seconds.
    public var seconds: Double
    /// What the base resolved to.
    public var base: ResolvedBase
    /// Region → AMI ID (AMI builds).
    public var amis: [String: String]
    /// Who may launch the AMIs (the same in every region).
    public var sharing: Sharing?
    /// The OCI image (OCI builds).
    public var oci: OCIImage?
    /// The image's size in bytes: the OCI layers compressed, or the AMI's volumes.
    public var sizeBytes: Int64?
    /// What the build cost, roughly, in US dollars (instance hours at the price table's rate).
    public var estimatedCostUSD: Double?
    /// The architecture.
    public var arch: String?
    /// Instance types recommended for running it.
    public var instanceTypes: [String]
    /// What is inside: the recipe's parameters and pinned packages.
    public var contents: Contents
    /// One line saying what it is for.
    public var description: String?
    /// Whether this is the image to hand out for its recipe and target.
    public var current: Bool
    /// When `kiln gc` removed it (its AMIs are deregistered and their snapshots deleted).
    public var deleted: Date?

    /// What a base resolved to.
    public struct ResolvedBase: Codable, Sendable, Equatable {
        /// Region → base AMI ID.
        public var amis: [String: String]
        /// The base image's digest (or a debootstrap layer digest).
        public var digest: String?
        /// Creates a record.
        public init(amis: [String: String] = [:], digest: String? = nil) {
            self.amis = amis
            self.digest = digest
        }
    }

    /// Launch permissions.
    public struct Sharing: Codable, Sendable, Equatable {
        /// Public to every account.
        public var `public`: Bool
        /// Account IDs.
        public var accounts: [String]
        /// Organization ARNs.
        public var organizations: [String]
        /// Organizational unit ARNs.
        public var organizationalUnits: [String]
        /// Creates a record.
        public init(public: Bool = false, accounts: [String] = [], organizations: [String] = [], organizationalUnits: [String] = []) {
            self.public = `public`
            self.accounts = accounts
            self.organizations = organizations
            self.organizationalUnits = organizationalUnits
        }
        /// Whether anyone besides the owner may launch it.
        public var isShared: Bool { self.public || !accounts.isEmpty || !organizations.isEmpty || !organizationalUnits.isEmpty }
    }

    /// Where an OCI image is.
    public struct OCIImage: Codable, Sendable, Equatable {
        /// `registry/repository` it was pushed to (nil when only written to a layout).
        public var repository: String?
        /// The manifest digest.
        public var digest: String
        /// The tags pushed.
        public var tags: [String]
        /// The platform (`linux/amd64`).
        public var platform: String?
        /// Creates a record.
        public init(repository: String?, digest: String, tags: [String], platform: String? = nil) {
            self.repository = repository
            self.digest = digest
            self.tags = tags
            self.platform = platform
        }
        /// `repository@digest`, the reference that never moves.
        public var pinnedReference: String? { repository.map { "\($0)@\(digest)" } }
    }

    /// The pinned versions a student sees on the page.
    public struct Contents: Codable, Sendable, Equatable {
        /// The recipe's parameters (versions are parameters in the standard recipes).
        public var params: [String: String]
        /// apt packages as written (`name=version` when pinned).
        public var apt: [String]
        /// pip packages as written (`name==version` when pinned).
        public var pip: [String]
        /// The recipes folded in, base first.
        public var lineage: [String]
        /// Creates a record.
        public init(params: [String: String] = [:], apt: [String] = [], pip: [String] = [], lineage: [String] = []) {
            self.params = params
            self.apt = apt
            self.pip = pip
            self.lineage = lineage
        }
        /// The contents of a resolved recipe, for a target.
        public init(_ recipe: ResolvedRecipe, target: Target) {
            var apt: [String] = []
            var pip: [String] = []
            for step in recipe.steps(for: target) {
                switch step.action {
                case .apt(let a): apt += a.packages
                case .pip(let p): pip += p.packages
                default: break
                }
            }
            self.init(params: recipe.params, apt: apt, pip: pip, lineage: recipe.lineage)
        }
    }

    /// Creates an entry.
    public init(id: String, recipe: String, version: String, target: Target, hash: String, resolvedHash: String? = nil,
                kilnVersion: String, builtAt: Date?, seconds: Double, base: ResolvedBase = ResolvedBase(),
                amis: [String: String] = [:], sharing: Sharing? = nil, oci: OCIImage? = nil, sizeBytes: Int64? = nil,
                estimatedCostUSD: Double? = nil, arch: String? = nil, instanceTypes: [String] = [],
                contents: Contents = Contents(), description: String? = nil, current: Bool = true, deleted: Date? = nil) {
        self.id = id
        self.recipe = recipe
        self.version = version
        self.target = target
        self.hash = hash
        self.resolvedHash = resolvedHash
        self.kilnVersion = kilnVersion
        self.builtAt = builtAt
        self.seconds = seconds
        self.base = base
        self.amis = amis
        self.sharing = sharing
        self.oci = oci
        self.sizeBytes = sizeBytes
        self.estimatedCostUSD = estimatedCostUSD
        self.arch = arch
        self.instanceTypes = instanceTypes
        self.contents = contents
        self.description = description
        self.current = current
        self.deleted = deleted
    }

    private enum CodingKeys: String, CodingKey {
        case id, recipe, version, target, hash, resolvedHash, kilnVersion, builtAt, seconds, base, amis, sharing, oci
        case sizeBytes, estimatedCostUSD, arch, instanceTypes, contents, description, current, deleted
    }

    /// Reads an entry; only `recipe` and `hash` are required (hand-written entries and older files).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        recipe = try c.decode(String.self, forKey: .recipe)
        hash = try c.decode(String.self, forKey: .hash)
        id = try c.decodeIfPresent(String.self, forKey: .id) ?? ""
        version = try c.decodeIfPresent(String.self, forKey: .version) ?? ""
        target = try c.decodeIfPresent(Target.self, forKey: .target) ?? .ami
        resolvedHash = try c.decodeIfPresent(String.self, forKey: .resolvedHash)
        kilnVersion = try c.decodeIfPresent(String.self, forKey: .kilnVersion) ?? ""
        builtAt = try c.decodeIfPresent(Date.self, forKey: .builtAt)
        seconds = try c.decodeIfPresent(Double.self, forKey: .seconds) ?? 0
        base = try c.decodeIfPresent(ResolvedBase.self, forKey: .base) ?? ResolvedBase()
        amis = try c.decodeIfPresent([String: String].self, forKey: .amis) ?? [:]
        sharing = try c.decodeIfPresent(Sharing.self, forKey: .sharing)
        oci = try c.decodeIfPresent(OCIImage.self, forKey: .oci)
        sizeBytes = try c.decodeIfPresent(Int64.self, forKey: .sizeBytes)
        estimatedCostUSD = try c.decodeIfPresent(Double.self, forKey: .estimatedCostUSD)
        arch = try c.decodeIfPresent(String.self, forKey: .arch)
        instanceTypes = try c.decodeIfPresent([String].self, forKey: .instanceTypes) ?? []
        contents = try c.decodeIfPresent(Contents.self, forKey: .contents) ?? Contents()
        description = try c.decodeIfPresent(String.self, forKey: .description)
        current = try c.decodeIfPresent(Bool.self, forKey: .current) ?? false
        deleted = try c.decodeIfPresent(Date.self, forKey: .deleted)
    }
}

extension CatalogEntry.Sharing {
    /// The sharing a recipe asks for.
    public init(_ sharing: AMISharing?) {
        self.init(public: sharing?.isPublic ?? false, accounts: sharing?.accounts ?? [],
                  organizations: sharing?.organizations ?? [], organizationalUnits: sharing?.organizationalUnits ?? [])
    }
}

extension CatalogEntry {
    /// The entry of a finished build, with everything the recipe itself says: version, description,
    /// contents, architecture, recommended instance types and (AMI) sharing and the build's estimated
    /// cost at the build instance type's price. The caller adds what the build produced (AMIs, OCI image,
    /// resolved base, size).
    public init(building recipe: ResolvedRecipe, target: Target, id: String, hash: String, kilnVersion: String,
                builtAt: Date, seconds: Double) {
        self.init(id: id, recipe: recipe.name, version: recipe.version, target: target, hash: hash,
                  kilnVersion: kilnVersion, builtAt: builtAt, seconds: seconds,
                  sharing: target == .ami ? Sharing(recipe.ami.share) : nil,
                  estimatedCostUSD: target == .ami ? PriceTable.buildCost(seconds: seconds, instanceType: recipe.ami.instanceTypes?.first) : nil,
                  arch: recipe.arch.rawValue,
                  instanceTypes: PriceTable.recommended(recipeTypes: recipe.ami.instanceTypes ?? [], arch: recipe.arch.rawValue,
                                                        lineage: recipe.lineage),
                  contents: Contents(recipe, target: target), description: recipe.description)
    }
}
