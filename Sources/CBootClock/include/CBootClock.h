#ifndef PG_CBOOTCLOCK_H
#define PG_CBOOTCLOCK_H

/// Seconds since boot on CLOCK_BOOTTIME (suspend counted, never stepped), read from the kernel
/// by the raw system call rather than through the C library's clock_gettime: a preloaded time
/// shim (libfaketime) moves the C library's clocks, every one of them, the way no real clock
/// step moves this one. Returns -1 when the kernel has no such clock.
double cbootclock_seconds(void);

#endif
