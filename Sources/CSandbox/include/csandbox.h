// CSandbox: the fork/unshare/chroot/exec trampoline of the Sandbox module (placeholder).
#ifndef KILN_CSANDBOX_H
#define KILN_CSANDBOX_H
int kiln_sandbox_placeholder(void);
#endif
