#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The checked, prepared form of a `SandboxCommand`: the directory to enter, the overlay's options,
/// and the mount points the root lacks provided (in the scaffold when capturing, in the root otherwise).
struct SandboxPlan {
    /// The directory that becomes the root (the rootfs, or the overlay's `merged`).
    let root: String
    /// The overlay's mount options, nil without capture.
    let overlayOptions: String?
    /// `captureDirectory/upper`, nil without capture.
    let upperDirectory: String?
    /// The host file bound over /etc/resolv.conf, nil when the host has none or the root has no /etc.
    let resolvConf: String?
    /// Directories searched for argv[0]: the PATH of the command's environment.
    let searchPath: [String]
    /// Whether a user namespace maps the ids (kiln is not root).
    let rootless: Bool

    /// The host's resolver configuration.
    static let hostResolvConf = "/etc/resolv.conf"

    init(_ command: SandboxCommand, rootless: Bool) throws {
        self.rootless = rootless
        guard let name = command.argv.first, !name.isEmpty else { throw SandboxError.invalidCommand("argv is empty") }
        for text in command.argv + command.environment + [command.rootfs, command.workingDirectory, command.hostname]
            + (command.captureDirectory.map { [$0] } ?? []) where text.utf8.contains(0) {
            throw SandboxError.invalidCommand("\(String(reflecting: text)) contains a NUL byte")
        }
        for variable in command.environment where !variable.contains("=") {
            throw SandboxError.invalidCommand("environment entry '\(variable)' is not NAME=value")
        }
        guard command.workingDirectory.hasPrefix("/") else {
            throw SandboxError.invalidCommand("the working directory '\(command.workingDirectory)' is not an absolute path")
        }
        guard !command.hostname.isEmpty, command.hostname.utf8.count <= 64 else {
            throw SandboxError.invalidCommand("the host name '\(command.hostname)' must have 1 to 64 bytes")
        }
        let rootfs = try Self.absolute(command.rootfs)
        guard Self.fileType(rootfs, follow: true) == S_IFDIR else {
            throw SandboxError.invalidCommand("the root '\(rootfs)' is not a directory")
        }
        let path = command.environment.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
            ?? SandboxCommand.defaultPath
        searchPath = path.split(separator: ":").map(String.init).filter { $0.hasPrefix("/") }
        let hostResolv = Self.fileType(Self.hostResolvConf, follow: true) == S_IFREG ? Self.hostResolvConf : nil

        if let capture = command.captureDirectory {
            let directory = try Self.absolute(capture)
            try Self.makeDirectory(directory, mode: 0o755)
            let upper = directory + "/upper", work = directory + "/work", merged = directory + "/merged"
            let scaffold = directory + "/scaffold"
            for dir in [rootfs, scaffold, upper, work] where dir.contains(where: { ",:\\".contains($0) }) {
                throw SandboxError.invalidCommand("overlayfs cannot take the path '\(dir)' (it contains ',', ':' or '\\')")
            }
            if Self.fileType(upper, follow: false) != nil {
                guard try Self.isEmptyDirectory(upper) else {
                    throw SandboxError.invalidCommand("the capture directory's upper directory '\(upper)' is not empty; "
                                                      + "use a fresh capture directory per command")
                }
            }
            for dir in [upper, work, merged, scaffold] { try Self.makeDirectory(dir, mode: 0o755) }
            resolvConf = try Self.provideMountPoints(in: scaffold, for: rootfs, resolvConf: hostResolv)
            root = merged
            upperDirectory = upper
            // Plain-data upper directory: no redirects, metadata-only copy-ups or index (overlayfs.rst).
            overlayOptions = "lowerdir=\(scaffold):\(rootfs),upperdir=\(upper),workdir=\(work),"
                + "redirect_dir=nofollow,metacopy=off,index=off" + (rootless ? ",userxattr" : "")
        } else {
            resolvConf = try Self.provideMountPoints(in: rootfs, for: rootfs, resolvConf: hostResolv)
            root = rootfs
            upperDirectory = nil
            overlayOptions = nil
        }
    }

    /// Creates in `target` the mount points (/proc, /dev, /etc/resolv.conf) that `rootfs` lacks; when
    /// `target` is the scaffold, directories on the way copy the root's metadata. Returns the resolver
    /// file to bind, or nil when the root cannot take one.
    private static func provideMountPoints(in target: String, for rootfs: String, resolvConf: String?) throws -> String? {
        for name in ["proc", "dev"] where fileType(rootfs + "/" + name, follow: false) != S_IFDIR {
            if target == rootfs, fileType(rootfs + "/" + name, follow: false) != nil { continue }  // a symlink: mount follows it inside the root
            try makeDirectory(target + "/" + name, mode: 0o755)
        }
        guard let resolvConf else { return nil }
        let etcType = fileType(rootfs + "/etc", follow: false)
        guard etcType == nil || etcType == S_IFDIR else { return nil }
        let resolv = rootfs + "/etc/resolv.conf"
        if fileType(resolv, follow: false) == S_IFREG { return resolvConf }
        if target == rootfs {
            if etcType == nil { try makeDirectory(rootfs + "/etc", mode: 0o755) }
            if fileType(resolv, follow: false) != nil, unlink(resolv) != 0 {
                throw SandboxError.system("unlink", errno: errno, path: resolv)
            }
        } else {
            try makeDirectory(target + "/etc", mode: 0o755)
        }
        let file = target + "/etc/resolv.conf"
        let fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw SandboxError.system("open", errno: errno, path: file) }
        close(fd)
        // After the file: creating it changed the directory's mtime.
        if target != rootfs, etcType == S_IFDIR { try copyMetadata(from: rootfs + "/etc", to: target + "/etc") }
        return resolvConf
    }

    /// Gives `target` the owner, mode and times of `source`, so that a merged directory looks like the root's.
    private static func copyMetadata(from source: String, to target: String) throws {
        var info = stat()
        guard lstat(source, &info) == 0 else { throw SandboxError.system("lstat", errno: errno, path: source) }
        if geteuid() == 0, lchown(target, info.st_uid, info.st_gid) != 0 {
            throw SandboxError.system("lchown", errno: errno, path: target)
        }
        guard chmod(target, info.st_mode & 0o7777) == 0 else { throw SandboxError.system("chmod", errno: errno, path: target) }
        var times = [info.st_atim, info.st_mtim]
        guard utimensat(AT_FDCWD, target, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw SandboxError.system("utimensat", errno: errno, path: target)
        }
    }

    static func absolute(_ path: String) throws -> String {
        if path.hasPrefix("/") { return path }
        guard let cwd = getcwd(nil, 0) else { throw SandboxError.system("getcwd", errno: errno, path: path) }
        defer { free(cwd) }
        return String(cString: cwd) + "/" + path
    }

    /// The file type bits (S_IFDIR…) of `path`, nil when it does not exist.
    static func fileType(_ path: String, follow: Bool) -> mode_t? {
        var info = stat()
        let result = follow ? stat(path, &info) : lstat(path, &info)
        return result == 0 ? info.st_mode & S_IFMT : nil
    }

    private static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0, errno != EEXIST || fileType(path, follow: false) != S_IFDIR {
            throw SandboxError.system("mkdir", errno: errno, path: path)
        }
    }

    private static func isEmptyDirectory(_ path: String) throws -> Bool {
        guard let dir = opendir(path) else { throw SandboxError.system("opendir", errno: errno, path: path) }
        defer { closedir(dir) }
        while let item = readdir(dir) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { return false }
        }
        return true
    }
}
