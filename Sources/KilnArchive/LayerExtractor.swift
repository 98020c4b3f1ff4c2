#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
internal import CArchive

/// How `LayerExtractor.apply` writes a layer.
public struct ExtractOptions: Sendable {
    /// Rootless extraction: device nodes are refused, owners and privileged xattrs are not applied.
    public var rootless: Bool
    /// The largest declared size a regular file may have; nil means the free space of the target
    /// filesystem (statvfs), measured when the extraction starts.
    public var maxEntrySize: Int64?

    /// Options; `rootless` defaults to whether this process runs without root (geteuid() != 0).
    public init(rootless: Bool? = nil, maxEntrySize: Int64? = nil) {
        self.rootless = rootless ?? (geteuid() != 0)
        self.maxEntrySize = maxEntrySize
    }
}

/// What `LayerExtractor.apply` did.
public struct ExtractStats: Sendable, Hashable {
    /// Tar entries read (whiteouts included).
    public var entries: Int
    /// Bytes of regular-file data written.
    public var bytes: Int64
    /// Whiteout entries applied (`.wh.<name>` and `.wh..wh..opq`).
    public var whiteouts: Int

    /// Makes a value (for comparisons in tests).
    public init(entries: Int = 0, bytes: Int64 = 0, whiteouts: Int = 0) {
        self.entries = entries
        self.bytes = bytes
        self.whiteouts = whiteouts
    }
}

/// Applies OCI image layers (tar changesets) to a root directory, safely.
///
/// Follows OCI image-spec layer.md, "Applying Changesets" and "Whiteouts"
/// (https://github.com/opencontainers/image-spec/blob/main/layer.md):
/// - `.wh.<name>` removes `<name>` (recursively) as lower layers left it; `.wh..wh..opq` removes every
///   child of its directory that lower layers put there and keeps what this layer adds, whatever the
///   order of the entries; other `.wh..wh.` names are reserved and skipped;
/// - an entry replaces whatever lies at its path, except that a directory entry over a directory merges.
///
/// Every write goes through directory file descriptors opened from the root with `O_NOFOLLOW`, one
/// component at a time, so nothing is written outside the root. Refused, with an error naming the layer,
/// the entry and the reason: absolute paths; any `..` component; a path whose parent traverses a symbolic
/// link (whether the link came from this layer or lies in the root already: layers made from a file
/// system diff never put entries under a symlink, so kiln refuses them rather than resolve them); hard
/// links to absolute or `..` paths, to directories or to files not (yet) in the root; device nodes when
/// rootless; a regular file whose declared size exceeds `ExtractOptions.maxEntrySize`. Sockets and
/// overlayfs-style whiteouts (character device 0/0) are skipped; `trusted.overlay.*` and
/// `user.overlay.*` xattrs are never written, so the root stays usable as an overlayfs lower directory.
/// Entries already applied stay when a later entry is refused.
///
/// Data is streamed in 1 MiB chunks; memory grows only with the number of paths in the layer (kept to
/// apply opaque whiteouts and directory modes and times at the end).
public enum LayerExtractor {
    /// Applies the layer (tar, tar+gzip, tar+zstd: any filter libarchive reads) at `path` onto `root`,
    /// following OCI image-spec layer.md "Applying Changesets" and "Whiteouts".
    public static func apply(layerAt path: String, to root: String,
                             options: ExtractOptions = ExtractOptions()) throws -> ExtractStats {
        let extraction = try Extraction(layer: path, root: root, options: options)
        return try extraction.run()
    }
}

/// A path inside the root as its components (raw bytes: names need not be UTF-8).
private typealias Components = [[UInt8]]

private let pathSeparator = UInt8(ascii: "/")
private let whiteoutNamePrefix = Array(".wh.".utf8)
private let opaqueWhiteoutName = Array(".wh..wh..opq".utf8)
private let reservedWhiteoutPrefix = Array(".wh..wh.".utf8)

/// One application of one layer: the open root, the reader, and what this layer wrote so far.
private final class Extraction {
    let layer: String
    let root: String
    let options: ExtractOptions
    let rootFD: Int32
    let handle: ReadHandle
    let entry: EntryHandle
    let maxEntrySize: Int64
    let buffer: UnsafeMutableRawBufferPointer
    /// Paths (components joined by "/") this layer created or replaced, for opaque whiteouts.
    var written = Set<[UInt8]>()
    /// Directories whose mode and times are applied at the end (children change a directory's mtime,
    /// and a read-only mode would stop a rootless extraction from filling it).
    var deferred: [(path: Components, mode: mode_t, time: timespec)] = []
    var stats = ExtractStats()
    /// The entry being applied, for messages.
    var current = ""

    init(layer: String, root: String, options: ExtractOptions) throws {
        self.layer = layer
        self.root = root
        self.options = options
        guard !layer.isEmpty else { throw KilnArchiveError.invalidArgument("LayerExtractor needs a layer path") }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw KilnArchiveError.system("open", errno: errno, path: root, hint: "create the root directory first")
        }
        rootFD = fd
        if let limit = options.maxEntrySize {
            maxEntrySize = limit
        } else {
            var fs = statvfs()
            guard fstatvfs(fd, &fs) == 0 else {
                let err = errno
                close(fd)
                throw KilnArchiveError.system("fstatvfs", errno: err, path: root, hint: "check the root directory")
            }
            maxEntrySize = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        }
        do {
            handle = try ReadHandle.open(path: layer, format: { archive_read_support_format_tar($0) },
                                         formatFunction: "archive_read_support_format_tar",
                                         hint: "check that the layer exists and is a (compressed) tar archive")
            entry = try EntryHandle()
        } catch {
            close(fd)
            throw error
        }
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TarWriter.chunkSize, alignment: 16)
    }

    deinit {
        close(rootFD)
        buffer.deallocate()
    }

    func run() throws -> ExtractStats {
        let a = handle.pointer
        let e = entry.pointer
        while true {
            let result = archive_read_next_header2(a, e)
            if result == ARCHIVE_EOF { break }
            try check(result, "archive_read_next_header2", a, subject: "'\(layer)'",
                      hint: "the layer is corrupt, truncated or not a tar archive")
            stats.entries += 1
            guard let raw = bytes(archive_entry_pathname(e)) ?? bytes(archive_entry_pathname_utf8(e)) else {
                current = "#\(stats.entries)"
                throw refuse("has no path")
            }
            current = String(decoding: raw, as: UTF8.self)
            let path = try components(raw, what: "path")
            try apply(path)
        }
        try finishDirectories()
        return stats
    }

    // MARK: - Entries

    private func apply(_ path: Components) throws {
        let e = entry.pointer
        if let last = path.last, last.starts(with: whiteoutNamePrefix) {
            stats.whiteouts += 1
            try whiteout(path)
            return
        }
        let type = UInt32(archive_entry_filetype(e))
        if let target = bytes(archive_entry_hardlink(e)) ?? bytes(archive_entry_hardlink_utf8(e)) {
            try hardlink(path, to: target)
            return
        }
        if path.isEmpty {
            // "./": the root directory's own metadata.
            guard type == kiln_ae_ifdir() else { throw refuse("would replace the root directory") }
            try directory(path)
            return
        }
        switch type {
        case kiln_ae_ifreg(): try regularFile(path)
        case kiln_ae_ifdir(): try directory(path)
        case kiln_ae_iflnk(): try symlink(path)
        case kiln_ae_ifchr(), kiln_ae_ifblk(), kiln_ae_ififo(): try node(path, type: type)
        default: break  // sockets: nothing to extract
        }
    }

    private func regularFile(_ path: Components) throws {
        let e = entry.pointer
        let size = Int64(archive_entry_size(e))
        guard size <= maxEntrySize else {
            throw refuse("declares \(size) bytes, more than the \(maxEntrySize) bytes allowed "
                         + (options.maxEntrySize == nil ? "(the free space under '\(root)')" : "(ExtractOptions.maxEntrySize)"))
        }
        let parent = try openDirectory(path.dropLast(), create: true)!
        defer { close(parent) }
        let name = path[path.count - 1]
        _ = try clear(parent, name, keepDirectory: false)
        let fd = cName(name) { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        guard fd >= 0 else { throw systemError("openat", errno) }
        defer { close(fd) }
        written.insert(key(path))
        let a = handle.pointer
        while true {
            let n = archive_read_data(a, buffer.baseAddress, buffer.count)
            if n == 0 { break }
            guard n > 0 else {
                throw KilnArchiveError.libarchive("archive_read_data", a, subject: "'\(current)' in '\(layer)'",
                                                  hint: "the layer is corrupt or truncated")
            }
            var offset = 0
            while offset < n {
                let w = write(fd, buffer.baseAddress! + offset, n - offset)
                if w < 0 {
                    if errno == EINTR { continue }
                    throw systemError("write", errno)
                }
                offset += w
            }
            stats.bytes += Int64(n)
        }
        try applyMetadata(fd: fd, includingModeAndTimes: true)
    }

    private func directory(_ path: Components) throws {
        let fd: Int32
        if path.isEmpty {
            fd = openat(rootFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } else {
            let parent = try openDirectory(path.dropLast(), create: true)!
            defer { close(parent) }
            let name = path[path.count - 1]
            if !(try clear(parent, name, keepDirectory: true)) {
                guard cName(name, { mkdirat(parent, $0, 0o700) }) == 0 else { throw systemError("mkdirat", errno) }
            }
            fd = cName(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        }
        guard fd >= 0 else { throw systemError("openat", errno) }
        defer { close(fd) }
        written.insert(key(path))
        try applyMetadata(fd: fd, includingModeAndTimes: false)
        let e = entry.pointer
        deferred.append((path, mode_t(archive_entry_perm(e)),
                         timespec(tv_sec: time_t(archive_entry_mtime(e)), tv_nsec: Int(archive_entry_mtime_nsec(e)))))
    }

    private func symlink(_ path: Components) throws {
        let e = entry.pointer
        guard let target = bytes(archive_entry_symlink(e)) ?? bytes(archive_entry_symlink_utf8(e)), !target.isEmpty else {
            throw refuse("is a symbolic link without a target")
        }
        let parent = try openDirectory(path.dropLast(), create: true)!
        defer { close(parent) }
        let name = path[path.count - 1]
        _ = try clear(parent, name, keepDirectory: false)
        let made = cName(target) { t in cName(name) { symlinkat(t, parent, $0) } }
        guard made == 0 else { throw systemError("symlinkat", errno) }
        written.insert(key(path))
        if !options.rootless {
            guard cName(name, { fchownat(parent, $0, uid_t(archive_entry_uid(e)), gid_t(archive_entry_gid(e)),
                                         AT_SYMLINK_NOFOLLOW) }) == 0 else { throw systemError("fchownat", errno) }
        }
        var times = entryTimes()
        guard cName(name, { utimensat(parent, $0, &times, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw systemError("utimensat", errno)
        }
    }

    private func node(_ path: Components, type: UInt32) throws {
        let e = entry.pointer
        if type == kiln_ae_ifchr(), archive_entry_rdevmajor(e) == 0, archive_entry_rdevminor(e) == 0 {
            return  // an overlayfs whiteout; OCI layers express deletions with .wh. files
        }
        if type != kiln_ae_ififo(), options.rootless {
            throw refuse("is a device node, which a rootless extraction does not create")
        }
        let parent = try openDirectory(path.dropLast(), create: true)!
        defer { close(parent) }
        let name = path[path.count - 1]
        _ = try clear(parent, name, keepDirectory: false)
        let mode = mode_t(type) | mode_t(archive_entry_perm(e))
        let device = type == kiln_ae_ififo() ? 0 : dev_t(archive_entry_rdev(e))
        guard cName(name, { mknodat(parent, $0, mode, device) }) == 0 else { throw systemError("mknodat", errno) }
        written.insert(key(path))
        // A FIFO or device must not be opened here: metadata calls go by name, never following links.
        if !options.rootless {
            guard cName(name, { fchownat(parent, $0, uid_t(archive_entry_uid(e)), gid_t(archive_entry_gid(e)),
                                         AT_SYMLINK_NOFOLLOW) }) == 0 else { throw systemError("fchownat", errno) }
        }
        // chmod after chown (chown clears setuid/setgid); mknod's mode was reduced by the umask.
        guard cName(name, { fchmodat(parent, $0, mode_t(archive_entry_perm(e)), 0) }) == 0 else {
            throw systemError("fchmodat", errno)
        }
        var times = entryTimes()
        guard cName(name, { utimensat(parent, $0, &times, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw systemError("utimensat", errno)
        }
    }

    private func hardlink(_ path: Components, to rawTarget: [UInt8]) throws {
        let target = try components(rawTarget, what: "hard link target")
        let targetName = String(decoding: rawTarget, as: UTF8.self)
        guard let targetLast = target.last, !path.isEmpty else {
            throw refuse("is a hard link to or from the root directory")
        }
        if target == path { return }
        guard let sourceParent = try openDirectory(target.dropLast(), create: false, linkTarget: targetName) else {
            throw refuse("is a hard link to '\(targetName)', which is not in the root")
        }
        defer { close(sourceParent) }
        var info = stat()
        guard cName(targetLast, { fstatat(sourceParent, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            throw refuse("is a hard link to '\(targetName)', which is not in the root")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw refuse("is a hard link to the directory '\(targetName)'") }
        let parent = try openDirectory(path.dropLast(), create: true)!
        defer { close(parent) }
        let name = path[path.count - 1]
        _ = try clear(parent, name, keepDirectory: false)
        let linked = cName(targetLast) { t in cName(name) { linkat(sourceParent, t, parent, $0, 0) } }
        guard linked == 0 else { throw systemError("linkat", errno) }
        written.insert(key(path))
    }

    // MARK: - Whiteouts (OCI image-spec layer.md, "Whiteouts")

    private func whiteout(_ path: Components) throws {
        let last = path[path.count - 1]
        let parentPath = Array(path.dropLast())
        if last == opaqueWhiteoutName {
            guard let dir = try openDirectory(parentPath[...], create: false) else { return }
            defer { close(dir) }
            try removeLowerChildren(of: dir, at: parentPath)
            return
        }
        if last.starts(with: reservedWhiteoutPrefix) { return }  // reserved for other whiteout metadata
        let name = Array(last.dropFirst(whiteoutNamePrefix.count))
        guard !name.isEmpty, name != Array(".".utf8), name != Array("..".utf8) else {
            throw refuse("is a whiteout of '\(String(decoding: name, as: UTF8.self))'")
        }
        guard let parent = try openDirectory(parentPath[...], create: false) else { return }
        defer { close(parent) }
        let target = parentPath + [name]
        if written.contains(key(target)) {
            // "Whiteout files MUST only apply to resources in lower/parent layers": keep what this layer
            // wrote, but hide what lower layers left inside a directory it wrote.
            let dir = cName(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if dir >= 0 {
                defer { close(dir) }
                try removeLowerChildren(of: dir, at: target)
            }
            return
        }
        try removeTree(parent, name)
    }

    /// Removes every child of the directory `dir` (at `path`) that this layer did not write; descends into
    /// the directories it did write, whose lower contents are hidden too.
    private func removeLowerChildren(of dir: Int32, at path: Components) throws {
        for name in try listDirectory(dir) {
            let child = path + [name]
            if written.contains(key(child)) {
                let sub = cName(name) { openat(dir, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                if sub >= 0 {
                    defer { close(sub) }
                    try removeLowerChildren(of: sub, at: child)
                }
            } else {
                try removeTree(dir, name)
            }
        }
    }

    // MARK: - File system helpers

    /// Opens the directory at `path` below the root, one component at a time without following
    /// symbolic links. Missing directories are created (0755) when `create` is set, else nil is returned.
    private func openDirectory(_ path: ArraySlice<[UInt8]>, create: Bool, linkTarget: String? = nil) throws -> Int32? {
        var fd = openat(rootFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw systemError("openat", errno) }
        var walked: Components = []
        for component in path {
            walked.append(component)
            var next = cName(component) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if next < 0, errno == ENOENT, create {
                if cName(component, { mkdirat(fd, $0, 0o755) }) != 0, errno != EEXIST {
                    let err = errno
                    close(fd)
                    throw systemError("mkdirat", err)
                }
                written.insert(key(walked))
                next = cName(component) { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            }
            if next < 0 {
                let err = errno
                var info = stat()
                let isLink = cName(component) { fstatat(fd, $0, &info, AT_SYMLINK_NOFOLLOW) } == 0
                    && info.st_mode & S_IFMT == S_IFLNK
                close(fd)
                let shown = String(decoding: key(walked), as: UTF8.self)
                let subject = linkTarget.map { "is a hard link to '\($0)', whose path" } ?? "has a path that"
                if isLink { throw refuse("\(subject) traverses the symbolic link '\(shown)'") }
                if err == ENOENT, !create { return nil }
                if err == ENOTDIR { throw refuse("\(subject) needs '\(shown)' to be a directory, but it is not") }
                throw systemError("openat", err)
            }
            close(fd)
            fd = next
        }
        return fd
    }

    /// Makes room for a new entry `name` in `parent`: removes what is there, except a directory when
    /// `keepDirectory` is set. Returns whether a directory was kept.
    private func clear(_ parent: Int32, _ name: [UInt8], keepDirectory: Bool) throws -> Bool {
        var info = stat()
        guard cName(name, { fstatat(parent, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            if errno == ENOENT { return false }
            throw systemError("fstatat", errno)
        }
        if keepDirectory, info.st_mode & S_IFMT == S_IFDIR { return true }
        try removeTree(parent, name)
        return false
    }

    /// Removes `name` in `parent`, recursively for a directory; never follows symbolic links.
    private func removeTree(_ parent: Int32, _ name: [UInt8]) throws {
        var info = stat()
        guard cName(name, { fstatat(parent, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
            if errno == ENOENT { return }
            throw systemError("fstatat", errno)
        }
        if info.st_mode & S_IFMT == S_IFDIR {
            let dir = cName(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard dir >= 0 else { throw systemError("openat", errno) }
            defer { close(dir) }
            if options.rootless { _ = fchmod(dir, 0o700) }  // a read-only directory cannot be emptied otherwise
            for child in try listDirectory(dir) { try removeTree(dir, child) }
            guard cName(name, { unlinkat(parent, $0, AT_REMOVEDIR) }) == 0 else { throw systemError("unlinkat", errno) }
        } else {
            guard cName(name, { unlinkat(parent, $0, 0) }) == 0 || errno == ENOENT else {
                throw systemError("unlinkat", errno)
            }
        }
    }

    /// The names in the directory `dir` (without "." and "..").
    private func listDirectory(_ dir: Int32) throws -> [[UInt8]] {
        let copy = dup(dir)
        guard copy >= 0 else { throw systemError("dup", errno) }
        guard let stream = fdopendir(copy) else {
            let err = errno
            close(copy)
            throw systemError("fdopendir", err)
        }
        defer { closedir(stream) }
        rewinddir(stream)
        var names: [[UInt8]] = []
        while let item = readdir(stream) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        return names
    }

    /// Owner (when root), xattrs and, for non-directories, mode and times of the open file `fd`.
    private func applyMetadata(fd: Int32, includingModeAndTimes: Bool) throws {
        let e = entry.pointer
        if !options.rootless {
            guard fchown(fd, uid_t(archive_entry_uid(e)), gid_t(archive_entry_gid(e))) == 0 else {
                throw systemError("fchown", errno)
            }
        }
        // chmod after chown: chown clears setuid and setgid.
        if includingModeAndTimes {
            guard fchmod(fd, mode_t(archive_entry_perm(e))) == 0 else { throw systemError("fchmod", errno) }
        }
        // xattrs after chown and the data: both clear security.capability.
        if archive_entry_xattr_reset(e) > 0 {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK {
                guard let name else { continue }
                let text = String(cString: name)
                if text.hasPrefix("trusted.overlay.") || text.hasPrefix("user.overlay.") { continue }
                if kiln_fsetxattr(fd, name, value, size) != 0, !options.rootless {
                    throw systemError("fsetxattr(\(text))", errno)
                }
            }
        }
        if includingModeAndTimes {
            var times = entryTimes()
            guard futimens(fd, &times) == 0 else { throw systemError("futimens", errno) }
        }
    }

    /// Applies the deferred modes and times of the directories this layer wrote.
    private func finishDirectories() throws {
        for item in deferred.reversed() {
            let fd: Int32
            if item.path.isEmpty {
                fd = openat(rootFD, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            } else {
                // A later entry may have replaced or removed the directory.
                guard let parent = try? openDirectory(item.path.dropLast(), create: false) else { continue }
                defer { close(parent) }
                fd = cName(item.path[item.path.count - 1]) {
                    openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                }
            }
            guard fd >= 0 else { continue }
            defer { close(fd) }
            current = String(decoding: key(item.path), as: UTF8.self)
            guard fchmod(fd, item.mode) == 0 else { throw systemError("fchmod", errno) }
            var times = [item.time, item.time]
            guard futimens(fd, &times) == 0 else { throw systemError("futimens", errno) }
        }
    }

    // MARK: - Small helpers

    /// Splits a stored path into components, dropping "" and "."; refuses absolute paths and "..".
    private func components(_ raw: [UInt8], what: String) throws -> Components {
        let shown = String(decoding: raw, as: UTF8.self)
        if raw.first == pathSeparator {
            throw refuse(what == "path" ? "is an absolute path" : "has the absolute \(what) '\(shown)'")
        }
        var parts: Components = []
        for part in raw.split(separator: pathSeparator, omittingEmptySubsequences: true) {
            if part.elementsEqual([0x2E]) { continue }
            if part.elementsEqual([0x2E, 0x2E]) {
                throw refuse(what == "path" ? "has a '..' component" : "has a '..' component in its \(what) '\(shown)'")
            }
            parts.append(Array(part))
        }
        return parts
    }

    private func key(_ path: Components) -> [UInt8] { Array(path.joined(separator: [pathSeparator])) }

    private func entryTimes() -> [timespec] {
        let e = entry.pointer
        let time = timespec(tv_sec: time_t(archive_entry_mtime(e)), tv_nsec: Int(archive_entry_mtime_nsec(e)))
        return [time, time]
    }

    private func bytes(_ pointer: UnsafePointer<CChar>?) -> [UInt8]? {
        guard let pointer else { return nil }
        return Array(UnsafeBufferPointer(start: pointer, count: strlen(pointer))).map { UInt8(bitPattern: $0) }
    }

    private func refuse(_ reason: String) -> KilnArchiveError {
        KilnArchiveError.refusedEntry(layer: layer, entry: current, reason: reason)
    }

    private func systemError(_ function: String, _ err: Int32) -> KilnArchiveError {
        KilnArchiveError.system(function, errno: err, path: root + "/" + current,
                                hint: "check the free space and permissions under the root")
    }
}

/// Calls `body` with `name` as a NUL-terminated C string.
private func cName<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) throws -> T) rethrows -> T {
    var terminated = name
    terminated.append(0)
    return try terminated.withUnsafeBufferPointer { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
}
