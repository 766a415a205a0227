/* churn: epoll_echo's --churn mode (connection rate; see churn.c). */
#ifndef EPOLL_ECHO_CHURN_H
#define EPOLL_ECHO_CHURN_H

#include <stdint.h>

struct churn_opts {
	const char *local, *remote;
	uint16_t port;
	unsigned size, par;
	unsigned long flows, timeout_ms;
};

/* Runs the churn on `ch` (worker 0) and par - 1 channels of its own
 * attaching; prints the result line. Returns the exit status (0: every
 * flow connected, answered and closed). */
int churn_run(const struct churn_opts *o, void *ch);

#endif
