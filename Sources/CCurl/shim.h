// Typed wrappers for libcurl's variadic calls, which Swift cannot call directly.
// Only PlusGuidanceNetworking imports this module.
#ifndef PLUSGUIDANCE_CCURL_SHIM_H
#define PLUSGUIDANCE_CCURL_SHIM_H

#include <curl/curl.h>

typedef size_t (*pg_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);
typedef int (*pg_curl_progress_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode pg_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_share(CURL *handle, CURLSH *share) {
    return curl_easy_setopt(handle, CURLOPT_SHARE, share);
}
static inline CURLcode pg_easy_setopt_data_callback(CURL *handle, CURLoption option, pg_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}
static inline CURLcode pg_easy_setopt_progress_callback(CURL *handle, pg_curl_progress_callback value) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}

static inline CURLcode pg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode pg_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}
static inline CURLcode pg_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLMcode pg_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl_multi_setopt(handle, option, value);
}
static inline CURLSHcode pg_share_setopt_long(CURLSH *handle, CURLSHoption option, long value) {
    return curl_share_setopt(handle, option, value);
}

// CURLMsg's `data` is a union; Swift cannot read it.
static inline CURLcode pg_multi_message_result(CURLMsg *message) { return message->data.result; }

// Values that are macros or enums Swift imports awkwardly.
static inline size_t pg_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int pg_pause_all(void) { return CURLPAUSE_ALL; }
static inline int pg_pause_cont(void) { return CURLPAUSE_CONT; }

#endif
