// An LD_PRELOAD shim that fails one kind of file I/O at the Nth call, for the I/O fault sweeps
// of the test suite (issue "Hardening"). Built as libPGFaultShim.so; never linked by the SDK.
//
//   PG_FAULT_CALLS   fsync (fsync, fdatasync) or write (write, pwrite, pwrite64)
//   PG_FAULT_AT      the call to fail, counting from 1 (only calls on regular files under
//                    PG_FAULT_PATH count); 0 or unset: fail nothing, only count
//   PG_FAULT_ERRNO   EIO (default) or ENOSPC
//   PG_FAULT_STICKY  1: fail that call and every later one of its kind (a full disk)
//   PG_FAULT_PATH    only files whose path starts with this count (default: every file)
//   PG_FAULT_REPORT  a file that gets "fsync=N write=M failed=K" at exit
//   PG_FAULT_VERBOSE 1: name each failed call's file on standard error
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static atomic_long fsync_calls, write_calls, failed_calls;

static void describe(int fd, const char *kind, long call) {
    const char *verbose = getenv("PG_FAULT_VERBOSE");
    if (verbose == NULL || strcmp(verbose, "1") != 0) return;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, path, sizeof path - 1);
    path[length > 0 ? length : 0] = '\0';
    fprintf(stderr, "faultshim: failed %s call %ld on %s\n", kind, call, path);
}

static int counts(int fd) {
    struct stat status;
    if (fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) return 0;
    const char *prefix = getenv("PG_FAULT_PATH");
    if (prefix == NULL || *prefix == '\0') return 1;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t length = readlink(link, path, sizeof path - 1);
    if (length <= 0) return 0;
    path[length] = '\0';
    return strncmp(path, prefix, strlen(prefix)) == 0;
}

/// Whether this call (the `call`th of `kind`) must fail; sets errno when it must.
static int fails(const char *kind, long call) {
    const char *selected = getenv("PG_FAULT_CALLS");
    const char *at = getenv("PG_FAULT_AT");
    if (selected == NULL || at == NULL || strcmp(selected, kind) != 0) return 0;
    long target = atol(at);
    if (target <= 0) return 0;
    const char *sticky = getenv("PG_FAULT_STICKY");
    int hit = (sticky != NULL && strcmp(sticky, "1") == 0) ? call >= target : call == target;
    if (!hit) return 0;
    const char *name = getenv("PG_FAULT_ERRNO");
    errno = (name != NULL && strcmp(name, "ENOSPC") == 0) ? ENOSPC : EIO;
    atomic_fetch_add(&failed_calls, 1);
    return 1;
}

typedef int (*sync_function)(int);
typedef ssize_t (*write_function)(int, const void *, size_t);
typedef ssize_t (*pwrite_function)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_function)(int, const void *, size_t, off64_t);

#define NEXT(name, type) \
    static type next_##name; \
    if (next_##name == NULL) next_##name = (type)dlsym(RTLD_NEXT, #name)

/// Whether this call on `fd` (of `kind`, counted in `counter`) must fail; sets errno when so.
static int injected(int fd, const char *kind, atomic_long *counter) {
    if (!counts(fd)) return 0;
    long call = atomic_fetch_add(counter, 1) + 1;
    if (!fails(kind, call)) return 0;
    int saved = errno;
    describe(fd, kind, call);
    errno = saved;
    return 1;
}

int fsync(int fd) {
    NEXT(fsync, sync_function);
    return injected(fd, "fsync", &fsync_calls) ? -1 : next_fsync(fd);
}

int fdatasync(int fd) {
    NEXT(fdatasync, sync_function);
    return injected(fd, "fsync", &fsync_calls) ? -1 : next_fdatasync(fd);
}

ssize_t write(int fd, const void *buffer, size_t count) {
    NEXT(write, write_function);
    return injected(fd, "write", &write_calls) ? -1 : next_write(fd, buffer, count);
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    NEXT(pwrite, pwrite_function);
    return injected(fd, "write", &write_calls) ? -1 : next_pwrite(fd, buffer, count, offset);
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    NEXT(pwrite64, pwrite64_function);
    return injected(fd, "write", &write_calls) ? -1 : next_pwrite64(fd, buffer, count, offset);
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("PG_FAULT_REPORT");
    if (path == NULL || *path == '\0') return;
    FILE *file = fopen(path, "w");
    if (file == NULL) return;
    fprintf(file, "fsync=%ld write=%ld failed=%ld\n", atomic_load(&fsync_calls), atomic_load(&write_calls),
        atomic_load(&failed_calls));
    fclose(file);
}
