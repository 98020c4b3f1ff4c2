/// The kind of a tar entry.
public enum TarEntryType: Sendable, Hashable {
    /// A regular file with data.
    case regular
    /// A directory.
    case directory
    /// A symbolic link; `TarEntry.symlinkTarget` holds the target.
    case symlink
    /// A hard link to an earlier entry; `TarEntry.hardlinkTarget` holds its path.
    case hardlink
    /// Anything else (devices, FIFOs, sockets), with the raw `AE_IF*` file type bits.
    case other(UInt32)
}

/// One entry's header, as `TarReader.next()` returns it.
public struct TarEntry: Sendable, Hashable {
    /// The path inside the archive, as stored (UTF-8).
    public var path: String
    /// What kind of entry this is.
    public var type: TarEntryType
    /// The size of the entry's data in bytes (0 for everything but regular files).
    public var size: Int64
    /// The permission bits (including setuid, setgid and sticky), without the file type.
    public var mode: UInt32
    /// The numeric owner.
    public var uid: Int64
    /// The numeric group.
    public var gid: Int64
    /// The modification time in seconds since the Unix epoch.
    public var mtime: Int64
    /// The target of a symbolic link, nil for other types.
    public var symlinkTarget: String?
    /// The path a hard link points to, nil for other types.
    public var hardlinkTarget: String?

    /// Makes an entry header (mostly useful for comparing with what a reader returns).
    public init(path: String, type: TarEntryType, size: Int64 = 0, mode: UInt32, uid: Int64 = 0, gid: Int64 = 0,
                mtime: Int64 = 0, symlinkTarget: String? = nil, hardlinkTarget: String? = nil) {
        self.path = path
        self.type = type
        self.size = size
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.mtime = mtime
        self.symlinkTarget = symlinkTarget
        self.hardlinkTarget = hardlinkTarget
    }
}
