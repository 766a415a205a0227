/* msg_gen's options: the limits, the exit statuses, the parsed command line
 * and its --help text. Parsing says what is wrong in one line on stderr;
 * it does not touch the EAL or machnetd.
 */
#ifndef MN_MGOPT_H
#define MN_MGOPT_H

#include <stdbool.h>
#include <stdint.h>

#include "mn_mgfmt.h"

#define MG_MAX_THREADS 16
#define MG_MAX_FLOWS 256
#define MG_MAX_WINDOW 4096
#define MG_MAX_MSG (8u << 20)
/* Empty polls before yielding. Small: an app that shares its core with an
 * engine must hand the core over as soon as it waits, or the engine that
 * would bring its reply cannot run (each app poll is ~50-100 ns). */
#define MG_IDLE_POLLS 1
/* Loop turns between event polls while messages keep arriving (an idle
 * loop polls every turn): a reset on one of several flows is heard within
 * microseconds either way. */
#define MG_EVENT_EVERY 256

/* Exit statuses. */
#define MG_EXIT_LOSS 1		/* lost or mismatched messages, or an error */
#define MG_EXIT_USAGE 2
#define MG_EXIT_FLOW 3		/* a flow was reset or timed out, or a send failed */
#define MG_EXIT_FORMAT 4	/* the server's responses are in neither layout */

struct mg_opts {
	const char *local_ip;
	const char *remote_ip;
	uint16_t local_port;
	uint16_t remote_port;
	uint32_t msg_size;
	uint32_t window;
	uint64_t msg_nr;		/* 0 = unlimited (until --duration) */
	bool verify;
	double duration;		/* seconds, 0 = until msg_nr or SIGINT */
	double warmup;			/* seconds excluded from the summary */
	unsigned flows;
	unsigned threads;
	int engine;			/* every channel on this engine; -1: machnetd's choice */
	const char *json;
	bool busy;			/* spin instead of yielding when idle */
	bool wait;			/* sleep in machnet_recv_wait() when no reply is due */
	unsigned idle_polls;		/* empty polls before each sched_yield() */
	double drain;			/* seconds to wait for outstanding replies at the end */
	/* requested layout: UNKNOWN = auto (server: by request; client: by the
	 * first response), MACHNET = Machnet's only, OURS = ours only (client) */
	enum mn_mgfmt_kind layout;
};

/* The run's options, filled in by mn_mgopt_parse(); read-only afterwards. */
extern struct mg_opts g_opt;

/* Parses argv into g_opt (getopt_long: optind is left at the first EAL
 * argument after "--"). Returns true when msg_gen should run; false with
 * *status set to the exit status (0 after --help, MG_EXIT_USAGE on a bad
 * option, the line already printed). */
bool mn_mgopt_parse(int argc, char **argv, int *status);

#endif
