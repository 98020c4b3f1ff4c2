/// The image configuration: what the image runs and how its layers stack (OCI image-spec v1.1 config.md).
public struct ImageConfig: Hashable, Sendable, Codable {
    /// When the image was created, RFC 3339 (e.g. `2024-01-01T00:00:00Z`).
    public var created: String?
    /// Who created the image.
    public var author: String?
    /// The CPU architecture (Go GOARCH), e.g. `amd64`.
    public var architecture: String
    /// The operating system (Go GOOS), e.g. `linux`.
    public var os: String
    /// The CPU variant, e.g. `v8`.
    public var variant: String?
    /// The default execution parameters (JSON `config`).
    public var config: ExecutionConfig?
    /// The layer diff IDs (JSON `rootfs`).
    public var rootfs: RootFS
    /// How each layer was made.
    public var history: [History]?

    /// Makes a config.
    public init(architecture: String, os: String, config: ExecutionConfig? = nil, rootfs: RootFS,
                history: [History]? = nil, created: String? = nil, author: String? = nil, variant: String? = nil) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
        self.history = history
        self.created = created
        self.author = author
        self.variant = variant
    }

    /// The execution parameters of a container (config.md, `config`); JSON keys are capitalised as in the spec.
    public struct ExecutionConfig: Hashable, Sendable, Codable {
        /// `user`, `uid`, `user:group` or `uid:gid`.
        public var user: String?
        /// Ports to expose, e.g. `8888/tcp`, each mapped to `{}`.
        public var exposedPorts: [String: EmptyObject]?
        /// `NAME=value` entries.
        public var env: [String]?
        /// The command's leading arguments.
        public var entrypoint: [String]?
        /// The default arguments after the entrypoint.
        public var cmd: [String]?
        /// Directories to mount as volumes, each mapped to `{}`.
        public var volumes: [String: EmptyObject]?
        /// The working directory.
        public var workingDir: String?
        /// Arbitrary metadata.
        public var labels: [String: String]?
        /// The signal that stops the container, e.g. `SIGTERM`.
        public var stopSignal: String?

        /// Makes execution parameters.
        public init(user: String? = nil, exposedPorts: [String: EmptyObject]? = nil, env: [String]? = nil,
                    entrypoint: [String]? = nil, cmd: [String]? = nil, volumes: [String: EmptyObject]? = nil,
                    workingDir: String? = nil, labels: [String: String]? = nil, stopSignal: String? = nil) {
            self.user = user
            self.exposedPorts = exposedPorts
            self.env = env
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.volumes = volumes
            self.workingDir = workingDir
            self.labels = labels
            self.stopSignal = stopSignal
        }

        private enum CodingKeys: String, CodingKey {
            case user = "User", exposedPorts = "ExposedPorts", env = "Env", entrypoint = "Entrypoint", cmd = "Cmd"
            case volumes = "Volumes", workingDir = "WorkingDir", labels = "Labels", stopSignal = "StopSignal"
        }
    }

    /// The layers' uncompressed digests, base first (config.md, `rootfs`).
    public struct RootFS: Hashable, Sendable, Codable {
        /// Always `layers`.
        public var type: String
        /// The SHA-256 of each layer's uncompressed tar, in manifest order.
        public var diffIDs: [Digest]

        /// Makes a rootfs of type `layers`.
        public init(diffIDs: [Digest]) {
            type = "layers"
            self.diffIDs = diffIDs
        }

        private enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }

    /// One step of the image's history (config.md, `history`).
    public struct History: Hashable, Sendable, Codable {
        /// When the step ran, RFC 3339.
        public var created: String?
        /// Who ran it.
        public var author: String?
        /// The command that made the layer.
        public var createdBy: String?
        /// A free-form comment.
        public var comment: String?
        /// True when the step made no layer.
        public var emptyLayer: Bool?

        /// Makes a history entry.
        public init(created: String? = nil, author: String? = nil, createdBy: String? = nil,
                    comment: String? = nil, emptyLayer: Bool? = nil) {
            self.created = created
            self.author = author
            self.createdBy = createdBy
            self.comment = comment
            self.emptyLayer = emptyLayer
        }

        private enum CodingKeys: String, CodingKey {
            case created, author, comment
            case createdBy = "created_by"
            case emptyLayer = "empty_layer"
        }
    }
}

/// The JSON object `{}`, the value type of `ExposedPorts` and `Volumes`.
public struct EmptyObject: Hashable, Sendable, Codable {
    /// The empty object.
    public init() {}
    /// Decodes any JSON object, ignoring its members.
    public init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: AnyKey.self)
    }
    /// Encodes `{}`.
    public func encode(to encoder: any Encoder) throws {
        _ = encoder.container(keyedBy: AnyKey.self)
    }
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
