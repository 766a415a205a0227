/* msg_gen's command line: Machnet's msg_gen flags plus ours, checked here so
 * the roles can trust g_opt. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_mgopt.h"

struct mg_opts g_opt = {
	.local_port = 888, .remote_port = 888, .msg_size = 1024, .window = 1,
	.warmup = 1.0, .flows = 1, .threads = 1, .drain = 2.0, .idle_polls = MG_IDLE_POLLS,
	.engine = -1,
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: msg_gen --local_ip IP [--remote_ip IP] [options] [-- EAL args]\n"
"\n"
"Request-reply benchmark over machnet-mp. Without --remote_ip it is a server\n"
"that answers each request with --msg_size bytes; with it, a client.\n"
"It talks to Microsoft Machnet's msg_gen in both roles (see Layouts).\n"
"\n"
"  --local_ip IP        local IP of the machnetd interface to use (required)\n"
"  --remote_ip IP       server to connect to (default: none = run as server)\n"
"  --local_port N       server's listening port (default 888)\n"
"  --remote_port N      server port to connect to (default 888)\n"
"  --msg_size N         request (client) / response (server) size in bytes,\n"
"                       %d .. %u, or from %d with --layout machnet (default 1024);\n"
"                       also --tx_msg_size\n"
"  --msg_window N       requests in flight per client thread, 1 .. %d (default 1)\n"
"  --msg_nr N           total requests to send (default 0 = unlimited)\n"
"  --duration S         stop sending after S seconds (default 0 = until --msg_nr\n"
"                       or SIGINT)\n"
"  --warmup S           seconds excluded from the summary (default 1)\n"
"  --drain S            at the end, wait up to S seconds for outstanding\n"
"                       responses (default 2)\n"
"  --flows N            flows per client thread, requests round-robin, 1 .. %d\n"
"                       (default 1)\n"
"  --threads N          client threads, each with its own channel, 1 .. %d\n"
"                       (default 1)\n"
"  --engine N           put every channel on machnetd's engine N (0 ..), e.g. a\n"
"                       server's on the engine its flows should live on\n"
"                       (default: machnetd spreads them)\n"
"  --verify             check the bytes of every response (default: off): all of\n"
"                       them when the server is ours, the slot and Machnet's\n"
"                       pattern when it is Machnet's\n"
"  --layout L           auto, machnet or mp (default auto); see Layouts\n"
"  --machnet_compat     the same as --layout machnet (also --machnet-compat)\n"
"  --json FILE          write the summary as JSON (default: none)\n"
"  --busy               busy-poll (default: off, yield the CPU when idle)\n"
"  --wait               when a receive finds nothing N times (--idle_polls),\n"
"                       sleep in machnet_recv_wait() (up to 1 ms) instead of\n"
"                       yielding: what the sleeping path costs\n"
"  --idle_polls N       empty polls before each sched_yield() (default %d)\n"
"  --instance NAME      machnetd instance to attach to (default $MACHNET_INSTANCE\n"
"                       or mn0)\n"
"  -h, --help           this text\n"
"\n"
"Layouts. Both put the client's window slot (uint64, host order) in bytes 0..7,\n"
"as Machnet's msg_gen does. Machnet's: every other byte i is (uint8_t)i, and\n"
"its server echoes only the slot. Ours (mp): bytes 8..15 are the magic\n"
"\"" MN_MGFMT_MAGIC "\", 16..23 a sequence number, then a pattern of it; our\n"
"server echoes such a request whole, so --verify checks every byte.\n"
"  client, auto:    sends ours; the first response tells which server answers\n"
"                   (ours echoes, Machnet's sends its pattern); a response in\n"
"                   neither layout ends the run with a message (exit 4)\n"
"  client, mp:      sends ours and requires our server (exit 4 otherwise)\n"
"  client, machnet: sends exactly Machnet's requests, expects Machnet's answers\n"
"  server, auto:    echoes our requests, answers any other as Machnet's server\n"
"  server, machnet: answers every request as Machnet's server does (a test\n"
"                   stand-in for it); mp is the same as auto on a server\n"
"\n"
"Flow events: the client polls its channel's events and stops at once when a\n"
"flow is reset (the server or its machnetd closed it) or times out (the peer\n"
"stopped answering), saying which; the server reports them and serves on (a\n"
"client that exits resets its flows).\n"
"\n"
"Arguments after -- are EAL arguments for the secondary process\n"
"(--proc-type=secondary --file-prefix=INSTANCE ...); without them msg_gen\n"
"builds its own.\n"
"Exit status: 0 every request answered intact; 1 lost or mismatched responses,\n"
"or an error; 2 bad options; 3 a flow was reset or timed out, or a send was\n"
"dropped; 4 the server's responses are in neither layout.\n",
		MN_MGFMT_HEAD, MG_MAX_MSG, MN_MGFMT_MIN_MACHNET, MG_MAX_WINDOW, MG_MAX_FLOWS,
		MG_MAX_THREADS, MG_IDLE_POLLS);
}

static int parse_u64(const char *name, const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "msg_gen: --%s wants an integer in %" PRIu64 "..%" PRIu64 ", got '%s'\n",
			name, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_secs(const char *name, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || end == s || v < 0 || v > 1e6) {
		fprintf(stderr, "msg_gen: --%s wants seconds >= 0, got '%s'\n", name, s);
		return -1;
	}
	*out = v;
	return 0;
}


bool mn_mgopt_parse(int argc, char **argv, int *status)
{
	enum { O_LIP = 256, O_RIP, O_LPORT, O_RPORT, O_SIZE, O_WIN, O_NR, O_VERIFY, O_DUR,
	       O_WARM, O_FLOWS, O_THREADS, O_JSON, O_BUSY, O_INST, O_IDLEP, O_DRAIN, O_LAYOUT,
	       O_COMPAT, O_WAIT, O_ENGINE };
	static const struct option lo[] = {
		{ "local_ip", required_argument, NULL, O_LIP },
		{ "remote_ip", required_argument, NULL, O_RIP },
		{ "local_port", required_argument, NULL, O_LPORT },
		{ "remote_port", required_argument, NULL, O_RPORT },
		{ "msg_size", required_argument, NULL, O_SIZE },
		{ "tx_msg_size", required_argument, NULL, O_SIZE },
		{ "msg_window", required_argument, NULL, O_WIN },
		{ "msg_nr", required_argument, NULL, O_NR },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "duration", required_argument, NULL, O_DUR },
		{ "warmup", required_argument, NULL, O_WARM },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "json", required_argument, NULL, O_JSON },
		{ "busy", no_argument, NULL, O_BUSY },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "idle_polls", required_argument, NULL, O_IDLEP },
		{ "instance", required_argument, NULL, O_INST },
		{ "drain", required_argument, NULL, O_DRAIN },
		{ "layout", required_argument, NULL, O_LAYOUT },
		{ "machnet_compat", no_argument, NULL, O_COMPAT },
		{ "machnet-compat", no_argument, NULL, O_COMPAT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case O_LIP: g_opt.local_ip = optarg; break;
		case O_RIP: g_opt.remote_ip = optarg; break;
		case O_LPORT:
			if (parse_u64("local_port", optarg, 1, 65535, &v)) goto bad;
			g_opt.local_port = (uint16_t)v; break;
		case O_RPORT:
			if (parse_u64("remote_port", optarg, 1, 65535, &v)) goto bad;
			g_opt.remote_port = (uint16_t)v; break;
		case O_SIZE:
			if (parse_u64("msg_size", optarg, MN_MGFMT_MIN_MACHNET, MG_MAX_MSG, &v)) goto bad;
			g_opt.msg_size = (uint32_t)v; break;
		case O_WIN:
			if (parse_u64("msg_window", optarg, 1, MG_MAX_WINDOW, &v)) goto bad;
			g_opt.window = (uint32_t)v; break;
		case O_NR:
			if (parse_u64("msg_nr", optarg, 1, UINT64_MAX, &v)) goto bad;
			g_opt.msg_nr = v; break;
		case O_VERIFY: g_opt.verify = true; break;
		case O_DUR: if (parse_secs("duration", optarg, &g_opt.duration)) goto bad; break;
		case O_WARM: if (parse_secs("warmup", optarg, &g_opt.warmup)) goto bad; break;
		case O_FLOWS:
			if (parse_u64("flows", optarg, 1, MG_MAX_FLOWS, &v)) goto bad;
			g_opt.flows = (unsigned)v; break;
		case O_THREADS:
			if (parse_u64("threads", optarg, 1, MG_MAX_THREADS, &v)) goto bad;
			g_opt.threads = (unsigned)v; break;
		case O_ENGINE:
			if (parse_u64("engine", optarg, 0, 1023, &v)) goto bad;
			g_opt.engine = (int)v; break;
		case O_JSON: g_opt.json = optarg; break;
		case O_BUSY: g_opt.busy = true; break;
		case O_WAIT: g_opt.wait = true; break;
		case O_IDLEP:
			if (parse_u64("idle_polls", optarg, 0, 1000000, &v)) goto bad;
			g_opt.idle_polls = (unsigned)v; break;
		case O_INST: setenv("MACHNET_INSTANCE", optarg, 1); break;
		case O_DRAIN: if (parse_secs("drain", optarg, &g_opt.drain)) goto bad; break;
		case O_LAYOUT:
			if (!strcmp(optarg, "auto")) {
				g_opt.layout = MN_MGFMT_UNKNOWN;
			} else if (!strcmp(optarg, "machnet")) {
				g_opt.layout = MN_MGFMT_MACHNET;
			} else if (!strcmp(optarg, "mp")) {
				g_opt.layout = MN_MGFMT_OURS;
			} else {
				fprintf(stderr, "msg_gen: --layout wants auto, machnet or mp, got '%s'\n",
					optarg);
				goto bad;
			}
			break;
		case O_COMPAT: g_opt.layout = MN_MGFMT_MACHNET; break;
		case 'h': usage(stdout); *status = 0; return false;
		default: usage(stderr); goto bad;
		}
	}
	if (g_opt.local_ip == NULL) {
		fprintf(stderr, "msg_gen: --local_ip is required (see --help)\n");
		goto bad;
	}
	if (g_opt.layout != MN_MGFMT_MACHNET && g_opt.msg_size < MN_MGFMT_HEAD) {
		fprintf(stderr, "msg_gen: --msg_size must be at least %d (the head of our layout), "
			"or at least %d with --layout machnet\n", MN_MGFMT_HEAD, MN_MGFMT_MIN_MACHNET);
		goto bad;
	}
	if (!g_opt.remote_ip && g_opt.layout == MN_MGFMT_OURS)
		g_opt.layout = MN_MGFMT_UNKNOWN;	/* a server's mp is its auto */
	if (g_opt.msg_nr && g_opt.msg_nr < g_opt.threads) {
		fprintf(stderr, "msg_gen: --msg_nr must be at least --threads\n");
		goto bad;
	}
	return true;
bad:	/* the line saying why is printed */
	*status = MG_EXIT_USAGE;
	return false;
}
