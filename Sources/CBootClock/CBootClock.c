#define _GNU_SOURCE
#include "CBootClock.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

double cbootclock_seconds(void) {
    struct timespec now;
    // syscall(2) is variadic, which Swift cannot call.
    if (syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &now) != 0) return -1;
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}
