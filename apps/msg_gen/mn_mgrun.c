/* The flow-event report and the stop flags both roles use. */
#include <errno.h>
#include <stdio.h>

#include "mn_mgrun.h"

atomic_bool g_stop;
atomic_bool g_abort;

void mn_mg_fmt_flow(char *out, size_t len, const MachnetFlow_t *f)
{
	snprintf(out, len, "%u.%u.%u.%u:%u -> %u.%u.%u.%u:%u", f->src_ip >> 24,
		 (f->src_ip >> 16) & 0xff, (f->src_ip >> 8) & 0xff, f->src_ip & 0xff, f->src_port,
		 f->dst_ip >> 24, (f->dst_ip >> 16) & 0xff, (f->dst_ip >> 8) & 0xff,
		 f->dst_ip & 0xff, f->dst_port);
}

bool mn_mg_report_flow_event(const char *who, const MachnetEvent_t *ev)
{
	char fl[64];

	mn_mg_fmt_flow(fl, sizeof(fl), &ev->flow);
	switch (ev->type) {
	case MACHNET_EV_RESET:
		if (ev->error == ETIMEDOUT)
			fprintf(stderr, "msg_gen: %sflow %s timed out (ETIMEDOUT): the peer stopped "
				"answering for longer than machnetd's retry budget\n", who, fl);
		else if (ev->error == ECONNRESET || ev->error == 0)
			fprintf(stderr, "msg_gen: %sflow %s was reset by the peer (ECONNRESET): the "
				"other app or its machnetd closed it\n", who, fl);
		else
			fprintf(stderr, "msg_gen: %sflow %s was reset: %s\n", who, fl,
				machnet_strerror(ev->error));
		break;
	case MACHNET_EV_SEND_FAILED:
		fprintf(stderr, "msg_gen: %sa message on flow %s was dropped: %s\n", who, fl,
			machnet_strerror(ev->error));
		break;
	default:
		return false;
	}
	fflush(stderr);
	return true;
}

void *mn_mgrun_attach(void)
{
	void *ch = g_opt.engine < 0 ? machnet_attach() : machnet_attach_engine((unsigned)g_opt.engine);

	if (ch == NULL && g_opt.engine >= 0 && errno == ENODEV)
		fprintf(stderr, "msg_gen: --engine %d: machnetd has %d engine(s)\n", g_opt.engine,
			machnet_engine_count());
	else if (ch == NULL)
		fprintf(stderr, "msg_gen: machnet_attach: %s\n", machnet_strerror(errno));
	else if (g_opt.engine >= 0)
		printf("msg_gen: channel on engine %d\n", machnet_channel_engine(ch));
	return ch;
}
