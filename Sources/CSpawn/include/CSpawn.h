#ifndef PG_CSPAWN_H
#define PG_CSPAWN_H

#include <spawn.h>

/// pipe2(fds, O_CLOEXEC): both ends close on exec from the start, so that a process another
/// thread spawns meanwhile cannot inherit them. Returns 0 or -1 with errno set.
int cspawn_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addclosefrom_np(actions, from): the child closes every descriptor
/// from `from` up. Returns 0 or an error number.
int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
