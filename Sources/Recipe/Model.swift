/// The version of the recipe language; part of every recipe hash, so a change in how recipes are
/// interpreted marks every image as changed.
public let recipeFormatVersion = 1

/// What a recipe can be built into.
public enum Target: String, Sendable, Codable, CaseIterable {
    /// An Amazon Machine Image, provisioned through user-data on a temporary EC2 instance.
    case ami
    /// An OCI image, assembled daemonlessly from layers.
    case oci
}

/// The CPU architecture an image is built for (Debian's names).
public enum Architecture: String, Sendable, Codable, CaseIterable {
    /// x86-64.
    case amd64
    /// 64-bit ARM (Graviton).
    case arm64

    /// The kernel's name for it (`uname -m`), as many download URLs use.
    public var unameName: String { self == .amd64 ? "x86_64" : "aarch64" }
    /// EC2's name for it in RegisterImage / DescribeImages.
    public var ec2Name: String { self == .amd64 ? "x86_64" : "arm64" }
}

/// A source position carried by a model value without taking part in its encoding (and so in its hash).
@propertyWrapper
public struct NotEncoded<Value: Sendable & Hashable>: Sendable, Hashable, Encodable {
    /// The wrapped value.
    public var wrappedValue: Value
    /// Wraps a value.
    public init(wrappedValue: Value) { self.wrappedValue = wrappedValue }
    /// Encodes nothing.
    public func encode(to encoder: Encoder) throws {}
}

extension KeyedEncodingContainer {
    /// Skips `@NotEncoded` properties entirely (no key is written).
    public mutating func encode<T>(_ value: NotEncoded<T>, forKey key: Key) throws {}
}

/// Where a recipe's AMI starts from.
public enum AMIBase: Sendable, Hashable, Encodable {
    /// A fixed AMI ID (`ami-…`), valid in the build region.
    case id(String)
    /// An SSM parameter whose value is an AMI ID (e.g. Canonical's `/aws/service/canonical/…`).
    case ssm(String)
    /// The newest image whose name matches a pattern (`*` wildcards), owned by one of these accounts or aliases.
    case filter(name: String, owners: [String])
}

/// Where a recipe's OCI image starts from.
public enum OCIBase: Sendable, Hashable, Encodable {
    /// An image in a registry; pinned when the reference carries `@sha256:…`.
    case image(String)
    /// A local OCI image layout directory (relative to the recipe) and the tag or digest in it.
    case layout(path: String, reference: String)
    /// A Debian or Ubuntu root built locally with debootstrap.
    case debootstrap(suite: String, mirror: String, variant: String)
    /// An empty image.
    case scratch

    /// True when the base names its content exactly (a digest, a local layout or a locally built root).
    public var isPinned: Bool {
        switch self {
        case .image(let reference): return reference.contains("@sha256:")
        case .layout, .debootstrap, .scratch: return true
        }
    }
}

/// The bases of a recipe, one per target; a target without a base cannot be built.
public struct Bases: Sendable, Hashable, Encodable {
    /// The AMI base.
    public var ami: AMIBase?
    /// The OCI base.
    public var oci: OCIBase?
    /// Creates bases.
    public init(ami: AMIBase? = nil, oci: OCIBase? = nil) { self.ami = ami; self.oci = oci }
}

/// A signed APT repository to add before installing packages (deb822 source with `Signed-By`).
public struct AptRepository: Sendable, Hashable, Encodable {
    /// A short name, used for the keyring and sources file names.
    public var name: String
    /// The repository's base URL.
    public var url: String
    /// The suite (e.g. `noble-cran40/`, or `/` for flat repositories).
    public var suite: String
    /// The components (empty for flat repositories).
    public var components: [String]
    /// Where the signing key is downloaded from.
    public var keyURL: String
    /// The key's full fingerprint (40 hex digits); the download must match it.
    public var keyFingerprint: String
}

/// Install Debian packages with apt, optionally from extra signed repositories.
public struct AptStep: Sendable, Hashable, Encodable {
    /// Package names, optionally pinned `name=version`.
    public var packages: [String]
    /// Repositories added (with their pinned keys) before installing.
    public var repositories: [AptRepository]
    /// Whether recommended packages are installed too (default false).
    public var recommends: Bool
}

/// Install Python packages with pip.
public struct PipStep: Sendable, Hashable, Encodable {
    /// Requirement specifiers (`numpy==2.1.3`).
    public var packages: [String]
    /// A requirements file next to the recipe (its bytes are part of the recipe hash).
    public var requirements: String?
    /// The Python interpreter to use.
    public var python: String
    /// An index URL other than PyPI.
    public var indexURL: String?
    /// Pass `--break-system-packages` (for the distribution's own Python, PEP 668).
    public var breakSystemPackages: Bool
}

/// Download a file, verify its sha256, and place it or extract it.
public struct FetchStep: Sendable, Hashable, Encodable {
    /// The URL (http or https).
    public var url: String
    /// The expected sha256 of the downloaded bytes (64 lowercase hex digits).
    public var sha256: String
    /// Absolute destination file path (exclusive with `extract`).
    public var dest: String?
    /// Absolute directory to extract the archive into (exclusive with `dest`).
    public var extract: String?
    /// Leading path components dropped when extracting.
    public var stripComponents: Int
    /// Octal file mode for `dest` (e.g. `0755`).
    public var mode: String?
    /// `uid:gid` owner of what is placed.
    public var owner: String?
}

/// A local file or directory copied into the image.
public struct FileCopy: Sendable, Hashable, Encodable {
    /// Path relative to the recipe's directory (a file or a directory, copied recursively).
    public var src: String
    /// Absolute destination path.
    public var dest: String
    /// Octal mode; when absent, 0755 for executable files and 0644 otherwise.
    public var mode: String?
    /// `uid:gid` owner (default `0:0`).
    public var owner: String?
}

/// A shell script run as a step.
public struct RunStep: Sendable, Hashable, Encodable {
    /// The script, run by bash with `set -Eeuo pipefail`.
    public var script: String
    /// Run as this user instead of root.
    public var user: String?
    /// Working directory (default `/`).
    public var workdir: String?
    /// Where the script's first line is in the recipe, for mapping shell errors back to it.
    @NotEncoded public var scriptStart: SourcePosition
}

/// One environment variable set for later steps and in the finished image.
public struct EnvVar: Sendable, Hashable, Encodable {
    /// The variable's name.
    public var name: String
    /// The value; `$NAME` and `${NAME}` refer to variables set earlier or by the base.
    public var value: String
}

/// What a step does: exactly one kind per step.
public enum StepAction: Sendable, Hashable, Encodable {
    /// A shell script.
    case run(RunStep)
    /// Debian packages.
    case apt(AptStep)
    /// Python packages.
    case pip(PipStep)
    /// A verified download.
    case fetch(FetchStep)
    /// Local files.
    case files([FileCopy])
    /// Environment variables.
    case env([EnvVar])

    /// The kind's key in the recipe (`run`, `apt`, …).
    public var kind: String {
        switch self {
        case .run: "run"
        case .apt: "apt"
        case .pip: "pip"
        case .fetch: "fetch"
        case .files: "files"
        case .env: "env"
        }
    }
}

/// One named step of a recipe.
public struct Step: Sendable, Hashable, Encodable {
    /// The step's name, unique in its recipe.
    public var name: String
    /// The recipe that declared the step.
    public var recipe: String
    /// The step's identity in a composed recipe: `recipe/name`.
    public var id: String { "\(recipe)/\(name)" }
    /// Limits the step to one target.
    public var only: Target?
    /// Limits the step to some architectures.
    public var arch: [Architecture]?
    /// What the step does.
    public var action: StepAction
    /// Where the step is declared.
    @NotEncoded public var position: SourcePosition

    /// Whether the step takes part in a build for this target and architecture.
    public func applies(to target: Target, arch architecture: Architecture) -> Bool {
        (only == nil || only == target) && (arch?.contains(architecture) ?? true)
    }
}

/// A command that must succeed in the finished image.
public struct RecipeTest: Sendable, Hashable, Encodable {
    /// A short name for progress and failure reports.
    public var name: String
    /// The recipe that declared the test.
    public var recipe: String
    /// The command (bash).
    public var run: String
    /// Limits the test to one target.
    public var only: Target?
    /// Where the test is declared.
    @NotEncoded public var position: SourcePosition
    /// Where the command's first line is in the recipe.
    @NotEncoded public var scriptStart: SourcePosition
}

/// Who may launch the AMI.
public struct AMISharing: Sendable, Hashable, Encodable {
    /// Public to every AWS account.
    public var isPublic: Bool?
    /// Account IDs (12 digits).
    public var accounts: [String]?
    /// AWS Organizations organization ARNs.
    public var organizations: [String]?
    /// Organizational unit ARNs.
    public var organizationalUnits: [String]?

    /// Creates a sharing setting (nothing shared by default).
    public init(isPublic: Bool? = nil, accounts: [String]? = nil, organizations: [String]? = nil,
                organizationalUnits: [String]? = nil) {
        self.isPublic = isPublic
        self.accounts = accounts
        self.organizations = organizations
        self.organizationalUnits = organizationalUnits
    }
}

/// An extra EBS volume attached to instances launched from the AMI and mounted at a path.
public struct DataVolume: Sendable, Hashable, Encodable {
    /// Size in GiB.
    public var sizeGB: Int
    /// Mount point (e.g. `/data`).
    public var mount: String
    /// Device name (default `/dev/sdf`).
    public var device: String
}

/// AMI build settings; every field optional so recipes that extend others override field by field.
public struct AMISettings: Sendable, Hashable, Encodable {
    /// Instance types to try in order, on capacity errors too.
    public var instanceTypes: [String]?
    /// Use spot instances, falling back to on-demand.
    public var spot: Bool?
    /// Root volume size in GiB (gp3, encrypted).
    public var rootVolumeGB: Int?
    /// Regions the AMI is copied to, besides the build region.
    public var regions: [String]?
    /// Launch permissions.
    public var share: AMISharing?
    /// Tags on the AMI and its snapshots.
    public var tags: [String: String]?
    /// Days after the build when the AMI is marked deprecated.
    public var deprecateAfterDays: Int?
    /// The build's deadline; the instance powers itself off at this point.
    public var timeoutMinutes: Int?
    /// An extra data volume.
    public var dataVolume: DataVolume?
    /// The subnet to launch in (default: the default VPC's).
    public var subnetID: String?
    /// The AMI's name; `${{ … }}` parameters allowed. Default `kiln/<name>/<version>/<hash12>`.
    public var name: String?

    /// Field-by-field overlay: values set in `other` win; tags merge.
    func overlaid(by other: AMISettings) -> AMISettings {
        var result = self
        result.instanceTypes = other.instanceTypes ?? instanceTypes
        result.spot = other.spot ?? spot
        result.rootVolumeGB = other.rootVolumeGB ?? rootVolumeGB
        result.regions = other.regions ?? regions
        result.share = other.share ?? share
        result.tags = mergeMaps(tags, other.tags)
        result.deprecateAfterDays = other.deprecateAfterDays ?? deprecateAfterDays
        result.timeoutMinutes = other.timeoutMinutes ?? timeoutMinutes
        result.dataVolume = other.dataVolume ?? dataVolume
        result.subnetID = other.subnetID ?? subnetID
        result.name = other.name ?? name
        return result
    }
}

/// The layer compression of an OCI image.
public enum Compression: String, Sendable, Codable, CaseIterable {
    /// gzip (the default, accepted everywhere).
    case gzip
    /// zstd (smaller and faster; needs a recent runtime).
    case zstd
}

/// OCI image settings; every field optional so recipes that extend others override field by field.
public struct OCISettings: Sendable, Hashable, Encodable {
    /// The repository pushed to (e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/julia`).
    public var repository: String?
    /// Tags given to the pushed image.
    public var tags: [String]?
    /// `os/arch`, e.g. `linux/amd64`; must agree with the recipe's `arch`.
    public var platform: String?
    /// Layer compression.
    public var compression: Compression?
    /// ECR: create the repository with immutable tags (a pushed tag can never be moved).
    public var immutableTags: Bool?
    /// The user the container runs as.
    public var user: String?
    /// The container's working directory.
    public var workdir: String?
    /// The entrypoint.
    public var entrypoint: [String]?
    /// The default command.
    public var cmd: [String]?
    /// Exposed ports (`8888` or `8888/tcp`).
    public var ports: [String]?
    /// Image labels.
    public var labels: [String: String]?

    /// Field-by-field overlay: values set in `other` win; labels merge.
    func overlaid(by other: OCISettings) -> OCISettings {
        var result = self
        result.repository = other.repository ?? repository
        result.tags = other.tags ?? tags
        result.platform = other.platform ?? platform
        result.compression = other.compression ?? compression
        result.immutableTags = other.immutableTags ?? immutableTags
        result.user = other.user ?? user
        result.workdir = other.workdir ?? workdir
        result.entrypoint = other.entrypoint ?? entrypoint
        result.cmd = other.cmd ?? cmd
        result.ports = other.ports ?? ports
        result.labels = mergeMaps(labels, other.labels)
        return result
    }
}

func mergeMaps(_ a: [String: String]?, _ b: [String: String]?) -> [String: String]? {
    guard let a else { return b }
    guard let b else { return a }
    return a.merging(b) { _, new in new }
}

/// A recipe with everything it extends folded in and its parameters substituted: what gets built.
public struct ResolvedRecipe: Sendable, Encodable {
    /// The recipe language version this was read with.
    public var format: Int = recipeFormatVersion
    /// The recipe's name.
    public var name: String
    /// The recipe's version.
    public var version: String
    /// One line saying what the image is for.
    public var description: String?
    /// The architecture built for.
    public var arch: Architecture
    /// `SOURCE_DATE_EPOCH` for reproducible OCI layers, when the recipe fixes it.
    public var epoch: Int?
    /// The recipes folded in, in order (the recipe itself last).
    public var lineage: [String]
    /// The parameters after overrides, by name.
    public var params: [String: String]
    /// The bases.
    public var base: Bases
    /// The steps, parents' first.
    public var steps: [Step]
    /// The tests, parents' first.
    public var tests: [RecipeTest]
    /// AMI settings.
    public var ami: AMISettings
    /// OCI settings.
    public var oci: OCISettings
    /// The recipe file that was loaded.
    @NotEncoded public var path: String
    /// The absolute directory of the recipe that declared the OCI base (a `layout` path is relative to it).
    @NotEncoded public var baseDirectory: String = ""
    /// Local files referenced by `files` and `pip.requirements`, resolved to absolute paths, with the
    /// recipe-relative path they are known by.
    @NotEncoded public var localFiles: [LocalFile]

    /// The steps that take part in a build for a target.
    public func steps(for target: Target) -> [Step] {
        steps.filter { $0.applies(to: target, arch: arch) }
    }

    /// The tests that run for a target.
    public func tests(for target: Target) -> [RecipeTest] {
        tests.filter { $0.only == nil || $0.only == target }
    }
}

/// A local file a recipe refers to.
public struct LocalFile: Sendable, Hashable {
    /// The recipe that refers to it.
    public var recipe: String
    /// The path as written, relative to that recipe's directory.
    public var relativePath: String
    /// The path on disk.
    public var absolutePath: String
}
