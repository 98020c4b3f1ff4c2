// CArchive: libarchive for Swift. Only KilnArchive imports this module (internal import);
// nothing here leaves it.
#ifndef KILN_CARCHIVE_SHIM_H
#define KILN_CARCHIVE_SHIM_H

#include <archive.h>
#include <archive_entry.h>

// The AE_IF* file-type macros are octal constants cast to a libarchive typedef; give Swift plain ones.
static inline unsigned int kiln_ae_ifreg(void) { return AE_IFREG; }
static inline unsigned int kiln_ae_ifdir(void) { return AE_IFDIR; }
static inline unsigned int kiln_ae_iflnk(void) { return AE_IFLNK; }

#endif
