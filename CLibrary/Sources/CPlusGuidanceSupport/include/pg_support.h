// What the C library keeps in C: the calling thread's last error (a `_Thread_local` that needs
// no cleanup at thread exit) and the event descriptor (eventfd, which Swift's Glibc module does
// not import). Only `pg_error_last` is exported; the `pgc_` helpers stay inside the library.
#ifndef PG_SUPPORT_H
#define PG_SUPPORT_H

#include <stdint.h>

/// The shape `plusguidance.h` declares for `pg_error_last()`.
typedef struct pg_error {
    int status;
    const char *code;
    const char *message;
} pg_error;

const pg_error *pg_error_last(void);

/// Records a failure for the calling thread; `code` and `message` are copied (truncated at 63
/// and 511 bytes, on a UTF-8 boundary).
void pgc_set_error(int status, const char *code, const char *message);

/// A non-blocking, close-on-exec eventfd, or -1 with errno.
int pgc_eventfd_open(void);
/// Makes the descriptor readable.
void pgc_eventfd_signal(int fd);
/// Makes it unreadable again.
void pgc_eventfd_drain(int fd);

#endif
