// The public header, for the shape of pg_error and the version macros (pg_support.h repeats
// the shape for Swift, which must not import the pg_ declarations it defines itself).
#include "../../include/plusguidance.h"

void pgc_set_error(int status, const char *code, const char *message);
int pgc_eventfd_open(void);
void pgc_eventfd_signal(int fd);
void pgc_eventfd_drain(int fd);

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static _Thread_local char last_code[64] = "none";
static _Thread_local char last_message[512] = "no error";
static _Thread_local pg_error last = {0, 0, 0};

PG_EXTERN const pg_error *pg_error_last(void) {
    // The fields point at this thread's buffers, whichever thread set them first.
    last.code = last_code;
    last.message = last_message;
    return &last;
}

/// Copies at most `size - 1` bytes of `text`, never cutting a UTF-8 sequence in two.
static void copy_utf8(char *into, size_t size, const char *text) {
    size_t length = text ? strlen(text) : 0;
    if (length >= size) {
        length = size - 1;
        while (length > 0 && ((unsigned char)text[length] & 0xC0) == 0x80) length--;
    }
    if (length > 0) memcpy(into, text, length);
    into[length] = '\0';
}

void pgc_set_error(int status, const char *code, const char *message) {
    last.status = status;
    copy_utf8(last_code, sizeof last_code, code);
    copy_utf8(last_message, sizeof last_message, message);
}

int pgc_eventfd_open(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }

void pgc_eventfd_signal(int fd) {
    uint64_t one = 1;
    // A full counter (2^64 - 2) is still readable: nothing to do then.
    (void)!write(fd, &one, sizeof one);
}

void pgc_eventfd_drain(int fd) {
    uint64_t count;
    (void)!read(fd, &count, sizeof count);
}

PG_EXTERN const char *pg_version(void) { return PG_VERSION; }
