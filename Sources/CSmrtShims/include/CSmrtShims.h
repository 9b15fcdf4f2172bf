#ifndef CSMRT_SHIMS_H
#define CSMRT_SHIMS_H

#include <sys/types.h>

#include "CSmrtSpawn.h"

/* prctl(2) is variadic in glibc, so Swift cannot call it directly.
   Asks the kernel to send `signal` to this process when its parent dies.
   Returns 0 or -1 with errno set. */
int csmrt_set_parent_death_signal(int signal);

/* The parent pid seen right now (used after PR_SET_PDEATHSIG to close the race
   where the parent died before the call). */
pid_t csmrt_getppid(void);

/* prlimit(2) with a plain int resource (glibc's enum type does not import cleanly).
   Sets the soft and hard limit of `resource` (RLIMIT_AS, RLIMIT_CPU, ...) of process `pid`.
   Returns 0 or -1 with errno set. */
int csmrt_set_rlimit(pid_t pid, int resource, unsigned long long soft, unsigned long long hard);

/* pipe2(2) with O_NONBLOCK | O_CLOEXEC (glibc declares it only under _GNU_SOURCE): a wake-up pipe that no
   child process inherits, even one forked by another thread at the same moment.
   Returns 0 or -1 with errno set. */
int csmrt_wake_pipe(int fds[2]);

/* pipe2(2) with O_CLOEXEC only: a pipe for a child's stdio (its end is dup'ed onto 0-2 in the child, and must
   stay blocking there). Returns 0 or -1 with errno set. */
int csmrt_cloexec_pipe(int fds[2]);

#endif
