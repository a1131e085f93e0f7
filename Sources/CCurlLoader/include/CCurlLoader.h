// libcurl, loaded the first time it is needed rather than when the process starts.
//
// Linking libcurl makes the dynamic loader map and relocate it and its ~30 dependencies
// (GnuTLS, Kerberos, LDAP, SSH, ...) and run their initialisers at every start: about 9 ms of
// each `pg` command on a 2-core machine, a command that only reads the cache included. Here
// libcurl is opened with dlopen(3) by pg_curl_load() (once, thread-safe), and each function
// PlusGuidanceNetworking uses is called through the address dlsym(3) found. The calls are
// libcurl's own, one for one, named with a `pg_` prefix. Only PlusGuidanceNetworking imports
// this module, and only after pg_curl_load() succeeded.
#ifndef PLUSGUIDANCE_CCURL_LOADER_H
#define PLUSGUIDANCE_CCURL_LOADER_H

#include <curl/curl.h>
#include <stddef.h>

// Opens libcurl (libcurl.so.4) and resolves every function below, once per process. Returns 1
// when libcurl is usable; otherwise 0, with dlerror()'s explanation copied into `error`.
int pg_curl_load(char *error, size_t capacity);

CURLcode pg_curl_global_init(long flags);
CURL * pg_curl_easy_init(void);
void pg_curl_easy_cleanup(CURL *handle);
void pg_curl_easy_reset(CURL *handle);
CURLcode pg_curl_easy_pause(CURL *handle, int bitmask);
const char * pg_curl_easy_strerror(CURLcode code);
CURLM * pg_curl_multi_init(void);
CURLMcode pg_curl_multi_cleanup(CURLM *multi);
CURLMcode pg_curl_multi_add_handle(CURLM *multi, CURL *handle);
CURLMcode pg_curl_multi_remove_handle(CURLM *multi, CURL *handle);
CURLMcode pg_curl_multi_perform(CURLM *multi, int *running);
CURLMcode pg_curl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms, int *numfds);
CURLMsg * pg_curl_multi_info_read(CURLM *multi, int *queued);
CURLMcode pg_curl_multi_timeout(CURLM *multi, long *milliseconds);
CURLMcode pg_curl_multi_wakeup(CURLM *multi);
CURLSH * pg_curl_share_init(void);
CURLSHcode pg_curl_share_cleanup(CURLSH *share);
struct curl_slist * pg_curl_slist_append(struct curl_slist *list, const char *string);
void pg_curl_slist_free_all(struct curl_slist *list);

typedef size_t (*pg_curl_data_callback)(char *buffer, size_t size, size_t count, void *userdata);
typedef int (*pg_curl_progress_callback)(void *userdata, curl_off_t dltotal, curl_off_t dlnow,
                                         curl_off_t ultotal, curl_off_t ulnow);

// Typed forms of libcurl's variadic calls, which Swift cannot call directly.
CURLcode pg_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode pg_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode pg_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode pg_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode pg_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode pg_easy_setopt_share(CURL *handle, CURLSH *share);
CURLcode pg_easy_setopt_data_callback(CURL *handle, CURLoption option, pg_curl_data_callback value);
CURLcode pg_easy_setopt_progress_callback(CURL *handle, pg_curl_progress_callback value);
CURLcode pg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode pg_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value);
CURLcode pg_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);
CURLMcode pg_multi_setopt_long(CURLM *handle, CURLMoption option, long value);
CURLSHcode pg_share_setopt_long(CURLSH *handle, CURLSHoption option, long value);

// CURLMsg's `data` is a union; Swift cannot read it.
static inline CURLcode pg_multi_message_result(CURLMsg *message) { return message->data.result; }

// Values that are macros or enums Swift imports awkwardly.
static inline size_t pg_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int pg_pause_all(void) { return CURLPAUSE_ALL; }
static inline int pg_pause_cont(void) { return CURLPAUSE_CONT; }

#endif
