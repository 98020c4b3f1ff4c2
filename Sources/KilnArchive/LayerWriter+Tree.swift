#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import CArchive

extension LayerWriter {
    /// Adds every object under `root` (not `root` itself) as entries named `prefix + relative path`
    /// (a non-empty `prefix` gets a trailing `/` if it lacks one; directories end in `/`).
    ///
    /// Order: depth first, each directory's entry right before its contents, siblings sorted by the bytes
    /// of their entry names, so the whole layer is sorted by entry-name bytes; in `.overlayUpper` mode a
    /// directory's whiteouts come before its other entries (the opaque marker first), as layer.md asks
    /// ("whiteout files appear before sibling directory entries").
    ///
    /// Metadata comes from lstat: permission bits, numeric uid/gid, mtime (clamped); extended attributes
    /// are kept (e.g. `security.capability`), sorted by name, except `security.selinux` (a host label),
    /// `system.*` (ACLs, not carried) and overlayfs's own `trusted.overlay.*` / `user.overlay.*`.
    /// Symlinks are stored, never followed; character and block devices with their numbers; FIFOs;
    /// sockets are skipped. When several paths share an inode (a non-directory with more than one link),
    /// the first in this order is a full entry and the later ones hardlink entries to it.
    ///
    /// `.overlayUpper` reads an overlayfs upper directory: a character device 0/0 (or an empty regular
    /// file with `trusted.overlay.whiteout` / `user.overlay.whiteout`) becomes the OCI whiteout
    /// `.wh.<name>`, and a directory whose `trusted.overlay.opaque` (or `user.overlay.opaque`) is `y` is
    /// followed by `<dir>/.wh..wh..opq` (layer.md, "Whiteouts"). An upper written with overlayfs's
    /// `redirect_dir` or `metacopy` features is refused, since its files would not hold their data.
    ///
    /// Files must not change while they are read: one that shrinks is an error, one that grows is cut
    /// at the size lstat saw.
    /// - Throws: `KilnArchiveError` naming the failing call and path.
    public func addTree(at root: String, prefix: String = "", format: TreeFormat = .plain) throws {
        try checkUsable()
        let prefixBytes = prefix.isEmpty ? [] : try entryName(prefix, directory: true)
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else {
            throw KilnArchiveError.system("open", errno: errno, path: root,
                                          hint: "check that the directory exists and is readable")
        }
        defer { close(rootFD) }
        var rootInfo = stat()
        guard fstat(rootFD, &rootInfo) == 0 else {
            throw KilnArchiveError.system("fstat", errno: errno, path: root, hint: "check the directory")
        }
        var rootPath = Array(root.utf8)
        while rootPath.count > 1 && rootPath.last == slashByte { rootPath.removeLast() }
        let walk = TreeWalk(format: format, disk: try DiskReader())
        var opaqueMTime: Int64?
        if format == .overlayUpper {
            let attributes = try walk.disk.attributes(of: rootPath, info: rootInfo)
            try checkOverlaySupported(attributes, path: rootPath)
            if isOpaque(attributes) { opaqueMTime = Int64(rootInfo.st_mtim.tv_sec) }
        }
        try addChildren(of: rootFD, fsPath: rootPath, entryPrefix: prefixBytes, opaqueMTime: opaqueMTime, walk: walk)
    }

    /// Lists, sorts and adds the children of the open directory `dirFD` (at `fsPath` on disk).
    private func addChildren(of dirFD: Int32, fsPath: [UInt8], entryPrefix: [UInt8], opaqueMTime: Int64?,
                             walk: TreeWalk) throws {
        var children: [TreeChild] = []
        if let opaqueMTime {
            children.append(TreeChild(kind: .opaqueMarker, name: [], entryName: entryPrefix + layerOpaqueWhiteoutName,
                                      info: stat(), mtime: opaqueMTime))
        }
        for name in try listDirectory(dirFD, path: fsPath) {
            var info = stat()
            let result = withCPath(name) { fstatat(dirFD, $0, &info, AT_SYMLINK_NOFOLLOW) }
            guard result == 0 else {
                throw KilnArchiveError.system("fstatat", errno: errno, path: pathText(fsPath + [slashByte] + name),
                                              hint: "check the tree; do not modify it while kiln archives it")
            }
            let type = info.st_mode & S_IFMT
            if type == S_IFSOCK { continue }
            let mtime = Int64(info.st_mtim.tv_sec)
            if walk.format == .overlayUpper, try isOverlayWhiteout(info, path: fsPath + [slashByte] + name, walk: walk) {
                children.append(TreeChild(kind: .whiteout, name: name, entryName: entryPrefix + layerWhiteoutPrefix + name,
                                          info: info, mtime: mtime))
                continue
            }
            let entryName = entryPrefix + name + (type == S_IFDIR ? [slashByte] : [])
            children.append(TreeChild(kind: .node, name: name, entryName: entryName, info: info, mtime: mtime))
        }
        children.sort { a, b in
            a.kind.rank != b.kind.rank ? a.kind.rank < b.kind.rank : a.entryName.lexicographicallyPrecedes(b.entryName)
        }
        for child in children {
            switch child.kind {
            case .opaqueMarker, .whiteout:
                try writeWhiteoutEntry(name: child.entryName, mtime: child.mtime)
            case .node:
                try addNode(child, in: dirFD, fsPath: fsPath + [slashByte] + child.name, walk: walk)
            }
        }
    }

    /// Adds one object (and, for a directory, everything under it).
    private func addNode(_ child: TreeChild, in dirFD: Int32, fsPath: [UInt8], walk: TreeWalk) throws {
        let info = child.info
        let type = info.st_mode & S_IFMT
        var attributes = try walk.disk.attributes(of: fsPath, info: info)
        var opaque = false
        if walk.format == .overlayUpper {
            try checkOverlaySupported(attributes, path: fsPath)
            opaque = type == S_IFDIR && isOpaque(attributes)
        }
        attributes.removeAll { !keepAttribute($0.name) }
        let mode = UInt32(info.st_mode) & 0o7777
        let uid = Int(info.st_uid), gid = Int(info.st_gid)

        // Later paths of one inode become hardlinks to the first (directories cannot be hard-linked).
        if type != S_IFDIR && info.st_nlink > 1 {
            let id = FileID(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
            if let first = walk.firstPaths[id] {
                let entry = try makeEntry(name: child.entryName, type: UInt32(type), mode: mode, uid: uid, gid: gid,
                                          mtime: child.mtime)
                withCPath(first) { archive_entry_copy_hardlink(entry.pointer, $0) }
                archive_entry_set_size(entry.pointer, 0)
                try writeHeader(entry, name: child.entryName)
                return
            }
            walk.firstPaths[id] = child.entryName
        }

        switch type {
        case S_IFREG:
            let fd = withCPath(child.name) { openat(dirFD, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY) }
            guard fd >= 0 else {
                throw KilnArchiveError.system("openat", errno: errno, path: pathText(fsPath), hint: "check that the file is readable")
            }
            defer { close(fd) }
            var opened = stat()
            guard fstat(fd, &opened) == 0 else {
                throw KilnArchiveError.system("fstat", errno: errno, path: pathText(fsPath), hint: "check the file")
            }
            guard opened.st_ino == info.st_ino, opened.st_dev == info.st_dev else {
                throw KilnArchiveError.unexpectedData("'\(pathText(fsPath))' was replaced while it was being archived; "
                                                      + "do not modify the tree while kiln archives it")
            }
            let entry = try makeEntry(name: child.entryName, type: fileTypeRegular, mode: mode, uid: uid, gid: gid,
                                      mtime: child.mtime)
            archive_entry_set_size(entry.pointer, la_int64_t(info.st_size))
            add(attributes, to: entry)
            try writeHeader(entry, name: child.entryName)
            try copyContents(of: fd, size: Int64(info.st_size), source: pathText(fsPath), name: child.entryName)
        case S_IFDIR:
            let entry = try makeEntry(name: child.entryName, type: fileTypeDirectory, mode: mode, uid: uid, gid: gid,
                                      mtime: child.mtime)
            add(attributes, to: entry)
            try writeHeader(entry, name: child.entryName)
            let fd = withCPath(child.name) { openat(dirFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else {
                throw KilnArchiveError.system("openat", errno: errno, path: pathText(fsPath), hint: "check that the directory is readable")
            }
            defer { close(fd) }
            try addChildren(of: fd, fsPath: fsPath, entryPrefix: child.entryName,
                            opaqueMTime: opaque ? child.mtime : nil, walk: walk)
        case S_IFLNK:
            let target = try readLink(dirFD, child.name, size: Int(info.st_size), path: fsPath)
            let entry = try makeEntry(name: child.entryName, type: fileTypeSymlink, mode: mode, uid: uid, gid: gid,
                                      mtime: child.mtime)
            withCPath(target) { archive_entry_copy_symlink(entry.pointer, $0) }
            add(attributes, to: entry)
            try writeHeader(entry, name: child.entryName)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            let fileType = type == S_IFCHR ? fileTypeCharacterDevice : type == S_IFBLK ? fileTypeBlockDevice : fileTypeFIFO
            let entry = try makeEntry(name: child.entryName, type: fileType, mode: mode, uid: uid, gid: gid,
                                      mtime: child.mtime)
            if type != S_IFIFO { archive_entry_set_rdev(entry.pointer, info.st_rdev) }
            add(attributes, to: entry)
            try writeHeader(entry, name: child.entryName)
        default:
            break
        }
    }

    /// Whether `info` (in an overlayfs upper) is a whiteout: a character device 0/0, or an empty regular
    /// file carrying overlayfs's whiteout xattr (the "xwhiteout" form of Linux 6.7).
    private func isOverlayWhiteout(_ info: stat, path: [UInt8], walk: TreeWalk) throws -> Bool {
        let type = info.st_mode & S_IFMT
        if type == S_IFCHR { return info.st_rdev == 0 }
        guard type == S_IFREG, info.st_size == 0 else { return false }
        return try walk.disk.attributes(of: path, info: info).contains {
            $0.name == Array("trusted.overlay.whiteout".utf8) || $0.name == Array("user.overlay.whiteout".utf8)
        }
    }

    private func add(_ attributes: [ExtendedAttribute], to entry: EntryHandle) {
        for attribute in attributes {
            attribute.value.withUnsafeBytes { value in
                withCPath(attribute.name) {
                    archive_entry_xattr_add_entry(entry.pointer, $0, value.baseAddress, value.count)
                }
            }
        }
    }

    private func readLink(_ dirFD: Int32, _ name: [UInt8], size: Int, path: [UInt8]) throws -> [UInt8] {
        var capacity = max(size, 63) + 1
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let n = withCPath(name) { cName in
                buffer.withUnsafeMutableBytes { readlinkat(dirFD, cName, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity) }
            }
            guard n >= 0 else {
                throw KilnArchiveError.system("readlinkat", errno: errno, path: pathText(path), hint: "check the symlink")
            }
            if n < capacity { return Array(buffer[..<n]) }
            capacity *= 2
        }
    }

    private func checkOverlaySupported(_ attributes: [ExtendedAttribute], path: [UInt8]) throws {
        for attribute in attributes {
            let name = pathText(attribute.name)
            if name.hasSuffix("overlay.redirect") || name.hasSuffix("overlay.metacopy") {
                throw KilnArchiveError.invalidArgument(
                    "'\(pathText(path))' carries \(name): the overlay was mounted with redirect_dir or metacopy, so "
                        + "its upper directory does not hold whole files; mount it with redirect_dir=off,metacopy=off")
            }
        }
    }

    private func isOpaque(_ attributes: [ExtendedAttribute]) -> Bool {
        attributes.contains {
            ($0.name == Array("trusted.overlay.opaque".utf8) || $0.name == Array("user.overlay.opaque".utf8))
                && $0.value == [UInt8(ascii: "y")]
        }
    }
}

/// Whether an extended attribute is written to the layer (see `addTree`).
private func keepAttribute(_ name: [UInt8]) -> Bool {
    for dropped in ["trusted.overlay.", "user.overlay.", "system."] where name.starts(with: dropped.utf8) {
        return false
    }
    return name != Array("security.selinux".utf8)
}

/// The names in an open directory, without `.` and `..`.
private func listDirectory(_ fd: Int32, path: [UInt8]) throws -> [[UInt8]] {
    let copy = dup(fd)
    guard copy >= 0, let dir = fdopendir(copy) else {
        let error = errno
        if copy >= 0 { close(copy) }
        throw KilnArchiveError.system("fdopendir", errno: error, path: pathText(path), hint: "check that the directory is readable")
    }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while true {
        errno = 0
        guard let entry = readdir(dir) else {
            if errno != 0 {
                throw KilnArchiveError.system("readdir", errno: errno, path: pathText(path), hint: "check the directory")
            }
            return names
        }
        let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
        if name == [dotByte] || name == [dotByte, dotByte] { continue }
        names.append(name)
    }
}

/// A directory's child, as `addTree` orders it.
private struct TreeChild {
    enum Kind {
        case opaqueMarker, whiteout, node
        /// Whiteouts first (the opaque marker before the others), then everything else.
        var rank: Int {
            switch self {
            case .opaqueMarker: 0
            case .whiteout: 1
            case .node: 2
            }
        }
    }

    var kind: Kind
    /// The name in the directory on disk.
    var name: [UInt8]
    /// The entry's full name in the layer.
    var entryName: [UInt8]
    var info: stat
    var mtime: Int64
}

/// An inode, to find the paths that share one.
private struct FileID: Hashable {
    var device: UInt64
    var inode: UInt64
}

/// What one `addTree` call carries through the walk.
private final class TreeWalk {
    let format: LayerWriter.TreeFormat
    let disk: DiskReader
    /// The entry name of the first path seen of each multiply-linked inode.
    var firstPaths: [FileID: [UInt8]] = [:]

    init(format: LayerWriter.TreeFormat, disk: DiskReader) {
        self.format = format
        self.disk = disk
    }
}

/// One extended attribute.
struct ExtendedAttribute: Equatable {
    var name: [UInt8]
    var value: [UInt8]
}

/// Owns a libarchive disk reader (`archive_read_disk_new`), used for what lstat does not give: the
/// extended attributes of a path (llistxattr/lgetxattr, never following a symlink); freed in deinit.
final class DiskReader {
    private let pointer: OpaquePointer
    private let scratch: EntryHandle

    init() throws {
        guard let pointer = archive_read_disk_new() else {
            throw KilnArchiveError.libarchive("archive_read_disk_new", nil, subject: "a disk reader",
                                              hint: "the process is out of memory")
        }
        self.pointer = pointer
        scratch = try EntryHandle()
        let hint = "this libarchive is too old; kiln needs libarchive 3.6 or newer"
        try check(archive_read_disk_set_symlink_physical(pointer), "archive_read_disk_set_symlink_physical", pointer,
                  subject: "a disk reader", hint: hint)
        // Only xattrs: no ACLs, file flags or sparse maps (which would also change the tar format).
        let behavior = ARCHIVE_READDISK_NO_ACL | ARCHIVE_READDISK_NO_FFLAGS | ARCHIVE_READDISK_NO_SPARSE
        try check(archive_read_disk_set_behavior(pointer, behavior), "archive_read_disk_set_behavior", pointer,
                  subject: "a disk reader", hint: hint)
    }

    deinit { archive_read_free(pointer) }

    /// The extended attributes of the object at `path` (not following a symlink), sorted by name.
    func attributes(of path: [UInt8], info: stat) throws -> [ExtendedAttribute] {
        let e = scratch.pointer
        archive_entry_clear(e)
        withCPath(path) { archive_entry_copy_sourcepath(e, $0) }
        var info = info
        let result = archive_read_disk_entry_from_file(pointer, e, -1, &info)
        guard result == ARCHIVE_OK else {
            throw KilnArchiveError.libarchive("archive_read_disk_entry_from_file", pointer, subject: "'\(pathText(path))'",
                                              hint: "check that its extended attributes are readable")
        }
        var attributes: [ExtendedAttribute] = []
        let count = archive_entry_xattr_reset(e)
        for _ in 0..<count {
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            guard archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK, let name else { break }
            let nameBytes = Array(UnsafeRawBufferPointer(start: name, count: strlen(name)))
            let valueBytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
            attributes.append(ExtendedAttribute(name: nameBytes, value: valueBytes))
        }
        attributes.sort { $0.name.lexicographicallyPrecedes($1.name) }
        return attributes
    }
}
