/* What msg_gen's two roles share while they run: the stop flags, the clock,
 * the idle policy of the polling loops and the one-line report of a flow
 * event; and the roles themselves (mn_mgserver.c, mn_mgclient.c). Both read
 * g_opt (mn_mgopt.h) and return msg_gen's exit status.
 */
#ifndef MN_MGRUN_H
#define MN_MGRUN_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "machnet.h"
#include "mn_mgopt.h"

extern atomic_bool g_stop;	/* SIGINT/SIGTERM: stop sending, drain, report */
extern atomic_bool g_abort;	/* a client thread failed: everyone stops at once */

static inline uint64_t mn_mg_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* "a.b.c.d:p -> a.b.c.d:p" of f into out. */
void mn_mg_fmt_flow(char *out, size_t len, const MachnetFlow_t *f);

/* One line on stderr for a flow event that ends the flow or loses a
 * message; returns whether ev was one. who: "" or "server: ". */
bool mn_mg_report_flow_event(const char *who, const MachnetEvent_t *ev);

/* Idle policy for the app's own polling loop: on a 2-core machine shared
 * with the engines, spinning steals the core an engine needs. */
static inline void mn_mg_idle_step(unsigned *empty)
{
	if (g_opt.busy)
		return;
	if (++*empty >= g_opt.idle_polls) {
		*empty = 0;
		sched_yield();
	}
}

/* The same where the loop waits for a message on ch: with --wait, sleeps
 * in machnet_recv_wait() (bounded, so the loop still looks at its clock and
 * events) instead of yielding. */
static inline void mn_mg_recv_idle_step(void *ch, unsigned *empty)
{
	if (!g_opt.wait) {
		mn_mg_idle_step(empty);
		return;
	}
	if (++*empty >= g_opt.idle_polls) {
		*empty = 0;
		/* An error (machnetd gone) shows at the next receive. */
		(void)machnet_recv_wait(ch, 1000);
	}
}

/* Serves until SIGINT/SIGTERM: 0, or 1 when the channel failed. */
int mn_mg_run_server(void);

/* Runs the client's threads, prints the per-second lines and the summary
 * (and --json): 0, or an MG_EXIT_* status. */
int mn_mg_run_client(void);

/* A channel for this run: on --engine's engine, or machnetd's choice;
 * prints why on failure (NULL). */
void *mn_mgrun_attach(void);

#endif
