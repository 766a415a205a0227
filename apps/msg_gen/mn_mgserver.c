/* msg_gen's server: answers every request with --msg_size bytes on the
 * reverse flow, in our layout when the request is ours (echoed whole) and as
 * Machnet's server otherwise; flow events are reported and it serves on. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "mn_mgfmt.h"
#include "mn_mgrun.h"

/* Events of the server's flows: a reset is a client going away (a client
 * that exits resets its flows), so it is reported and the server serves on.
 * Returns 0, or -1 when the channel failed (errno). */
static int server_events(void *ch)
{
	MachnetEvent_t ev;
	int r;

	for (unsigned k = 0; k < 64; k++) {
		r = machnet_poll_event(ch, &ev);
		if (r <= 0)
			return r;
		mn_mg_report_flow_event("server: ", &ev);
	}
	return 0;
}

int mn_mg_run_server(void)
{
	void *ch;
	uint8_t *buf, *mresp;
	uint64_t served = 0, last_served = 0, t_last;
	unsigned empty = 0, turns = 0;
	bool seen[MN_MGFMT_OURS + 1] = { false };

	ch = mn_mgrun_attach();
	if (ch == NULL)
		return 1;
	if (machnet_listen(ch, g_opt.local_ip, g_opt.local_port) != 0) {
		fprintf(stderr, "msg_gen: listen on %s:%u: %s\n", g_opt.local_ip,
			g_opt.local_port, machnet_strerror(errno));
		return 1;
	}
	buf = malloc(MG_MAX_MSG);
	mresp = malloc(g_opt.msg_size);
	if (buf == NULL || mresp == NULL) {
		free(buf);
		free(mresp);
		return 1;
	}
	/* Machnet's server answers from one buffer of its pattern whose first
	 * 8 bytes are overwritten with each request's slot. */
	mn_mgfmt_fill_machnet(mresp, 0, g_opt.msg_size);
	printf("msg_gen: server listening on %s:%u, response size %u, layout %s\n", g_opt.local_ip,
	       g_opt.local_port, g_opt.msg_size,
	       g_opt.layout == MN_MGFMT_MACHNET ? "machnet (Machnet's server: slot echoed, its pattern)"
						 : "auto (mp requests echoed, others as Machnet's server)");
	fflush(stdout);
	t_last = mn_mg_now_ns();
	while (!atomic_load(&g_stop)) {
		MachnetFlow_t rx_flow, tx_flow;
		ssize_t n;
		enum mn_mgfmt_kind kind;
		const uint8_t *out;
		uint64_t t;

		if (++turns >= MG_EVENT_EVERY) {
			turns = 0;
			if (server_events(ch) < 0)
				goto channel_failed;
		}
		n = machnet_recv(ch, buf, MG_MAX_MSG, &rx_flow);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "msg_gen: recv: %s\n", machnet_strerror(errno));
			goto fail;
		}
		if (n == 0) {
			if (server_events(ch) < 0)
				goto channel_failed;
			mn_mg_recv_idle_step(ch, &empty);
			t = mn_mg_now_ns();
			if (t - t_last >= 1000000000ull) {
				if (served != last_served)
					printf("msg_gen: server: %" PRIu64 " req/s\n", served - last_served);
				fflush(stdout);
				last_served = served;
				t_last = t;
			}
			continue;
		}
		empty = 0;
		/* The response goes back on the reverse of the flow it came on. */
		tx_flow.src_ip = rx_flow.dst_ip;
		tx_flow.dst_ip = rx_flow.src_ip;
		tx_flow.src_port = rx_flow.dst_port;
		tx_flow.dst_port = rx_flow.src_port;
		kind = mn_mgfmt_classify_request(buf, (size_t)n);
		if (!seen[kind]) {
			char fl[64];

			seen[kind] = true;
			mn_mg_fmt_flow(fl, sizeof(fl), &tx_flow);
			if (kind == MN_MGFMT_UNKNOWN)
				printf("msg_gen: server: a %zd-byte request on %s is shorter than "
				       "a window slot; answered as Machnet's server would\n", n, fl);
			else
				printf("msg_gen: server: first request in %s layout on %s (%zd B)%s\n",
				       mn_mgfmt_name(kind), fl, n,
				       kind == MN_MGFMT_OURS && g_opt.layout == MN_MGFMT_MACHNET
					       ? ", answered in Machnet's layout (--layout machnet)" : "");
			fflush(stdout);
		}
		if (kind == MN_MGFMT_OURS && g_opt.layout != MN_MGFMT_MACHNET) {
			/* Both ends ours: echo the request, the sequence's pattern after it. */
			mn_mgfmt_answer_ours(buf, (size_t)n, g_opt.msg_size);
			out = buf;
		} else {
			mn_mgfmt_answer_machnet(mresp, buf, (size_t)n);
			out = mresp;
		}
		while (machnet_send(ch, tx_flow, out, g_opt.msg_size) != 0) {
			if (errno != EAGAIN || atomic_load(&g_stop)) {
				if (errno != EAGAIN)
					fprintf(stderr, "msg_gen: send: %s\n", machnet_strerror(errno));
				break;
			}
			mn_mg_idle_step(&empty);
		}
		served++;
	}
	free(buf);
	free(mresp);
	return 0;
channel_failed:
	fprintf(stderr, "msg_gen: server: events: %s\n", machnet_strerror(errno));
fail:
	free(buf);
	free(mresp);
	return 1;
}
