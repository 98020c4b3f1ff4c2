// The sandbox trampoline: see include/csandbox.h for the process tree.
// After fork only async-signal-safe calls are made (system calls and the string helpers below).
#define _GNU_SOURCE
#include "csandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// MARK: - String helpers (no malloc, no stdio)

/// Appends `text` to the NUL-terminated `buffer` of `capacity` bytes, truncating.
static void append(char *buffer, size_t capacity, const char *text) {
    size_t used = 0;
    while (used < capacity && buffer[used] != '\0') used++;
    while (text != NULL && *text != '\0' && used + 1 < capacity) buffer[used++] = *text++;
    if (used < capacity) buffer[used] = '\0';
}

/// Appends the decimal form of `value`.
static void append_number(char *buffer, size_t capacity, unsigned long value) {
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0 && n < (int)sizeof(digits));
    char text[24];
    for (int i = 0; i < n; i++) text[i] = digits[n - 1 - i];
    text[n] = '\0';
    append(buffer, capacity, text);
}

/// Writes all of `length` bytes, retrying on EINTR.
static int write_all(int fd, const void *data, size_t length) {
    const char *p = data;
    while (length > 0) {
        ssize_t n = write(fd, p, length);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += n;
        length -= (size_t)n;
    }
    return 0;
}

/// Sends one message on the status pipe.
static void report(int status_fd, int kind, int value, const char *step, const char *subject) {
    struct kiln_sandbox_message message;
    memset(&message, 0, sizeof(message));
    message.kind = kind;
    message.value = value;
    append(message.step, sizeof(message.step), step);
    append(message.step, sizeof(message.step), subject);
    (void)write_all(status_fd, &message, sizeof(message));
}

/// Reports that `step` (plus `subject`) failed with errno and exits the process.
static void _Noreturn fail(int status_fd, const char *step, const char *subject) {
    int err = errno;
    report(status_fd, KILN_SANDBOX_ERROR, err, step, subject);
    _exit(127);
}

/// Writes `text` to the file `path` (for /proc/self/uid_map and friends).
static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = write_all(fd, text, strlen(text));
    int err = errno;
    close(fd);
    errno = err;
    return result;
}

// MARK: - The processes

/// Host device nodes bound into the sandbox's /dev.
static const char *const device_names[] = { "null", "zero", "full", "random", "urandom", "tty" };
#define DEVICE_COUNT (sizeof(device_names) / sizeof(device_names[0]))

/// The path "/proc/self/fd/N" of an open descriptor, for mounts whose source is an fd.
static void fd_path(char *buffer, size_t capacity, int fd) {
    buffer[0] = '\0';
    append(buffer, capacity, "/proc/self/fd/");
    append_number(buffer, capacity, (unsigned long)fd);
}

/// The capabilities a command keeps: CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
/// NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, AUDIT_WRITE, SETFCAP (capability.h numbers).
static const int kept_capabilities[] = { 0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 29, 31 };
#define KEPT_CAPABILITY_COUNT (sizeof(kept_capabilities) / sizeof(kept_capabilities[0]))

/// The command (PID 2): standard streams, user, working directory, execve.
static void _Noreturn run_command(const struct kiln_sandbox_spec *spec, int output_fd, int status_fd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    setsid();
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd < 0) fail(status_fd, "open /dev/null in the sandbox", "");
    // The pipe belongs to kiln's user: give it to the command's, so /dev/stdout (a reopen through
    // /proc/self/fd) works for a non-root command too. Rootless, the caller's ids are the command's.
    if (!spec->rootless && fchown(output_fd, spec->uid, spec->gid) != 0) fail(status_fd, "fchown of the output pipe", "");
    if (dup2(null_fd, 0) < 0 || dup2(output_fd, 1) < 0 || dup2(output_fd, 2) < 0) {
        fail(status_fd, "dup2 of the standard streams", "");
    }
    // Capabilities: Docker's default set without CAP_MKNOD (no device cgroup guards the host's disks);
    // everything else (CAP_SYS_ADMIN, CAP_NET_ADMIN on the shared host network, CAP_SYS_MODULE…) leaves
    // the bounding set, so not even root inside the sandbox can get it back.
    for (int cap = 0; cap < 64; cap++) {
        int kept = 0;
        for (size_t i = 0; i < KEPT_CAPABILITY_COUNT; i++) kept |= kept_capabilities[i] == cap;
        if (!kept && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
            fail(status_fd, "prctl(PR_CAPBSET_DROP)", "");
        }
    }
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (!spec->rootless && setgroups(0, NULL) != 0) fail(status_fd, "setgroups", "");
    if (setgid(spec->gid) != 0) fail(status_fd, "setgid", "");
    if (setuid(spec->uid) != 0) fail(status_fd, "setuid", "");
    if (chdir(spec->cwd) != 0) fail(status_fd, "chdir to the working directory ", spec->cwd);

    const char *name = spec->argv[0];
    if (strchr(name, '/') != NULL) {
        execve(name, (char *const *)spec->argv, (char *const *)spec->envp);
        if (errno == ENOENT) {
            report(status_fd, KILN_SANDBOX_NOT_FOUND, errno, name, "");
            _exit(127);
        }
        fail(status_fd, "execve ", name);
    }
    int saved = ENOENT;
    for (const char *const *dir = spec->search_path; *dir != NULL; dir++) {
        char path[4096];
        path[0] = '\0';
        append(path, sizeof(path), *dir);
        append(path, sizeof(path), "/");
        append(path, sizeof(path), name);
        execve(path, (char *const *)spec->argv, (char *const *)spec->envp);
        if (errno != ENOENT && errno != ENOTDIR) saved = errno;
    }
    if (saved == ENOENT) {
        report(status_fd, KILN_SANDBOX_NOT_FOUND, saved, name, "");
        _exit(127);
    }
    errno = saved;
    fail(status_fd, "execve ", name);
}

/// Mounts proc (of the new PID namespace) on the root's /proc and a tmpfs on the root's /dev, binds the
/// host's devices into it, and binds the host's resolver file over the root's /etc/resolv.conf. Runs
/// before pivot_root (a bind needs its source attached to this mount namespace) and therefore reaches the
/// root's directories only through descriptors opened with O_NOFOLLOW from the root, so that a symbolic
/// link in the root cannot point a mount at the host.
static void bind_host_files(const struct kiln_sandbox_spec *spec, int status_fd, int root_fd) {
    char target[64];
    // proc first, while the host's /proc is still visible in this mount namespace: a user namespace may
    // mount proc only where a fully visible one exists (mnt_too_revealing).
    int proc_fd = openat(root_fd, "proc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (proc_fd < 0) fail(status_fd, "open the root's /proc (a directory, not a symbolic link) in ", spec->root);
    fd_path(target, sizeof(target), proc_fd);
    if (mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
        fail(status_fd, "mount proc on /proc in ", spec->root);
    }
    close(proc_fd);

    int dev_fd = openat(root_fd, "dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dev_fd < 0) fail(status_fd, "open the root's /dev (a directory, not a symbolic link) in ", spec->root);
    fd_path(target, sizeof(target), dev_fd);
    if (mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k") != 0) {
        fail(status_fd, "mount tmpfs on /dev in ", spec->root);
    }
    close(dev_fd);
    dev_fd = openat(root_fd, "dev", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);  // now the tmpfs
    if (dev_fd < 0) fail(status_fd, "open the sandbox's /dev in ", spec->root);
    for (size_t i = 0; i < DEVICE_COUNT; i++) {
        char source[64] = "/dev/";
        append(source, sizeof(source), device_names[i]);
        struct stat info;
        if (stat(source, &info) != 0) {
            if (i < 5) fail(status_fd, "find the host's ", source);
            continue;  // no /dev/tty on this host
        }
        if (!S_ISCHR(info.st_mode)) {
            errno = ENODEV;
            fail(status_fd, "use the host's device (it is not a character device) ", source);
        }
        int fd = openat(dev_fd, device_names[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0) fail(status_fd, "create the mount point /dev/", device_names[i]);
        fd_path(target, sizeof(target), fd);
        if (mount(source, target, NULL, MS_BIND, NULL) != 0) fail(status_fd, "bind-mount the host's ", source);
        close(fd);
    }
    close(dev_fd);

    if (spec->resolv_conf != NULL) {
        int etc_fd = openat(root_fd, "etc", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (etc_fd < 0) fail(status_fd, "open the root's /etc (a directory, not a symbolic link) in ", spec->root);
        int fd = openat(etc_fd, "resolv.conf", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat info;
        if (fd < 0 || fstat(fd, &info) != 0) fail(status_fd, "open the root's /etc/resolv.conf in ", spec->root);
        if (!S_ISREG(info.st_mode)) {
            errno = EINVAL;
            fail(status_fd, "bind over the root's /etc/resolv.conf (not a regular file) in ", spec->root);
        }
        fd_path(target, sizeof(target), fd);
        if (mount(spec->resolv_conf, target, NULL, MS_BIND, NULL) != 0) {
            fail(status_fd, "bind-mount the host's ", spec->resolv_conf);
        }
        close(fd);
        close(etc_fd);
    }
}

/// Mounts inside the new root (after pivot_root): devpts, /dev/shm, the /dev links, and makes /proc/sys,
/// /proc/sysrq-trigger and /etc/resolv.conf read-only.
static void provide_mounts(const struct kiln_sandbox_spec *spec, int status_fd) {
    // Optional: a private devpts and a /dev/shm (a failure here does not stop the command).
    if (mkdir("/dev/pts", 0755) == 0
        && mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") == 0) {
        (void)symlink("pts/ptmx", "/dev/ptmx");
    }
    if (mkdir("/dev/shm", 01777) == 0) {
        (void)mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
        (void)chmod("/dev/shm", 01777);
    }
    // The kernel's knobs stay read-only: the sandbox shares the host's network namespace, and most
    // sysctls are global.
    const char *const read_only[] = { "/proc/sys", "/proc/sysrq-trigger" };
    for (size_t i = 0; i < 2; i++) {
        struct stat info;
        if (stat(read_only[i], &info) != 0 && errno == ENOENT) continue;  // a kernel without it
        if (mount(read_only[i], read_only[i], NULL, MS_BIND | MS_REC, NULL) != 0
            || mount(NULL, read_only[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                     NULL) != 0) {
            fail(status_fd, "make read-only: ", read_only[i]);
        }
    }
    (void)symlink("/proc/self/fd", "/dev/fd");
    (void)symlink("/proc/self/fd/0", "/dev/stdin");
    (void)symlink("/proc/self/fd/1", "/dev/stdout");
    (void)symlink("/proc/self/fd/2", "/dev/stderr");
    if (spec->resolv_conf != NULL
        && mount(NULL, "/etc/resolv.conf", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) != 0) {
        fail(status_fd, "remount /etc/resolv.conf read-only", "");
    }
}

/// The sandbox's init (PID 1 of the new PID namespace): root, mounts, host name, then the command.
static void _Noreturn run_init(const struct kiln_sandbox_spec *spec, int output_fd, int status_fd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (spec->overlay_options != NULL) {
        if (mount("overlay", spec->root, "overlay", 0, spec->overlay_options) != 0) {
            fail(status_fd, "mount overlay on ", spec->root);
        }
    } else if (mount(spec->root, spec->root, NULL, MS_BIND | MS_REC, NULL) != 0) {
        fail(status_fd, "bind-mount the root onto itself: ", spec->root);
    }

    int root_fd = open(spec->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0) fail(status_fd, "open ", spec->root);
    bind_host_files(spec, status_fd, root_fd);

    // Enter the root: pivot_root(".", ".") stacks the old root under the new one; detaching it leaves
    // nothing of the host's tree reachable. Where pivot_root is impossible (a root on initramfs), chroot.
    if (fchdir(root_fd) != 0) fail(status_fd, "chdir to ", spec->root);
    close(root_fd);
    if (syscall(SYS_pivot_root, ".", ".") == 0) {
        if (umount2(".", MNT_DETACH) != 0) fail(status_fd, "detach the host's root after pivot_root", "");
    } else if (errno != EINVAL || chroot(".") != 0) {
        fail(status_fd, "pivot_root into ", spec->root);
    }
    if (chdir("/") != 0) fail(status_fd, "chdir to / in ", spec->root);

    provide_mounts(spec, status_fd);
    if (sethostname(spec->hostname, strlen(spec->hostname)) != 0) fail(status_fd, "sethostname ", spec->hostname);

    pid_t command = fork();
    if (command < 0) fail(status_fd, "fork the command", "");
    if (command == 0) run_command(spec, output_fd, status_fd);
    close(output_fd);

    // Reap everything (orphans are re-parented to PID 1) until the command ends.
    int status = 0;
    for (;;) {
        int child_status = 0;
        pid_t pid = waitpid(-1, &child_status, 0);
        if (pid == command) {
            status = child_status;
            break;
        }
        if (pid < 0 && errno != EINTR) fail(status_fd, "waitpid for the command", "");
    }
    report(status_fd, KILN_SANDBOX_EXIT, status, "", "");
    // Exiting kills whatever the command left running in the PID namespace.
    _exit(0);
}

/// The monitor: namespaces, then init; reports init's death if init could not report the command's.
static void _Noreturn run_monitor(const struct kiln_sandbox_spec *spec, pid_t kiln, int output_fd, int status_fd) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != kiln) _exit(127);  // kiln died before the line above

    // Default signal dispositions and an empty mask (children of `swift test` inherit a blocked SIGTERM).
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) (void)sigaction(sig, &action, NULL);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, NULL);

    // No descriptor of kiln's other work leaks into the sandbox.
    int low = output_fd < status_fd ? output_fd : status_fd;
    int high = output_fd < status_fd ? status_fd : output_fd;
    if (low > 3) syscall(SYS_close_range, 3U, (unsigned)(low - 1), 0U);
    if (high > low + 1) syscall(SYS_close_range, (unsigned)(low + 1), (unsigned)(high - 1), 0U);
    syscall(SYS_close_range, (unsigned)(high + 1), ~0U, 0U);

    if (spec->rootless) {
        unsigned long outer_uid = getuid(), outer_gid = getgid();
        if (unshare(CLONE_NEWUSER) != 0) fail(status_fd, "unshare(CLONE_NEWUSER)", "");
        if (write_file("/proc/self/setgroups", "deny") != 0) fail(status_fd, "write /proc/self/setgroups", "");
        char map[64] = "";
        append_number(map, sizeof(map), spec->uid);
        append(map, sizeof(map), " ");
        append_number(map, sizeof(map), outer_uid);
        append(map, sizeof(map), " 1\n");
        if (write_file("/proc/self/uid_map", map) != 0) fail(status_fd, "write /proc/self/uid_map: ", map);
        map[0] = '\0';
        append_number(map, sizeof(map), spec->gid);
        append(map, sizeof(map), " ");
        append_number(map, sizeof(map), outer_gid);
        append(map, sizeof(map), " 1\n");
        if (write_file("/proc/self/gid_map", map) != 0) fail(status_fd, "write /proc/self/gid_map: ", map);
    }
    if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC) != 0) {
        fail(status_fd, "unshare(CLONE_NEWNS|CLONE_NEWPID|CLONE_NEWUTS|CLONE_NEWIPC)", "");
    }
    // Nothing mounted in the sandbox propagates back to the host.
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail(status_fd, "make all mounts private", "");

    pid_t init = fork();
    if (init < 0) fail(status_fd, "fork the sandbox's init", "");
    if (init == 0) run_init(spec, output_fd, status_fd);
    close(output_fd);
    int status = 0;
    while (waitpid(init, &status, 0) < 0) {
        if (errno != EINTR) fail(status_fd, "waitpid for the sandbox's init", "");
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) report(status_fd, KILN_SANDBOX_INIT_DIED, status, "", "");
    _exit(0);
}

pid_t kiln_sandbox_spawn(const struct kiln_sandbox_spec *spec, int *output_fd, int *status_fd) {
    int output[2], status[2];
    if (pipe2(output, O_CLOEXEC) != 0) return -1;
    if (pipe2(status, O_CLOEXEC) != 0) {
        int err = errno;
        close(output[0]);
        close(output[1]);
        errno = err;
        return -1;
    }
    pid_t kiln = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(output[0]);
        close(status[0]);
        run_monitor(spec, kiln, output[1], status[1]);
    }
    int err = errno;
    close(output[1]);
    close(status[1]);
    if (pid < 0) {
        close(output[0]);
        close(status[0]);
        errno = err;
        return -1;
    }
    *output_fd = output[0];
    *status_fd = status[0];
    return pid;
}
