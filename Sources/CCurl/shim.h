// CCurl: libcurl for Swift. Swift cannot call C variadic functions, so curl_easy_setopt and
// curl_easy_getinfo are exposed through one typed static inline helper per argument type.
// Only KilnHTTP imports this module (internal import); nothing here leaves it.
#ifndef KILN_CCURL_SHIM_H
#define KILN_CCURL_SHIM_H

#include <curl/curl.h>

/// curl_global_init(CURL_GLOBAL_DEFAULT); the macro is a composite that Swift may not import.
static inline CURLcode kiln_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_DEFAULT);
}

/// The size CURLOPT_ERRORBUFFER needs.
static inline size_t kiln_curl_error_size(void) { return CURL_ERROR_SIZE; }

// MARK: curl_easy_setopt, one helper per parameter type.

static inline CURLcode kiln_curl_setopt_long(CURL *curl, CURLoption option, long value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode kiln_curl_setopt_off_t(CURL *curl, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(curl, option, value);
}

/// String options: libcurl copies the string (since 7.17), so it need not outlive the call.
static inline CURLcode kiln_curl_setopt_string(CURL *curl, CURLoption option, const char *value) {
    return curl_easy_setopt(curl, option, value);
}

/// Pointer options (CURLOPT_*DATA, CURLOPT_ERRORBUFFER): the pointee must outlive the transfer.
static inline CURLcode kiln_curl_setopt_pointer(CURL *curl, CURLoption option, void *value) {
    return curl_easy_setopt(curl, option, value);
}

static inline CURLcode kiln_curl_setopt_slist(CURL *curl, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(curl, option, value);
}

/// CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION.
static inline CURLcode kiln_curl_setopt_write_callback(CURL *curl, CURLoption option, curl_write_callback value) {
    return curl_easy_setopt(curl, option, value);
}

/// CURLOPT_READFUNCTION.
static inline CURLcode kiln_curl_setopt_read_callback(CURL *curl, CURLoption option, curl_read_callback value) {
    return curl_easy_setopt(curl, option, value);
}

/// CURLOPT_SEEKFUNCTION.
static inline CURLcode kiln_curl_setopt_seek_callback(CURL *curl, CURLoption option, curl_seek_callback value) {
    return curl_easy_setopt(curl, option, value);
}

/// CURLOPT_XFERINFOFUNCTION.
static inline CURLcode kiln_curl_setopt_xferinfo_callback(CURL *curl, CURLoption option, curl_xferinfo_callback value) {
    return curl_easy_setopt(curl, option, value);
}

/// CURLOPT_DEBUGFUNCTION (used for a redacting verbose log).
static inline CURLcode kiln_curl_setopt_debug_callback(CURL *curl, CURLoption option, curl_debug_callback value) {
    return curl_easy_setopt(curl, option, value);
}

// MARK: curl_easy_getinfo, one helper per result type.

static inline CURLcode kiln_curl_getinfo_long(CURL *curl, CURLINFO info, long *value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLcode kiln_curl_getinfo_double(CURL *curl, CURLINFO info, double *value) {
    return curl_easy_getinfo(curl, info, value);
}

static inline CURLcode kiln_curl_getinfo_off_t(CURL *curl, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(curl, info, value);
}

/// The string belongs to the handle and is valid until the next transfer or cleanup.
static inline CURLcode kiln_curl_getinfo_string(CURL *curl, CURLINFO info, char **value) {
    return curl_easy_getinfo(curl, info, value);
}

#endif
