#define _GNU_SOURCE
#include "CSmrtShims.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

int csmrt_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

pid_t csmrt_getppid(void) {
    return getppid();
}

int csmrt_set_rlimit(pid_t pid, int resource, unsigned long long soft, unsigned long long hard) {
    struct rlimit limit = { .rlim_cur = (rlim_t)soft, .rlim_max = (rlim_t)hard };
    return prlimit(pid, (__rlimit_resource_t)resource, &limit, NULL);
}

int csmrt_wake_pipe(int fds[2]) {
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC);
}

int csmrt_cloexec_pipe(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}
