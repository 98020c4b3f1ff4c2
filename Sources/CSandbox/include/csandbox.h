// CSandbox: the fork/unshare/mount/pivot_root/exec trampoline of the Sandbox module.
//
// Swift cannot run code between fork and exec in a multi-threaded process; this C code does, and only
// with async-signal-safe calls (system calls and its own string helpers; no malloc, no stdio).
//
// The process tree (see sandbox.c):
//   kiln ─ monitor (new user [rootless], mount, PID, UTS and IPC namespaces; outside the new PID namespace)
//            └ init (PID 1 of the new PID namespace: mounts, pivot_root, waits)
//                 └ command (PID 2: drops to the requested uid/gid, execve)
// Each process has PR_SET_PDEATHSIG(SIGKILL) tied to its parent, and when init exits the kernel kills
// everything left in the PID namespace: nothing outlives kiln or the command.
#ifndef KILN_CSANDBOX_H
#define KILN_CSANDBOX_H

#include <stdint.h>
#include <sys/types.h>

/// What the sandbox runs. Every pointer is owned by the caller and must stay valid during the call;
/// string lists end with a NULL entry.
struct kiln_sandbox_spec {
    /// The directory that becomes the root: the root file system itself, or the overlay's mount point.
    const char *root;
    /// When non-NULL, an overlay is mounted on `root` with these options ("lowerdir=…,upperdir=…,…");
    /// when NULL, `root` is bind-mounted onto itself.
    const char *overlay_options;
    /// Non-zero: create a user namespace that maps `uid`/`gid` to the caller's own ids (rootless mode).
    int rootless;
    /// The command; argv[0] is run as is when it contains a '/', else searched in `search_path`.
    const char *const *argv;
    /// The command's environment ("NAME=value").
    const char *const *envp;
    /// Directories (inside the root) searched for argv[0].
    const char *const *search_path;
    /// The working directory inside the root.
    const char *cwd;
    /// The numeric user and group the command runs as (inside the sandbox).
    uint32_t uid;
    uint32_t gid;
    /// The UTS host name.
    const char *hostname;
    /// A host file bound read-only over the root's /etc/resolv.conf, or NULL.
    const char *resolv_conf;
};

/// The kinds of messages on the status pipe.
enum {
    /// A setup step failed: `value` is errno, `step` says which step.
    KILN_SANDBOX_ERROR = 1,
    /// The command ended: `value` is its wait status.
    KILN_SANDBOX_EXIT = 2,
    /// The sandbox's init ended without reporting the command: `value` is init's wait status.
    KILN_SANDBOX_INIT_DIED = 3,
    /// argv[0] was not found on the search path: `step` holds argv[0], `value` errno.
    KILN_SANDBOX_NOT_FOUND = 4,
};

/// One fixed-size message on the status pipe (writes of this size are atomic on a pipe).
struct kiln_sandbox_message {
    int32_t kind;
    int32_t value;
    char step[504];
};

/// Starts the sandbox. On success returns the monitor's pid and sets `*output_fd` (the command's stdout
/// and stderr, merged, read end) and `*status_fd` (the messages above, read end); both are O_CLOEXEC and
/// the caller closes them and reaps the pid with waitpid. On failure returns -1 with errno set.
pid_t kiln_sandbox_spawn(const struct kiln_sandbox_spec *spec, int *output_fd, int *status_fd);

#endif
