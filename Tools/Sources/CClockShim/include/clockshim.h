// libPGClockShim.so exports only interposed libc calls (clock_gettime, gettimeofday, time).
