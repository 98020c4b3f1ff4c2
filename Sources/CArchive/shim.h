// CArchive: libarchive for Swift. Only KilnArchive imports this module (internal import);
// nothing here leaves it.
#ifndef KILN_CARCHIVE_SHIM_H
#define KILN_CARCHIVE_SHIM_H

#include <archive.h>
#include <archive_entry.h>
#include <sys/xattr.h>

// The AE_IF* file-type macros are octal constants cast to a libarchive typedef; give Swift plain ones.
static inline unsigned int kiln_ae_ifreg(void) { return AE_IFREG; }
static inline unsigned int kiln_ae_ifdir(void) { return AE_IFDIR; }
static inline unsigned int kiln_ae_iflnk(void) { return AE_IFLNK; }
static inline unsigned int kiln_ae_ifchr(void) { return AE_IFCHR; }
static inline unsigned int kiln_ae_ifblk(void) { return AE_IFBLK; }
static inline unsigned int kiln_ae_ififo(void) { return AE_IFIFO; }
static inline unsigned int kiln_ae_ifsock(void) { return AE_IFSOCK; }

// Extended attributes (sys/xattr.h is not part of Swift's Glibc module); LayerExtractor sets them.
static inline int kiln_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}

#endif
