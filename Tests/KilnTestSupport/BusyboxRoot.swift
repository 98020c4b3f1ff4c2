import Foundation

/// A small root file system built from Debian's `busybox-static`, for tests that run commands in the
/// sandbox: `/bin/busybox` with one symbolic link per applet in `/bin`, `/etc/passwd` and `/etc/group`
/// (root, a `kiln` user 1000:1000 and nobody 65534:65534), `/root`, `/home/kiln` and a sticky `/tmp`.
///
/// It deliberately has no `/proc`, `/dev` or `/etc/resolv.conf`: the sandbox must provide them without
/// them landing in a captured layer. Every file is owned by the caller's uid/gid (root in the tests).
public enum BusyboxRoot {
    /// Where Debian's busybox-static installs the static binary.
    public static let busyboxPath = "/bin/busybox"

    /// The applets linked by default.
    public static let defaultApplets = [
        "sh", "ls", "cat", "echo", "mkdir", "rm", "rmdir", "mv", "cp", "chmod", "chown", "ln", "id", "hostname",
        "mount", "touch", "grep", "test", "[", "sleep", "wc", "readlink", "stat", "ps", "pwd", "env", "true",
        "false", "kill", "head", "tail", "sed", "printf", "find", "uname", "tr", "cut", "sort", "od", "dd",
        "mknod", "mkfifo", "whoami", "sha256sum",
    ]

    /// Builds the root at `path` (created if missing) with `applets` linked to busybox.
    /// Throws, naming the package to install, when busybox-static is missing.
    public static func make(at path: String, applets: [String] = defaultApplets) throws {
        let files = FileManager.default
        guard files.isExecutableFile(atPath: busyboxPath) else {
            throw TestSupportError("\(busyboxPath) is missing: install Debian's busybox-static package "
                                   + "(apt-get install busybox-static)")
        }
        for dir in ["bin", "etc", "root", "home/kiln", "tmp", "usr/bin", "var"] {
            try files.createDirectory(atPath: path + "/" + dir, withIntermediateDirectories: true)
        }
        try files.copyItem(atPath: busyboxPath, toPath: path + "/bin/busybox")
        for applet in applets {
            try files.createSymbolicLink(atPath: path + "/bin/" + applet, withDestinationPath: "busybox")
        }
        try "root:x:0:0:root:/root:/bin/sh\nkiln:x:1000:1000:kiln:/home/kiln:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
            .write(toFile: path + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\nkiln:x:1000:\nnogroup:x:65534:\n"
            .write(toFile: path + "/etc/group", atomically: false, encoding: .utf8)
        try files.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: path + "/tmp")
        try files.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path + "/root")
        if getuid() == 0 { _ = chown(path + "/home/kiln", 1000, 1000) }
    }
}

/// One line per file under `path` (the directory itself excluded), in sorted order, for comparing trees:
/// `relative-path type mode uid:gid […]` with, by type, the size and SHA-256 of regular files, the
/// target of symbolic links, `major,minor` of devices; then the xattrs (name=hex value) except those
/// whose names start with one of `ignoringXattrs`; then the mtime in nanoseconds when `times` is set.
/// Files with several links show `link#N`, N numbering the inodes in walk order. Needs python3.
public func describeTree(at path: String, times: Bool = true, ignoringXattrs: [String] = []) throws -> [String] {
    let script = """
    import hashlib, os, stat, sys
    root, times, ignored = sys.argv[1], sys.argv[2] == "1", [p for p in sys.argv[3:] if p]
    inodes = {}
    def line(rel):
        full = os.path.join(root, rel)
        st = os.lstat(full)
        m = st.st_mode
        kind = "d" if stat.S_ISDIR(m) else "f" if stat.S_ISREG(m) else "l" if stat.S_ISLNK(m) else \
               "c" if stat.S_ISCHR(m) else "b" if stat.S_ISBLK(m) else "p" if stat.S_ISFIFO(m) else "s"
        parts = [os.fsencode(rel).hex() if not rel.isprintable() else rel, kind, oct(stat.S_IMODE(m)), "%d:%d" % (st.st_uid, st.st_gid)]
        if kind == "f":
            with open(full, "rb") as f: parts += [str(st.st_size), hashlib.sha256(f.read()).hexdigest()]
        if kind == "l": parts.append("->" + os.readlink(full))
        if kind in "cb": parts.append("%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
        if kind != "d" and st.st_nlink > 1:
            parts.append("link#%d" % inodes.setdefault(st.st_ino, len(inodes)))
        for name in sorted(os.listxattr(full, follow_symlinks=False)):
            if any(name.startswith(p) for p in ignored): continue
            parts.append(name + "=" + os.getxattr(full, name, follow_symlinks=False).hex())
        if times: parts.append("mtime=%d" % st.st_mtime_ns)
        return " ".join(parts)
    out = []
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            out.append(line(os.path.relpath(os.path.join(dirpath, name), root)))
    print("\\n".join(sorted(out)))
    """
    let result = try runProgram("/usr/bin/env", ["python3", "-c", script, path, times ? "1" : "0"] + ignoringXattrs + [""])
    guard result.status == 0 else { throw TestSupportError("describeTree(\(path)) failed: \(result.output)") }
    return result.output.split(separator: "\n").map(String.init)
}
