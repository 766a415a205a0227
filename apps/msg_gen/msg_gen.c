/* msg_gen: machnet-mp's request-reply benchmark (Machnet's msg_gen flags).
 *
 * Server (no --remote_ip): answers every request with --msg_size bytes on the
 * reverse flow. Client: keeps --msg_window requests in flight per thread,
 * spread over --flows flows, and measures each round trip from just before
 * the send to the receipt of its response. Every second it prints the rates
 * and that second's percentiles; at the end a summary over the run minus a
 * warm-up. The exit status is non-zero when a message was lost or
 * mismatched, at once when a flow is reset or times out (the client polls
 * its channel's events), and at the first response when the server speaks
 * neither layout.
 *
 * The layouts (mn_mgfmt.h) talk to Machnet's own msg_gen in both roles: the
 * window slot first, as Machnet's. Between two of ours the request also
 * carries a magic and a sequence number, the server echoes it, and --verify
 * checks every byte; against Machnet's server the client checks the slot
 * and Machnet's pattern, which is all that server sends.
 *
 * This file is main(): the options (mn_mgopt.c), the EAL, then one role
 * (mn_mgserver.c or mn_mgclient.c, their shared parts in mn_mgrun.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "machnet.h"
#include "mn_mgopt.h"
#include "mn_mgrun.h"

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&g_stop, true);
}

int main(int argc, char **argv)
{
	int rc;

	if (!mn_mgopt_parse(argc, argv, &rc))
		return rc;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	if (optind < argc) {
		/* EAL arguments after "--": hand them over with a program name. */
		int ac = argc - optind + 1;

		argv[optind - 1] = argv[0];
		rc = machnet_init_eal(ac, &argv[optind - 1]);
	} else {
		rc = machnet_init();
	}
	if (rc < 0) {
		fprintf(stderr, "msg_gen: machnet init: %s\n", machnet_strerror(errno));
		return 1;
	}
	rc = g_opt.remote_ip ? mn_mg_run_client() : mn_mg_run_server();
	return rc;
}
