#ifndef CSMRT_SPAWN_H
#define CSMRT_SPAWN_H

#include <sys/types.h>

/* A fork/exec of our own for worker processes (libuv's uv_spawn has no hook between fork and exec).

   The child, between fork and exec and in this order: resets every signal disposition to the default, starts
   a new session if asked, puts the given descriptors on 0, 1, 2, ... and marks every other descriptor
   close-on-exec (close_range), raises its nice value if asked, lowers its resource limits, drops supplementary groups and switches group and
   user, changes directory, then execs (PATH looked up in the child's environment). Limits are set while the
   child still has the parent's credentials, before the user switch, so they need no capability: lowering
   one's own limits is always allowed.

   The parent blocks every signal around fork (so no handler of the parent runs in the child), then waits until
   the child has exec'd or failed: a failure in the child is reported back (step and errno) through a
   close-on-exec pipe, and the child reaped, before this returns. On success the caller gets the pid and a pidfd
   (pidfd_open), which names this child even after its pid is reused and becomes readable when it exits. */

/* Which step failed (csmrt_spawn_result.step). */
enum {
    CSMRT_SPAWN_OK = 0,
    CSMRT_SPAWN_PIPE = 1,
    CSMRT_SPAWN_FORK = 2,
    CSMRT_SPAWN_PIDFD = 3,
    CSMRT_SPAWN_SETSID = 4,
    CSMRT_SPAWN_DESCRIPTORS = 5,
    CSMRT_SPAWN_RLIMIT = 6,
    CSMRT_SPAWN_SETGROUPS = 7,
    CSMRT_SPAWN_SETGID = 8,
    CSMRT_SPAWN_SETUID = 9,
    CSMRT_SPAWN_CHDIR = 10,
    CSMRT_SPAWN_EXEC = 11,
    CSMRT_SPAWN_NICE = 12,
};

/* The most descriptors a child can be given (0 .. CSMRT_SPAWN_MAX_FDS-1). */
#define CSMRT_SPAWN_MAX_FDS 64

struct csmrt_rlimit {
    int resource;                 /* RLIMIT_AS, RLIMIT_CPU, ... */
    unsigned long long soft;      /* ULLONG_MAX: unlimited */
    unsigned long long hard;      /* capped at the parent's hard limit (raising it would need a capability) */
};

struct csmrt_spawn_options {
    const char *file;             /* with a slash: the path; without: looked up in the child's PATH */
    char *const *argv;            /* NULL-terminated; argv[0] included */
    char *const *envp;            /* NULL-terminated "KEY=value", or NULL to keep this process's environment */
    const char *cwd;              /* NULL: the parent's */
    const int *fds;               /* the child's descriptor i is a copy of fds[i]; -1: /dev/null for 0-2, closed above */
    int fd_count;
    const struct csmrt_rlimit *limits;
    int limit_count;
    int set_uid;
    uid_t uid;
    int set_gid;
    gid_t gid;
    int new_session;              /* setsid() */
    int nice_increment;           /* added to the nice value (0: unchanged); raising it needs no privilege */
};

struct csmrt_spawn_result {
    pid_t pid;
    int pidfd;
    int step;                     /* CSMRT_SPAWN_* of the step that failed */
};

/* Returns 0 and fills pid and pidfd (close-on-exec), or an errno value with `step` naming what failed; then no
   child is left behind and no descriptor is open. */
int csmrt_spawn(const struct csmrt_spawn_options *options, struct csmrt_spawn_result *result);

/* Reaps the child behind `pidfd` if it has ended (waitid P_PIDFD, WNOHANG): returns 1 with `*exit_code` and
   `*signal` set (signal 0: it exited), 0 if it is still running, -1 with errno set (ECHILD: somebody else
   reaped it). */
int csmrt_pidfd_reap(int pidfd, int *exit_code, int *signal);

/* pidfd_send_signal(2): returns 0 or -1 with errno set (ESRCH once the child has been reaped). */
int csmrt_pidfd_send_signal(int pidfd, int signal);

/* Whether this thread has `capability` (CAP_SYS_RESOURCE, ...) in its effective set: 1, 0, or -1 with errno. */
int csmrt_has_effective_capability(int capability);

#endif
