#include "CCurlLoader.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

// The addresses dlsym found, written once under pthread_once, read-only afterwards.
static struct {
    CURLcode (*curl_global_init)(long flags);
    CURL * (*curl_easy_init)(void);
    void (*curl_easy_cleanup)(CURL *handle);
    void (*curl_easy_reset)(CURL *handle);
    CURLcode (*curl_easy_pause)(CURL *handle, int bitmask);
    const char * (*curl_easy_strerror)(CURLcode code);
    CURLM * (*curl_multi_init)(void);
    CURLMcode (*curl_multi_cleanup)(CURLM *multi);
    CURLMcode (*curl_multi_add_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*curl_multi_remove_handle)(CURLM *multi, CURL *handle);
    CURLMcode (*curl_multi_perform)(CURLM *multi, int *running);
    CURLMcode (*curl_multi_poll)(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms, int *numfds);
    CURLMsg * (*curl_multi_info_read)(CURLM *multi, int *queued);
    CURLMcode (*curl_multi_timeout)(CURLM *multi, long *milliseconds);
    CURLMcode (*curl_multi_wakeup)(CURLM *multi);
    CURLSH * (*curl_share_init)(void);
    CURLSHcode (*curl_share_cleanup)(CURLSH *share);
    struct curl_slist * (*curl_slist_append)(struct curl_slist *list, const char *string);
    void (*curl_slist_free_all)(struct curl_slist *list);
    CURLcode (*curl_easy_setopt)(CURL *handle, CURLoption option, ...);
    CURLcode (*curl_easy_getinfo)(CURL *handle, CURLINFO info, ...);
    CURLMcode (*curl_multi_setopt)(CURLM *multi, CURLMoption option, ...);
    CURLSHcode (*curl_share_setopt)(CURLSH *share, CURLSHoption option, ...);
} curl;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded = 0;
static char load_error[256];

static void load(void) {
    // RTLD_LOCAL: libcurl's symbols stay out of the global scope, so nothing else in the
    // process binds to them by accident.
    void *library = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_LOCAL);
    if (library == NULL) {
        const char *reason = dlerror();
        strncpy(load_error, reason ? reason : "libcurl.so.4 cannot be opened", sizeof load_error - 1);
        return;
    }
#define RESOLVE(name)                                                                   \
    do {                                                                                \
        *(void **)(&curl.name) = dlsym(library, #name);                                 \
        if (curl.name == NULL) {                                                        \
            strncpy(load_error, "libcurl.so.4 lacks " #name, sizeof load_error - 1);   \
            return;                                                                     \
        }                                                                               \
    } while (0)
    RESOLVE(curl_global_init);
    RESOLVE(curl_easy_init);
    RESOLVE(curl_easy_cleanup);
    RESOLVE(curl_easy_reset);
    RESOLVE(curl_easy_pause);
    RESOLVE(curl_easy_strerror);
    RESOLVE(curl_multi_init);
    RESOLVE(curl_multi_cleanup);
    RESOLVE(curl_multi_add_handle);
    RESOLVE(curl_multi_remove_handle);
    RESOLVE(curl_multi_perform);
    RESOLVE(curl_multi_poll);
    RESOLVE(curl_multi_info_read);
    RESOLVE(curl_multi_timeout);
    RESOLVE(curl_multi_wakeup);
    RESOLVE(curl_share_init);
    RESOLVE(curl_share_cleanup);
    RESOLVE(curl_slist_append);
    RESOLVE(curl_slist_free_all);
    RESOLVE(curl_easy_setopt);
    RESOLVE(curl_easy_getinfo);
    RESOLVE(curl_multi_setopt);
    RESOLVE(curl_share_setopt);
#undef RESOLVE
    loaded = 1;
}

int pg_curl_load(char *error, size_t capacity) {
    pthread_once(&load_once, load);
    if (!loaded && error != NULL && capacity > 0) {
        strncpy(error, load_error, capacity - 1);
        error[capacity - 1] = 0;
    }
    return loaded;
}

CURLcode pg_curl_global_init(long flags) { return curl.curl_global_init(flags); }
CURL * pg_curl_easy_init(void) { return curl.curl_easy_init(); }
void pg_curl_easy_cleanup(CURL *handle) { curl.curl_easy_cleanup(handle); }
void pg_curl_easy_reset(CURL *handle) { curl.curl_easy_reset(handle); }
CURLcode pg_curl_easy_pause(CURL *handle, int bitmask) { return curl.curl_easy_pause(handle, bitmask); }
const char * pg_curl_easy_strerror(CURLcode code) { return curl.curl_easy_strerror(code); }
CURLM * pg_curl_multi_init(void) { return curl.curl_multi_init(); }
CURLMcode pg_curl_multi_cleanup(CURLM *multi) { return curl.curl_multi_cleanup(multi); }
CURLMcode pg_curl_multi_add_handle(CURLM *multi, CURL *handle) { return curl.curl_multi_add_handle(multi, handle); }
CURLMcode pg_curl_multi_remove_handle(CURLM *multi, CURL *handle) { return curl.curl_multi_remove_handle(multi, handle); }
CURLMcode pg_curl_multi_perform(CURLM *multi, int *running) { return curl.curl_multi_perform(multi, running); }
CURLMcode pg_curl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds, int timeout_ms, int *numfds) { return curl.curl_multi_poll(multi, extra_fds, extra_nfds, timeout_ms, numfds); }
CURLMsg * pg_curl_multi_info_read(CURLM *multi, int *queued) { return curl.curl_multi_info_read(multi, queued); }
CURLMcode pg_curl_multi_timeout(CURLM *multi, long *milliseconds) { return curl.curl_multi_timeout(multi, milliseconds); }
CURLMcode pg_curl_multi_wakeup(CURLM *multi) { return curl.curl_multi_wakeup(multi); }
CURLSH * pg_curl_share_init(void) { return curl.curl_share_init(); }
CURLSHcode pg_curl_share_cleanup(CURLSH *share) { return curl.curl_share_cleanup(share); }
struct curl_slist * pg_curl_slist_append(struct curl_slist *list, const char *string) { return curl.curl_slist_append(list, string); }
void pg_curl_slist_free_all(struct curl_slist *list) { curl.curl_slist_free_all(list); }

CURLcode pg_easy_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_share(CURL *handle, CURLSH *share) {
    return curl.curl_easy_setopt(handle, CURLOPT_SHARE, share);
}
CURLcode pg_easy_setopt_data_callback(CURL *handle, CURLoption option, pg_curl_data_callback value) {
    return curl.curl_easy_setopt(handle, option, value);
}
CURLcode pg_easy_setopt_progress_callback(CURL *handle, pg_curl_progress_callback value) {
    return curl.curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}
CURLcode pg_easy_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl.curl_easy_getinfo(handle, info, value);
}
CURLcode pg_easy_getinfo_off_t(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl.curl_easy_getinfo(handle, info, value);
}
CURLcode pg_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value) {
    return curl.curl_easy_getinfo(handle, info, value);
}
CURLMcode pg_multi_setopt_long(CURLM *handle, CURLMoption option, long value) {
    return curl.curl_multi_setopt(handle, option, value);
}
CURLSHcode pg_share_setopt_long(CURLSH *handle, CURLSHoption option, long value) {
    return curl.curl_share_setopt(handle, option, value);
}
