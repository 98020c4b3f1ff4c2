// CZstd: libzstd for Swift, used by KilnArchive's multithreaded zstd. Only KilnArchive imports it.
#ifndef KILN_CZSTD_SHIM_H
#define KILN_CZSTD_SHIM_H
#include <zstd.h>
#endif
