/* mn_proto: the transport endpoint, wire-compatible with Machnet
 * (../shared/docs/wire-protocol.md).
 *
 * A plain C library: no EAL, no threads, no clock, no allocation after
 * mn_proto_create(). One endpoint per engine; it is single-threaded and its
 * owner drives it:
 *   - mn_proto_rx() for every received frame, then mn_proto_flush() at the
 *     end of each receive burst (sends coalesced ACKs);
 *   - mn_proto_poll() whenever mn_proto_next_deadline() has passed (RTO,
 *     pacing, SYN retries, delivery retries, close and connect timeouts);
 *   - mn_proto_listen/connect/send/close for the applications' requests.
 * The endpoint calls back through struct mn_proto_ops (from inside those
 * calls only) to transmit frames, deliver messages, take and drop buffer
 * references and report flow events.
 *
 * Buffers are opaque handles (`void *buf`, e.g. an rte_mbuf) with a data
 * pointer; the endpoint never copies payload except in mn_proto_send_bytes().
 *   TX: each packet of a message is one buffer whose payload has at least
 *       MN_ALL_HLEN (96) bytes of writable headroom in front of it; the
 *       endpoint writes the headers there, calls ops.hold() and hands the frame
 *       to ops.tx() (which consumes that reference), keeps its own reference
 *       until the packet is ACKed, then calls ops.release(). A retransmission
 *       rewrites the same headers in place.
 *   RX: mn_proto_rx() gives the endpoint one reference to the frame's buffer.
 *       It releases it at once (control frames, drops) or keeps it, by
 *       reference, until the whole message is in order and ops.deliver()
 *       accepts it; accepting transfers those references to the owner.
 *       ops.deliver() may refuse (no room): the endpoint keeps the message,
 *       stops accepting new data on that flow (dropped, and the peer
 *       retransmits it later) and retries delivery every rx_retry_ns.
 *
 * Flow handles (struct mn_flow *) are valid from mn_proto_connect() or the
 * MN_PROTO_EV_ACCEPTED event until the terminal event (CONNECT_FAILED, RESET,
 * CLOSED, FAILED) returns, or mn_proto_destroy(). Calls made from inside a
 * callback are allowed (send on any flow, close, abort), except
 * mn_proto_destroy().
 *
 * Keepalive (params.keepalive_ns, 0 = off): a dead peer is otherwise found
 * only through data it does not ACK, so a flow whose data is all ACKed
 * (an app waiting for a reply) would wait forever for a peer stack that
 * died. An established flow with nothing queued or unACKed that has heard
 * nothing from the peer for keepalive_ns sends a probe: a data packet of
 * one byte at seqno snd_una - 1 = snd_nxt - 1 (already ACKed; FIRST|LAST, ackno
 * 0xffffffff, timestamped), which the peer's receiver counts as a duplicate
 * (rx_dup), never delivers, and ACKs at once. A peer that lost the flow
 * (restarted) answers RST: MN_PROTO_EV_RESET, -ECONNRESET. A peer that is
 * gone answers nothing: the probe is repeated with the RTO and its backoff
 * like a retransmission, and once max_retries re-probes have gone out and
 * give_up_ns has passed since the first (then one more RTO) the flow fails
 * like exhausted retries (MN_PROTO_EV_FAILED, -ETIMEDOUT,
 * RST sent). Any frame from the peer ends the probing. Probes touch no
 * congestion, RTT, duplicate-ACK or SACK state. They are sent only on flows
 * where the extensions were agreed (both ends are this stack): how a plain
 * Machnet peer takes an old data packet is not known from its traces, and
 * wire compatibility comes first; toward it nothing changes.
 *
 * Giving up (params.max_retries, params.give_up_ns): an established flow
 * whose retransmissions (or keepalive probes) go unanswered fails
 * (MN_PROTO_EV_FAILED, -ETIMEDOUT) only when BOTH max_retries timeouts in a
 * row have passed AND give_up_ns has passed since the first of them. The
 * RTO backs off to max_rto_ns and stays there, so a peer that stops for
 * less than give_up_ns (SIGSTOP, a VM paused or migrated, a debugger)
 * finds its flows alive and traffic resumes within max_rto_ns of its
 * return; the price is that a peer that died is found only after
 * give_up_ns. give_up_ns = 0 restores the count alone (about 0.5 s with
 * the defaults). Any in-window ACK, or for keepalive any frame, starts a
 * new series. Handshakes are bounded by connect_timeout_ns as before.
 *
 * Piggybacked ACKs (params.ack_delay_ns, 0 = off; extension peers that also
 * advertise MN_FEAT_PIGGYACK in the handshake): a request is usually
 * answered within microseconds, and the answer can carry the ACK. So the
 * ACK of an in-order data packet waits up to ack_delay_ns for data going
 * the other way; every data packet carries ackno and the timestamp echo
 * (mn_wire.h), and no separate ACK is sent unless the data packet that
 * carried it is not ACKed within 2 x ack_delay_ns (it may have been lost).
 * The ACK goes alone when the delay runs out, at once (per receive burst)
 * when MN_PROTO_ACK_EVERY packets wait for it or a packet fills a hole, and
 * at once as before for anything out of order, duplicated or refused. An
 * echo includes the time the ACK was held, added to the echoed timestamp,
 * so the peer's RTT samples (RTO, Swift) do not count our wait. A received
 * piggybacked ACK only advances snd_una (never a duplicate ACK, no SACK).
 *
 * Loss recovery toward a plain Machnet peer (no timestamps, no usable
 * SACK: it ACKs every packet on its own, and its SACK bits are stale) never
 * resends what the peer has ACKed, and undoes a timeout that was spurious:
 *   - The RTO floor is params.plain_min_rto_ns (10 ms), not min_rto_ns:
 *     Machnet's engine can go milliseconds without running (3.4 ms seen in
 *     captures on a shared CPU), and every such pause would otherwise fire
 *     the RTO although nothing was lost. Its own RTO is about 3 s.
 *   - After an RTO only the first unACKed packet is resent. An ACK that then
 *     covers a packet beyond it (sent once, before the timeout) proves the
 *     originals arrived: the RTO was spurious (F-RTO, RFC 5682, as far as
 *     a plain peer allows), so the window and recovery state from before it
 *     come back (counted in rtos_spurious). A duplicate ACK that says the
 *     peer holds out-of-order packets (SACK count > 0) ends the test: the
 *     loss was real and NewReno recovery goes on.
 *   - On a partial ACK (NewReno) the next hole is resent at once only when
 *     the ACK covered a retransmitted packet (the peer answered our repair,
 *     so snd_una is missing); a partial ACK of packets sent once is the peer
 *     catching up on originals, and the recovery probe (about two RTTs)
 *     resends snd_una only if no further ACK arrives.
 * The extension path (timestamps, SACK, RACK) is unchanged.
 *
 * Flow control (ops.rx_room; a departure from Machnet, which has none and
 * whose receiver buffers until its pool is gone): the receive window of a
 * flow is what its application can still take. A data packet the owner
 * has no room for (rx_room says no) is dropped, never ACKed and counted in
 * rx_window_closed, as is data arriving while a delivery is refused
 * (rx_backpressure); the flow stays up. Every rx_retry_ns the endpoint asks
 * again, and when room is back an ACK tells the sender at once.
 *   - Toward an extension peer (this stack) the ACKs sent while the window
 *     is closed carry the last SACK bit (bit 255, which never names a held
 *     packet) as "window closed". The sender then sends no new data and no
 *     retransmission: it probes with the keepalive probe (one byte at
 *     snd_una - 1, already ACKed, so never taken as data), at the RTO
 *     backed off up to max_rto_ns. A probe answered (any in-window ACK)
 *     resets the retry count: a flow whose peer is alive but does not read
 *     is never failed. Unanswered probes count like timeouts (max_retries
 *     and give_up_ns). An ACK without the bit opens the window: the packets
 *     sent into the closed window (not SACKed) are resent at once, without
 *     touching congestion state (they were refused, not lost). A peer of an
 *     older version ignores the bit and sees plain loss.
 *   - Toward a plain Machnet peer nothing on the wire changes: the refused
 *     packets are simply not ACKed and the peer's sender retransmits them
 *     on its own timeout (about 3 s in Machnet); whether it gives up on a
 *     receiver that stays closed depends on its retry budget, not on ours.
 *   - Our own sender facing a plain receiver: refused data looks like loss
 *     (RTO, backoff, give_up_ns).
 *
 * IPs and ports are host order. Times are ns on any monotonic clock.
 */
#ifndef MN_PROTO_H
#define MN_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mn_cc.h"
#include "mn_wire.h"

#define MN_PROTO_MAX_LOCAL	8	/* local (IP, MAC) pairs per endpoint */
#define MN_PROTO_RX_AHEAD	256	/* packets buffered beyond the cumulative ACK */
#define MN_PROTO_MAX_INFLIGHT	256	/* packets in flight toward an extension peer */
#define MN_PROTO_PLAIN_INFLIGHT	32	/* ... toward a plain Machnet peer */
#define MN_PROTO_MAX_MSG	(8u << 20)	/* largest message, bytes */
#define MN_PROTO_FIRST_PORT	1024	/* lowest source port a connect is given */
#define MN_PROTO_RSS_TRIES	256	/* free ports a connect tries against RSS */
#define MN_PROTO_ACK_EVERY	2	/* ACK at least every second packet (RFC 5681) */
#define MN_PROTO_MAX_KEEPALIVE_NS	(86400ull * 1000000000ull)	/* one day */
#define MN_PROTO_MAX_GIVE_UP_NS		(86400ull * 1000000000ull)	/* one day */

/* The transport's defaults, in one place: machnetd's configuration table
 * (primary/mn_config.c) takes the defaults of its transport keys from here.
 * Times in ns. */
#define MN_PROTO_DEFAULT_MTU			1500u
#define MN_PROTO_DEFAULT_WINDOW			32u
#define MN_PROTO_DEFAULT_MIN_RTO_NS		1000000ull		/* 1 ms */
#define MN_PROTO_DEFAULT_PLAIN_MIN_RTO_NS	10000000ull		/* 10 ms */
#define MN_PROTO_DEFAULT_MAX_RTO_NS		1000000000ull		/* 1 s */
#define MN_PROTO_DEFAULT_INIT_RTO_NS		10000000ull		/* 10 ms */
#define MN_PROTO_DEFAULT_MAX_RETRIES		8u
#define MN_PROTO_DEFAULT_TARGET_QDELAY_NS	50000ull		/* 50 us */
#define MN_PROTO_DEFAULT_CONNECT_TIMEOUT_NS	3000000000ull		/* 3 s */
#define MN_PROTO_DEFAULT_CLOSE_TIMEOUT_NS	500000000ull		/* 0.5 s */
#define MN_PROTO_DEFAULT_KEEPALIVE_NS		1000000000ull		/* 1 s */
#define MN_PROTO_DEFAULT_ACK_DELAY_NS		50000ull		/* 50 us */
#define MN_PROTO_DEFAULT_GIVE_UP_NS		60000000000ull		/* 60 s */

struct mn_proto;
struct mn_flow;

/* One payload segment of a message: a buffer handle and the payload bytes in
 * it. On TX, data - 96 .. data must be writable headroom. */
struct mn_seg {
	void *buf;
	uint8_t *data;
	uint32_t len;
};

enum mn_proto_event {
	MN_PROTO_EV_CONNECTED = 1,	/* connect completed; err 0 */
	MN_PROTO_EV_CONNECT_FAILED,	/* err -ECONNREFUSED (RST) or -ETIMEDOUT; terminal */
	MN_PROTO_EV_ACCEPTED,		/* new established flow on a listener; cookie is the
					 * listener's */
	MN_PROTO_EV_RESET,		/* peer sent RST; terminal; err -ECONNRESET */
	MN_PROTO_EV_CLOSED,		/* terminal: mn_proto_close() finished (RST sent), err 0
					 * or -ETIMEDOUT when unsent/unACKed data had to be
					 * dropped; or mn_proto_abort(), err -ECONNABORTED */
	MN_PROTO_EV_FAILED,		/* retries exhausted (-ETIMEDOUT) or protocol error
					 * (-EPROTO): RST sent; terminal */
};

struct mn_proto_ops {
	void *ctx;
	/* Transmit frame[0..len) of buf from params.local[local] (so the owner
	 * picks the port without looking at the frame). Consumes one reference
	 * to buf in all cases; returns 0 or -errno (then the endpoint counts a
	 * tx failure and relies on retransmission). */
	int (*tx)(void *ctx, unsigned local, void *buf, uint8_t *frame, uint32_t len);
	/* Take / drop one reference to buf. */
	void (*hold)(void *ctx, void *buf);
	void (*release)(void *ctx, void *buf);
	/* A fresh buffer (one reference, owned by the endpoint) whose *payload
	 * has MN_ALL_HLEN bytes of headroom and at least MSS bytes of room; for
	 * control frames (payload_len 0) and mn_proto_send_bytes(). NULL when
	 * none is available (counted; the frame is not sent). */
	void *(*alloc)(void *ctx, uint8_t **payload);
	/* A whole message, in order: segs[0..nsegs) (total msg_len bytes).
	 * Return 0 to take the references to every segs[i].buf, or non-zero
	 * (e.g. -ENOBUFS) to refuse: the endpoint keeps them and retries. */
	int (*deliver)(void *ctx, struct mn_flow *f, void *cookie,
	               const struct mn_seg *segs, uint32_t nsegs, uint32_t msg_len);
	/* A flow event (see enum mn_proto_event). */
	void (*event)(void *ctx, struct mn_flow *f, void *cookie, enum mn_proto_event ev, int err);
	/* Optional (NULL: no limit): may flow f take one more data packet,
	 * while the endpoint holds `held` packets of it (reassembly, out of
	 * order, refused delivery)? Non-zero: yes. The owner adds what it holds
	 * itself (delivered, not yet consumed). A pure query: it must not call
	 * the endpoint. See "Flow control" above. */
	int (*rx_room)(void *ctx, struct mn_flow *f, void *cookie, uint32_t held);
};

enum mn_proto_cc {
	MN_PROTO_CC_AUTO = 0,	/* Swift when the extensions were agreed, else fixed window */
	MN_PROTO_CC_FIXED,	/* fixed window (with halving on loss) always */
};

struct mn_rss;

struct mn_proto_local {
	uint32_t ip;
	uint8_t mac[6];
	/* The RSS of the port this address is on (mn_rss.h), or NULL (no
	 * RSS: memif, af_packet, af_xdp, one queue). mn_proto_create copies
	 * it. With it, a connect's source port is also one whose replies the
	 * NIC puts on an RX queue q with q % port_stride == port_phase (see
	 * mn_proto_connect). */
	const struct mn_rss *rss;
};

struct mn_proto_params {
	uint32_t n_local;
	struct mn_proto_local local[MN_PROTO_MAX_LOCAL];
	uint32_t mtu;			/* 1500: MSS = mtu - 82 */
	uint32_t window;		/* 32: fixed window, and Swift's start window */
	uint64_t min_rto_ns;		/* 1 ms */
	uint64_t plain_min_rto_ns;	/* 10 ms: the RTO floor toward a plain Machnet peer
					 * (see above); 0: min_rto_ns. At most max_rto_ns */
	uint64_t max_rto_ns;		/* 1 s */
	uint64_t init_rto_ns;		/* 10 ms: SYN retries and the first RTO */
	uint32_t max_retries;		/* 8: consecutive timeouts (and keepalive re-probes) before
					 * a flow may fail; see give_up_ns */
	enum mn_proto_cc cc;		/* AUTO */
	int extensions;			/* 1: advertise timestamps/SACK/Swift; 0: plain Machnet */
	uint64_t target_qdelay_ns;	/* 50 us: Swift's queueing-delay target above the base RTT */
	uint64_t connect_timeout_ns;	/* 3 s: SYN_SENT and half-open (SYN received) lifetime */
	uint64_t close_timeout_ns;	/* 0.5 s: close waits this long for data to be ACKed */
	uint64_t rx_retry_ns;		/* 20 us: retry of a refused delivery */
	uint32_t max_flows;		/* 1024 */
	/* Source ports of connects are those with port % port_stride ==
	 * port_phase (1, 0: all): several endpoints of one stack (its engines)
	 * split the ports, so a frame's port names the endpoint that owns its
	 * flow and no two endpoints open the same tuple. */
	uint32_t port_stride, port_phase;
	uint32_t max_half_open;		/* 256: SYN flood bound */
	uint32_t max_listeners;		/* 64 */
	uint32_t pool_pkts;		/* 65536: packets held (TX unACKed + RX undelivered), all flows */
	uint32_t sndq_max_pkts;		/* per flow, queued + in flight: 2 largest messages */
	unsigned tx_csum;		/* MN_ENC_CSUM_* for frames we build (IP|UDP) */
	int rx_check_csum;		/* 1: drop bad IP/UDP checksums; 0 for peers that send zeros */
	uint64_t keepalive_ns;		/* 1 s (0: off): idle time before a keepalive probe (see
					 * above); at most MN_PROTO_MAX_KEEPALIVE_NS */
	uint64_t ack_delay_ns;		/* 50 us (0: off): piggybacked ACKs (see above); at most
					 * min_rto_ns / 2 */
	uint64_t give_up_ns;		/* 60 s (0: retries alone): see "Giving up" above; at
					 * most MN_PROTO_MAX_GIVE_UP_NS */
	uint32_t port_seed;		/* 0: source ports first-free from MN_PROTO_FIRST_PORT
					 * (the simulator's tests of tuple reuse); else see
					 * mn_proto_connect() */
};

/* Per-endpoint counters; read them with mn_proto_stats(). */
struct mn_proto_stats {
	uint64_t rx_frames;
	uint64_t rx_drop[MN_RX__COUNT];	/* codec rejections by reason ([0] unused) */
	uint64_t rx_not_local;		/* destination IP is not ours */
	uint64_t rx_data;		/* data packets accepted in order or buffered */
	uint64_t rx_dup;		/* data already received */
	uint64_t rx_out_of_window;	/* data 256+ ahead (dropped, ACKed) */
	uint64_t rx_ooo;		/* data buffered out of order */
	uint64_t rx_backpressure;	/* data dropped while delivery was refused */
	uint64_t rx_nomem;		/* data dropped: packet pool empty */
	uint64_t rx_bad_framing;	/* msg_flags that do not frame a message (flow failed) */
	uint64_t rx_acks;
	uint64_t rx_stale_acks;		/* ackno outside [snd_una, snd_nxt] */
	uint64_t rx_dup_acks;
	uint64_t rx_rst;
	uint64_t rx_rst_ignored;	/* unknown flow or out of window */
	uint64_t rx_syn_ignored;	/* no room (max_flows / max_half_open) */
	uint64_t rx_synack_ignored;	/* wrong ackno or no such connect */
	uint64_t rx_unexpected;		/* control frame that fits no state */
	uint64_t tx_frames;
	uint64_t tx_data;
	uint64_t tx_acks;
	uint64_t tx_fail;		/* ops.tx returned an error */
	uint64_t tx_nobuf;		/* ops.alloc returned NULL */
	uint64_t retransmits;		/* every data retransmission */
	uint64_t fast_retransmits;	/* recoveries entered on duplicate ACKs / SACK */
	uint64_t rtos;			/* retransmission timeouts (data and SYN) */
	uint64_t rst_sent;
	uint64_t aborts;		/* mn_proto_abort() calls that tore a flow down */
	uint64_t rst_unknown_sent;	/* RSTs answering data for an unknown flow or a SYN to no listener */
	uint64_t msgs_sent;
	uint64_t msgs_delivered;
	uint64_t deliver_refused;
	uint64_t flows_opened;
	uint64_t flows_failed;
	uint64_t keepalives_sent;	/* keepalive probes, re-probes included */
	uint64_t keepalive_failures;	/* flows failed by unanswered probes (also in flows_failed) */
	uint64_t tx_piggy_acks;		/* data packets that carried an ACK we owed */
	uint64_t rx_piggy_acks;		/* data packets whose ackno advanced snd_una */
	uint64_t rtos_spurious;		/* RTOs toward a plain peer found spurious and undone */
	uint64_t rx_window_closed;	/* data dropped: the owner's budget for the flow was used */
	uint64_t zwin_probes;		/* window probes sent to peers whose window was closed */
	uint64_t zwin_opened;		/* peers' windows that opened again */
	uint64_t port_rss_miss;		/* connects on an RSS port given a source port whose
					 * replies land on another engine's queue (steered) */
};

/* Snapshot of one flow. */
struct mn_flow_info {
	uint32_t local_ip, remote_ip;
	uint16_t local_port, remote_port;
	int state;			/* internal state number, for diagnostics */
	int extensions;			/* both ends advertised them */
	int piggyack;			/* both ends agreed piggybacked ACKs */
	uint32_t snd_una, snd_nxt, rcv_nxt;
	uint32_t queued;		/* packets queued, not yet sent */
	uint64_t srtt_ns, rto_ns;
	double cwnd;
};

/* Fills *p with the defaults listed above (no local addresses). */
void mn_proto_params_default(struct mn_proto_params *p);

/* Creates an endpoint; allocates everything it will ever use. Returns NULL
 * with errno EINVAL (bad params/ops) or ENOMEM. */
struct mn_proto *mn_proto_create(const struct mn_proto_params *p, const struct mn_proto_ops *ops,
                                 uint64_t now);
/* Releases every buffer it holds (ops.release) and frees it; no events. */
void mn_proto_destroy(struct mn_proto *ep);

/* Payload bytes per packet. */
uint32_t mn_proto_mss(const struct mn_proto *ep);

/* Accepts SYNs to (ip, port); ip 0 means every local IP. cookie comes back
 * with MN_PROTO_EV_ACCEPTED. 0, -EADDRINUSE, -ENOSPC, -EADDRNOTAVAIL. */
int mn_proto_listen(struct mn_proto *ep, uint32_t ip, uint16_t port, void *cookie);
int mn_proto_unlisten(struct mn_proto *ep, uint32_t ip, uint16_t port);

/* Opens a flow from local_ip to remote_ip:remote_port via next-hop MAC
 * remote_mac (the owner resolves it) and sends the SYN. The source port:
 * with params.port_seed != 0, each local address has a cursor that starts at
 * a point of 1024..65535 drawn from the seed and moves past every port it
 * hands out, skipping ports in use (a flow, a listener, or this tuple), so a
 * reconnect to the same peer gets a new 4-tuple and a handle of the closed
 * flow (or a late packet of it) cannot address the new one until the
 * 64,512 ports have come round. Bounded: at most one pass over the ports
 * (a bitmap word of 32 used ports is skipped at once; worst case, all but
 * one in use, 2,016 words plus the free ports' listener checks). With
 * port_seed 0 the lowest free port is taken (deterministic reuse). Only ports with
 * port % port_stride == port_phase are handed out (an engine's owner rule
 * for frames software steering hands over). Where the local address has
 * RSS (params.local[].rss), a free port is also tried against the NIC's
 * hash: it is taken only if the peer's replies land on an RX queue q with
 * q % port_stride == port_phase (the endpoint's engine's queues), so
 * nothing needs steering; with E engines sharing the RETA evenly about E
 * free ports are tried. After MN_PROTO_RSS_TRIES misses (or at once when
 * no RETA entry is the engine's) the first free port tried is taken
 * anyway, counted in port_rss_miss: its replies reach the engine through
 * software steering, since the port still follows the stride rule.
 * MN_PROTO_EV_CONNECTED or
 * MN_PROTO_EV_CONNECT_FAILED
 * follows. Data may be queued with mn_proto_send*() before it is connected. Returns the
 * flow, or NULL with errno EADDRNOTAVAIL (not a local IP, or no free port),
 * ENOSPC (flow table full). */
struct mn_flow *mn_proto_connect(struct mn_proto *ep, uint32_t local_ip, uint32_t remote_ip,
                                 uint16_t remote_port, const uint8_t remote_mac[6], void *cookie,
                                 uint64_t now);

/* Queues one message made of nsegs packets (each 1..MSS bytes; every buffer
 * but the last full MSS is not required). On 0 the endpoint owns one
 * reference to every segs[i].buf. Errors (the caller keeps the buffers):
 * -EAGAIN (send queue or packet pool full: backpressure, retry later),
 * -EMSGSIZE, -EINVAL, -ECONNRESET (flow closing or dead). */
int mn_proto_sendv(struct mn_flow *f, const struct mn_seg *segs, uint32_t nsegs, uint64_t now);
/* Convenience path: copies len bytes (1 .. 8 MiB) into buffers from ops.alloc.
 * Same errors; -EAGAIN also when alloc fails. */
int mn_proto_send_bytes(struct mn_flow *f, const void *data, uint32_t len, uint64_t now);

/* Closes a flow: queued data is sent and ACKed (or close_timeout passes),
 * then RST is sent and MN_PROTO_EV_CLOSED reported. Data received meanwhile
 * is ACKed and dropped. Takes effect from mn_proto_poll(). */
void mn_proto_close(struct mn_flow *f, uint64_t now);

/* Tears a flow down at once, for an owner that is gone (its application
 * died): sends RST (seqno snd_nxt, ackno rcv_nxt), releases every buffer the
 * flow holds (unACKed and queued TX, undelivered and out-of-order RX), frees
 * the flow table entry and its source port (reusable on return) and reports
 * MN_PROTO_EV_CLOSED with err -ECONNABORTED before returning; the handle is
 * invalid afterwards. Works in any state (SYN_SENT, established, closing);
 * a flow whose terminal event is being reported is left alone. May be
 * called from inside any callback, on any flow, including the one the
 * callback is about: a message being delivered when its flow is aborted
 * stays the owner's if deliver() then accepts it, and until the callbacks
 * running have returned no new flow takes the aborted one's handle. */
void mn_proto_abort(struct mn_flow *f, uint64_t now);

/* A received frame frame[0..len) in buf (one reference, now the endpoint's). */
void mn_proto_rx(struct mn_proto *ep, void *buf, uint8_t *frame, uint32_t len, uint64_t now);
/* Sends the ACKs that mn_proto_rx() coalesced; call after each receive burst. */
void mn_proto_flush(struct mn_proto *ep, uint64_t now);
/* Runs due timers (and flushes). Returns mn_proto_next_deadline(). */
uint64_t mn_proto_poll(struct mn_proto *ep, uint64_t now);
/* When mn_proto_poll() next has work (UINT64_MAX: none). */
uint64_t mn_proto_next_deadline(const struct mn_proto *ep);

/* The owner's flow (connecting, open or closing; neither half-open nor
 * ended) with this tuple, or NULL: one lookup in the endpoint's flow hash. */
struct mn_flow *mn_proto_find(const struct mn_proto *ep, uint32_t local_ip, uint16_t local_port,
                              uint32_t remote_ip, uint16_t remote_port);
/* True when the endpoint has any flow of this tuple, half-open ones
 * included: a frame of it is this endpoint's to process. */
bool mn_proto_knows(const struct mn_proto *ep, uint32_t local_ip, uint16_t local_port,
                    uint32_t remote_ip, uint16_t remote_port);
void *mn_flow_cookie(const struct mn_flow *f);
void mn_flow_set_cookie(struct mn_flow *f, void *cookie);
void mn_flow_info(const struct mn_flow *f, struct mn_flow_info *out);
/* Number of flows in the table (any state). */
uint32_t mn_proto_nflows(const struct mn_proto *ep);
const struct mn_proto_stats *mn_proto_stats(const struct mn_proto *ep);
/* Window blocks (2 KiB each: a flow's packets in flight and out of order,
 * held only while it has some): how many flows hold one now; *touched:
 * how many were ever in use at once (their memory stays resident). */
uint32_t mn_proto_winblks(const struct mn_proto *ep, uint32_t *touched);

/* Test hook: moves an established, idle flow's sequence numbers (next to
 * send, next expected), so that tests can cross the 2^32 wrap. The peer must
 * be moved to match. 0, or -EBUSY when data is queued or unACKed. */
int mn_proto_test_set_seq(struct mn_flow *f, uint32_t snd_nxt, uint32_t rcv_nxt);

#endif
