// CZlib: zlib for Swift, used by KilnArchive's block-parallel gzip. Only KilnArchive imports it.
#ifndef KILN_CZLIB_SHIM_H
#define KILN_CZLIB_SHIM_H
#include <zlib.h>
// deflateInit2 is a macro over deflateInit2_; give Swift a function.
static inline int kiln_deflate_init2(z_streamp strm, int level, int method, int windowBits, int memLevel, int strategy) {
    return deflateInit2(strm, level, method, windowBits, memLevel, strategy);
}
static inline int kiln_inflate_init2(z_streamp strm, int windowBits) { return inflateInit2(strm, windowBits); }
#endif
