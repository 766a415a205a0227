/* mn_simflow: see mn_simflow.h. */
#include "mn_simflow.h"

#include <string.h>

static const uint8_t MAC_A[6] = { 2, 0, 0xc6, 0x12, 0, 2 };
static const uint8_t MAC_B[6] = { 2, 0, 0xc6, 0x12, 0, 1 };

static int filter(void *arg, int from, uint8_t *frame, uint32_t len)
{
	struct mn_sf *sf = arg;
	struct mn_hdr h;

	mn_hdr_decode(frame + MN_ETH_HLEN + MN_IP_HLEN + MN_UDP_HLEN, &h);
	if (sf->nlog < MN_SF_MAXLOG) {
		struct mn_sf_frame *l = &sf->log[sf->nlog++];

		l->from = from;
		l->t = mn_sim_now(sf->s);
		l->h = h;
		l->len = len;
	}
	if (sf->drop_all[from])
		return 1;
	if (sf->drop_nf_from[from][h.net_flags] > 0) {
		sf->drop_nf_from[from][h.net_flags]--;
		return 1;
	}
	return 0;
}

static int deliver(void *arg, int node, struct mn_flow *f, void *cookie, const struct mn_seg *segs,
                   uint32_t nsegs, uint32_t len)
{
	struct mn_sf *sf = arg;

	(void)cookie;
	(void)segs;
	(void)nsegs;
	sf->got[node]++;
	sf->got_t[node] = mn_sim_now(sf->s);
	if (sf->on_deliver)
		sf->on_deliver(sf, node, f, len);
	return 0;
}

static void event(void *arg, int node, struct mn_flow *f, void *cookie, enum mn_proto_event ev,
                  int err)
{
	struct mn_sf *sf = arg;

	(void)cookie;
	sf->ev[node][ev]++;
	sf->err[node][ev] = err;
	sf->ev_t[node][ev] = mn_sim_now(sf->s);
	if (node == 1 && ev == MN_PROTO_EV_ACCEPTED)
		sf->fb = f;
	if (ev == MN_PROTO_EV_CONNECT_FAILED || ev == MN_PROTO_EV_RESET || ev == MN_PROTO_EV_CLOSED ||
	    ev == MN_PROTO_EV_FAILED) {
		if (node == 0 && f == sf->fa)
			sf->fa = NULL;
		if (node == 1 && f == sf->fb)
			sf->fb = NULL;
	}
}

static int up(void *arg)
{
	struct mn_sf *sf = arg;

	return sf->ev[0][MN_PROTO_EV_CONNECTED] && sf->ev[1][MN_PROTO_EV_ACCEPTED];
}

void mn_sf_params(struct mn_proto_params *p, int node)
{
	mn_proto_params_default(p);
	/* The transport defaults these tests were written for (connect 5 s,
	 * close 1 s, keepalive and piggybacked ACKs off, min_rto toward plain
	 * peers too), not machnetd's. */
	p->connect_timeout_ns = 5000000000ull;
	p->close_timeout_ns = 1000000000ull;
	p->keepalive_ns = 0;
	p->ack_delay_ns = 0;
	p->plain_min_rto_ns = 0;
	p->n_local = 1;
	p->local[0].ip = node ? MN_SF_IP_B : MN_SF_IP_A;
	memcpy(p->local[0].mac, node ? MAC_B : MAC_A, 6);
}

static int sf_rx_room(void *arg, int node, struct mn_flow *f, void *cookie, uint32_t held)
{
	struct mn_sf *sf = arg;

	(void)f;
	(void)cookie;
	return sf->rx_room(sf, node, held);
}

int mn_sf_setup(struct mn_sf *sf, uint64_t latency_ns)
{
	struct mn_proto_params pa = sf->pa, pb = sf->pb;
	void (*on_deliver)(struct mn_sf *, int, struct mn_flow *, uint32_t) = sf->on_deliver;
	int (*rx_room)(struct mn_sf *, int, uint32_t) = sf->rx_room;
	struct mn_sim_link links[2];
	struct mn_sim_hooks hooks = { 0 };

	memset(sf, 0, sizeof(*sf));
	sf->pa = pa;
	sf->pb = pb;
	sf->on_deliver = on_deliver;
	sf->rx_room = rx_room;
	memset(links, 0, sizeof(links));
	links[0].latency_ns = links[1].latency_ns = latency_ns;
	links[0].bw_bps = links[1].bw_bps = 10000000000ull;
	hooks.arg = sf;
	hooks.deliver = deliver;
	hooks.event = event;
	hooks.filter = filter;
	if (rx_room)
		hooks.rx_room = sf_rx_room;
	sf->s = mn_sim_create(7, &sf->pa, &sf->pb, links, &hooks);
	if (!sf->s || mn_proto_listen(mn_sf_ep(sf, 1), MN_SF_IP_B, MN_SF_PORT, sf) != 0)
		return -1;
	sf->fa = mn_proto_connect(mn_sf_ep(sf, 0), MN_SF_IP_A, MN_SF_IP_B, MN_SF_PORT, MAC_B, NULL,
	                          mn_sim_now(sf->s));
	if (!sf->fa || mn_sf_run(sf, up, 100000000ull) != 0 || !sf->fb)
		return -1;
	return 0;
}

int mn_sf_run(struct mn_sf *sf, int (*done)(void *), uint64_t for_ns)
{
	return mn_sim_run(sf->s, done, sf, mn_sim_now(sf->s) + for_ns, 50000000);
}

long mn_sf_teardown(struct mn_sf *sf)
{
	long r = mn_sim_destroy(sf->s);

	sf->s = NULL;
	return r;
}

struct mn_proto *mn_sf_ep(struct mn_sf *sf, int node)
{
	return mn_sim_ep(sf->s, node);
}

const struct mn_proto_stats *mn_sf_st(struct mn_sf *sf, int node)
{
	return mn_proto_stats(mn_sim_ep(sf->s, node));
}

int mn_sf_count(const struct mn_sf *sf, int from, uint8_t nf, int since)
{
	int n = 0;

	for (int i = since; i < sf->nlog; i++)
		n += sf->log[i].from == from && sf->log[i].h.net_flags == nf;
	return n;
}
