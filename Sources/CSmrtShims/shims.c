#include "CSmrtShims.h"

#include <sys/prctl.h>
#include <unistd.h>

int csmrt_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

pid_t csmrt_getppid(void) {
    return getppid();
}
