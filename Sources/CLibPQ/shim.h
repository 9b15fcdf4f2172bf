#include <libpq-fe.h>

#ifdef __linux__
#include <sys/eventfd.h>

/* The wake-up descriptor of the change signal's thread: close-on-exec from birth (the supervisor forks). */
static inline int cpq_wake_fd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }
#endif
