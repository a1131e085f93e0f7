// An LD_PRELOAD shim that sets this process's calendar clock (CLOCK_REALTIME) off by a number of
// seconds and, optionally, steps it right some seconds after the process starts: what a kiosk
// sees when it boots without a clock battery and NTP steps its clock a little later (R12). Built
// as libPGClockShim.so for the test suite; never linked by the SDK.
//
//   PG_CLOCK_OFFSET      seconds to add to the calendar clock (negative: behind), e.g. -7200
//   PG_CLOCK_STEP_AFTER  seconds after start at which the clock is put right (unset: never)
//
// Only the calendar clock moves, as with a real step: CLOCK_MONOTONIC and CLOCK_BOOTTIME, and
// every timer and wait on them, are left alone. libfaketime (Debian 12's 0.9.10) cannot be used
// for this on Swift programs: it also shifts absolute timerfd deadlines on the monotonic clock,
// so every Task.sleep in a Swift program waits for the offset too.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double started = -1;

static double monotonic_seconds(void) {
    struct timespec now;
    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

__attribute__((constructor)) static void clockshim_start(void) { started = monotonic_seconds(); }

/// The offset in force now, in nanoseconds.
static long long offset_ns(void) {
    const char *offset = getenv("PG_CLOCK_OFFSET");
    if (offset == NULL || *offset == '\0') return 0;
    const char *after = getenv("PG_CLOCK_STEP_AFTER");
    if (after != NULL && *after != '\0' && monotonic_seconds() - started >= atof(after)) return 0;
    return (long long)(atof(offset) * 1e9);
}

static void shift(struct timespec *time, long long by) {
    long long ns = (long long)time->tv_sec * 1000000000LL + time->tv_nsec + by;
    time->tv_sec = (time_t)(ns / 1000000000LL);
    time->tv_nsec = (long)(ns % 1000000000LL);
    if (time->tv_nsec < 0) {
        time->tv_nsec += 1000000000L;
        time->tv_sec -= 1;
    }
}

int clock_gettime(clockid_t clock, struct timespec *time) {
    int result = (int)syscall(SYS_clock_gettime, clock, time);
    if (result == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE)) shift(time, offset_ns());
    return result;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz) {
    (void)tz;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    tv->tv_sec = now.tv_sec;
    tv->tv_usec = now.tv_nsec / 1000;
    return 0;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out != NULL) *out = now.tv_sec;
    return now.tv_sec;
}
