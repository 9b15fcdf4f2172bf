#define _GNU_SOURCE
#include "CSmrtSpawn.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Raw syscall numbers, so older C libraries without the wrappers still build (x86_64 and arm64 share them). */
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

extern char **environ;

struct spawn_report {
    int step;
    int error;
};

/* Only async-signal-safe calls from here to exec: the parent may have other threads, whose locks the child
   inherits held. */

static void report_and_exit(int fd, int step, int error) {
    struct spawn_report report = { step, error };
    ssize_t n;
    do {
        n = write(fd, &report, sizeof report);
    } while (n < 0 && errno == EINTR);
    _exit(127);
}

static int clear_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
}

/* Every descriptor from `first` up is closed at exec, except that `keep` (the report pipe, close-on-exec
   anyway) stays usable until then. */
static int close_from(unsigned int first, int keep) {
    if (syscall(SYS_close_range, first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return 0;
    /* Before Linux 5.11 (no CLOSE_RANGE_CLOEXEC): close them now, around `keep`. */
    if (keep >= (int)first) {
        if ((unsigned int)keep > first && syscall(SYS_close_range, first, (unsigned int)keep - 1, 0) != 0) goto manual;
        if (syscall(SYS_close_range, (unsigned int)keep + 1, ~0U, 0) != 0) goto manual;
        return 0;
    }
    if (syscall(SYS_close_range, first, ~0U, 0) == 0) return 0;
manual:;
    /* Before Linux 5.9: one close per possible descriptor. */
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0) return -1;
    rlim_t last = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > (1 << 20) ? (1 << 20) : files.rlim_cur;
    for (rlim_t fd = first; fd < last; fd++) {
        if ((int)fd != keep) close((int)fd);
    }
    return 0;
}

static void child(const struct csmrt_spawn_options *o, int report) {
    /* Default dispositions: the parent's handlers (libuv's signal watchers) must not run here, and a signal the
       parent ignores (SIGPIPE, or a real-time one) must not stay ignored across exec. The raw system call, because
       the C library refuses the real-time signals it uses itself; a zeroed kernel sigaction is SIG_DFL with no
       flags and an empty mask, whatever the architecture's layout. Errors (SIGKILL, SIGSTOP) do not matter. */
    unsigned long fallback[8];
    memset(fallback, 0, sizeof fallback);
    for (int sig = 1; sig < NSIG; sig++) syscall(SYS_rt_sigaction, sig, fallback, NULL, (size_t)(NSIG / 8));

    if (o->new_session && setsid() < 0) report_and_exit(report, CSMRT_SPAWN_SETSID, errno);

    /* Descriptors: sources that sit on a target slot of another source are moved above the targets first. */
    int n = o->fd_count;
    if (report < n) {
        int moved = fcntl(report, F_DUPFD_CLOEXEC, n);
        if (moved < 0) _exit(127);
        report = moved;
    }
    int source[CSMRT_SPAWN_MAX_FDS];
    for (int i = 0; i < n; i++) source[i] = o->fds[i];
    for (int i = 0; i < n; i++) {
        if (source[i] >= 0 && source[i] < n && source[i] != i) {
            int moved = fcntl(source[i], F_DUPFD_CLOEXEC, n);
            if (moved < 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
            source[i] = moved;
        }
    }
    for (int i = 0; i < n; i++) {
        if (source[i] == i) {
            if (clear_cloexec(i) != 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
        } else if (source[i] >= 0) {
            int rc;
            do {
                rc = dup2(source[i], i);
            } while (rc < 0 && errno == EINTR);
            if (rc < 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
        } else if (i > 2) {
            close(i);
        } else {
            int null = open("/dev/null", O_RDWR | O_CLOEXEC);
            if (null < 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
            if (null == i) {
                if (clear_cloexec(i) != 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
            } else {
                if (dup2(null, i) < 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);
                close(null);
            }
        }
    }
    /* Nothing else crosses exec: not what the supervisor's own parent left open, nor a descriptor an app that
       embeds the supervisor opened without O_CLOEXEC (from any thread, at any time). */
    if (close_from((unsigned int)n, report) != 0) report_and_exit(report, CSMRT_SPAWN_DESCRIPTORS, errno);

    if (o->nice_increment > 0) {
        errno = 0;
        if (nice(o->nice_increment) == -1 && errno != 0) report_and_exit(report, CSMRT_SPAWN_NICE, errno);
    }

    /* Limits while the credentials are still the parent's. Lowering needs no capability; a hard limit above the
       parent's own would, so it is capped there. */
    for (int i = 0; i < o->limit_count; i++) {
        struct rlimit current;
        if (getrlimit(o->limits[i].resource, &current) != 0) report_and_exit(report, CSMRT_SPAWN_RLIMIT, errno);
        rlim_t hard = (rlim_t)o->limits[i].hard;
        if (hard > current.rlim_max) hard = current.rlim_max;
        rlim_t soft = (rlim_t)o->limits[i].soft;
        if (soft > hard) soft = hard;
        struct rlimit limit = { .rlim_cur = soft, .rlim_max = hard };
        if (setrlimit(o->limits[i].resource, &limit) != 0) report_and_exit(report, CSMRT_SPAWN_RLIMIT, errno);
    }

    if (o->set_uid || o->set_gid) {
        /* An unprivileged parent switching to its own ids has no groups to drop and may not call setgroups. */
        if (setgroups(0, NULL) != 0 && !(errno == EPERM && geteuid() != 0)) {
            report_and_exit(report, CSMRT_SPAWN_SETGROUPS, errno);
        }
    }
    if (o->set_gid && setgid(o->gid) != 0) report_and_exit(report, CSMRT_SPAWN_SETGID, errno);
    if (o->set_uid && setuid(o->uid) != 0) report_and_exit(report, CSMRT_SPAWN_SETUID, errno);

    /* After the switch, so the directory is one the new user may enter. */
    if (o->cwd != NULL && chdir(o->cwd) != 0) report_and_exit(report, CSMRT_SPAWN_CHDIR, errno);

    if (o->envp != NULL) environ = (char **)o->envp;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(o->file, o->argv);
    report_and_exit(report, CSMRT_SPAWN_EXEC, errno);
}

static void reap(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

int csmrt_spawn(const struct csmrt_spawn_options *options, struct csmrt_spawn_result *result) {
    result->pid = -1;
    result->pidfd = -1;
    result->step = CSMRT_SPAWN_OK;
    if (options->fd_count < 0 || options->fd_count > CSMRT_SPAWN_MAX_FDS || options->limit_count < 0) {
        result->step = CSMRT_SPAWN_DESCRIPTORS;
        return EINVAL;
    }
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        result->step = CSMRT_SPAWN_PIPE;
        return errno;
    }
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        child(options, report[1]);
    }
    int fork_error = errno;
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    close(report[1]);
    if (pid < 0) {
        close(report[0]);
        result->step = CSMRT_SPAWN_FORK;
        return fork_error;
    }
    /* Before anything can reap the child, so the pidfd cannot name a reused pid. */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    int pidfd_error = errno;
    struct spawn_report failure;
    ssize_t n;
    do {
        n = read(report[0], &failure, sizeof failure);
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        reap(pid);
        if (pidfd >= 0) close(pidfd);
        result->step = failure.step;
        return failure.error;
    }
    if (pidfd < 0) {
        kill(pid, SIGKILL);
        reap(pid);
        result->step = CSMRT_SPAWN_PIDFD;
        return pidfd_error;
    }
    result->pid = pid;
    result->pidfd = pidfd;
    return 0;
}

int csmrt_pidfd_reap(int pidfd, int *exit_code, int *signal) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int rc;
    do {
        rc = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED | WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0) return -1;
    if (info.si_pid == 0) return 0;
    if (info.si_code == CLD_EXITED) {
        *exit_code = info.si_status;
        *signal = 0;
    } else {
        *exit_code = 0;
        *signal = info.si_status;
    }
    return 1;
}

int csmrt_pidfd_send_signal(int pidfd, int signal) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

int csmrt_has_effective_capability(int capability) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    if (syscall(SYS_capget, &header, data) != 0) return -1;
    if (capability < 0 || capability >= 64) return 0;
    return (int)((data[capability / 32].effective >> (capability % 32)) & 1);
}
