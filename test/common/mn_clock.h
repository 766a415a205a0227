/* mn_clock: the monotonic clock the test programs time their deadlines and
 * rates by, in seconds as a double (one definition, so every tool's
 * "deadline = mn_now_s() + S" means the same clock). Header only: the tools
 * that use it are single-file programs with no common library to link. */
#ifndef MN_CLOCK_H
#define MN_CLOCK_H

#include <time.h>

static inline double mn_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
