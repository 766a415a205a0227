/* machnet.h: the application interface of machnet-mp.
 *
 * Source-compatible with Microsoft Machnet's machnet.h: the same function
 * names, argument lists, types and return conventions, so a program written
 * for Machnet compiles against this header unchanged. The calls after
 * "Additions" below are ours.
 *
 * Model: an application links libmachnet and runs as a DPDK secondary process
 * of machnetd (the primary). machnet_init() joins the machnetd instance named
 * by the environment variable MACHNET_INSTANCE (default "mn0").
 * machnet_attach() gives the calling thread a channel; a channel is used by
 * one thread at a time (no locks inside: a call made while another thread is
 * inside a call on the same channel fails with EBUSY and does nothing).
 * Messages are 1 byte to MACHNET_MSG_MAX_LEN (8 MiB) and are delivered
 * reliably and in order per flow, as whole messages.
 *
 * Error convention (every call): failure is -1 (or NULL for pointer results)
 * with errno set; machnet_strerror(errno) describes it. The library never
 * prints; why machnet_init() failed is in machnet_init_detail(). Each call
 * lists every errno it can return; "the common ones" are, for every call
 * that takes a channel:
 *   EINVAL     channel is NULL, or an argument is out of range (argument
 *              checks come first, before the channel is looked at)
 *   EBADF      channel is not a live channel of this process: never returned
 *              by machnet_attach() here, or detached. A detached channel stays
 *              EBADF forever, even when a later attach reuses its resources,
 *              so a second machnet_detach() can never end another channel.
 *   EBUSY      another thread is inside a call on this channel right now
 *   ESHUTDOWN  machnetd went away; nothing will work again in this process:
 *              exit and restart (DPDK cannot re-initialise a process)
 * and "the control ones", for the calls that ask machnetd (attach, listen,
 * connect, close, detach):
 *   ETIMEDOUT  machnetd did not answer within 5 seconds (it is alive but
 *              starved of CPU); for connect also the handshake timeout
 *   EPROTO     machnetd sent a malformed answer
 *
 * Flows: a flow is its four numbers below, nothing more. After a flow ends
 * (machnet_close(), MACHNET_EV_RESET) a send on it fails asynchronously
 * (MACHNET_EV_SEND_FAILED, ENOTCONN) and a close is ENOENT. machnetd hands
 * out local ports from a cursor that starts at a random port and moves on
 * past every port it gives (wrapping from 65535 to 1024), so a new flow
 * gets an ended flow's four numbers only after the other 64,511 local
 * ports have been handed out on that address. Forget a flow when its end is
 * reported all the same.
 *
 * Limits per application (machnetd's apps.max_flows, apps.max_listeners;
 * docs/CONFIG.md): an app that holds its share gets EDQUOT from
 * machnet_connect() / machnet_listen(), where ENOSPC means machnetd itself
 * is full. Flows count from the connect (or accept) until their end is
 * reported, the close returns, or their channel is detached or the app
 * exits or dies (then as soon as machnetd has taken the channel back:
 * machnet_detach() does not wait for that, and a dead app is noticed within
 * milliseconds).
 *
 * Events: a plain Machnet program never calls machnet_poll_event(). Its
 * channel's event ring (channel_ring entries, 1,024 by default) then fills
 * with ACCEPTED, RESET and SEND_FAILED events, after which machnetd drops new
 * events and counts them (events_lost in its telemetry). Nothing else is
 * affected: messages keep flowing, and the answers to listen, connect and
 * close still arrive (before each such request the library moves a nearly
 * full ring aside, keeping the newest 64 events for machnet_poll_event()).
 *
 * Addresses: MachnetFlow_t holds IPv4 addresses and ports in HOST byte order,
 * as Machnet does. A flow to send on (from machnet_connect(), or an event)
 * has src_* = the local end and dst_* = the remote end. A flow received with
 * a message (machnet_recv, machnet_recvmsg, machnet_zc_recv) names the sender
 * as src_* and this end as dst_*, as in Machnet: reply by swapping it
 * (tx.src_ip = rx.dst_ip, tx.dst_ip = rx.src_ip, ports likewise).
 */
#ifndef MACHNET_H
#define MACHNET_H

#ifdef __cplusplus
extern "C" {
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/* Largest message, in bytes (Machnet's limit). */
#define MACHNET_MSG_MAX_LEN (8u * 1024u * 1024u)

/* Machnet's ring slot type (an index); kept for programs that name it. */
typedef uint32_t MachnetRingSlot_t;

/* One flow: IPv4 addresses and UDP ports, host byte order. Machnet flows are
 * always carried over UDP, so the protocol is implied. */
struct MachnetFlow {
	uint32_t src_ip;
	uint32_t dst_ip;
	uint16_t src_port;
	uint16_t dst_port;
};
typedef struct MachnetFlow MachnetFlow_t;

/* A listening address (host byte order). */
struct MachnetListenerInfo {
	uint32_t ip;
	uint16_t port;
	uint16_t reserved;
};
typedef struct MachnetListenerInfo MachnetListenerInfo_t;

/* One piece of a scattered message, like struct iovec. */
struct MachnetIovec {
	void *base;
	size_t len;
};
typedef struct MachnetIovec MachnetIovec_t;

/* A message: msg_size bytes spread over msg_iov[0 .. msg_iovlen). On send
 * the sum of the iovec lengths must equal msg_size and flow_info names the
 * flow; on receive the library fills msg_size and flow_info. */
struct MachnetMsgHdr {
	uint32_t msg_size;
	MachnetFlow_t flow_info;
	MachnetIovec_t *msg_iov;
	size_t msg_iovlen;
	uint16_t flags;
};
typedef struct MachnetMsgHdr MachnetMsgHdr_t;

/* MachnetMsgHdr.flags: Machnet's delivery-notification request. Accepted and
 * passed to the engine; no notification is generated yet. */
#define MACHNET_MSGBUF_NOTIFY_DELIVERY (1u << 7)

/* Channels are opaque; Machnet programs may name the type. */
typedef struct MachnetChannelCtx MachnetChannelCtx_t;

/* Joins the machnetd instance named by $MACHNET_INSTANCE ("mn0" if unset):
 * checks that a live machnetd serves that instance (before starting DPDK, so
 * a missing daemon is ENOENT instead of DPDK's failure), reserves a DPDK
 * lcore id of its own for this process, starts DPDK as a secondary and
 * registers with machnetd. Calling it again after success does nothing.
 * Returns 0, or -1 with errno (machnet_init_detail() says more):
 *   ENOENT     no machnetd runs for the instance, or it is still starting
 *   EPROTO     machnetd speaks another ABI version (rebuild the app), or
 *              refused the registration for a reason of its own
 *   EINVAL     MACHNET_INSTANCE is not a valid name ([A-Za-z0-9_-]{1,31})
 *   EBUSY      every per-host app lcore id (64) is taken
 *   ENOSPC     machnetd has no free app slot
 *   ETIMEDOUT  machnetd did not answer the registration within 5 seconds
 *   ESHUTDOWN  a previous init failed inside DPDK or machnetd died; DPDK
 *              cannot be started twice in one process
 *   EACCES     no permission for hugepages or the run directory (run as root)
 *   EIO        DPDK failed to start as a secondary (DPDK's own log says why)
 */
int machnet_init(void);

/* Creates a channel for the calling thread, owned by one machnetd engine.
 * The value is an opaque handle (not a pointer to anything). Returns it, or
 * NULL with errno ENOTCONN (machnet_init() has not succeeded), ESHUTDOWN,
 * ENOSPC (machnetd has no free channel), EMFILE (this process has 64
 * channels), EAGAIN (machnetd's engine is busy: retry), ESRCH (machnetd no
 * longer knows this process: it took it for dead), or the control ones. */
void *machnet_attach(void);

/* machnet_attach() on engine `engine` (0 .. machnet_engine_count() - 1)
 * instead of the least loaded one: e.g. a server with a thread per engine
 * attaches one channel on each, and a listener on every channel takes each
 * flow on the engine it arrived on. Returns the handle, or NULL with errno
 * ENODEV (no such engine) or as machnet_attach(). */
void *machnet_attach_engine(unsigned engine);

/* The number of engines of the machnetd this process is attached to, or -1
 * with errno ENOTCONN (machnet_init() has not succeeded) or ESHUTDOWN. */
int machnet_engine_count(void);

/* The engine that serves channel_ctx (0 .. machnet_engine_count() - 1), or
 * -1 with errno EINVAL (NULL channel), EBADF, EBUSY or ESHUTDOWN (the common
 * ones). */
int machnet_channel_engine(void *channel_ctx);

/* Accepts flows addressed to local_ip:port on this channel; their messages
 * arrive on it. local_ip "0.0.0.0" listens on every address of machnetd (a
 * peer's flow to any of them is accepted). Returns 0 or -1 with errno
 * EINVAL (bad IP string, port 0, NULL argument), EADDRNOTAVAIL (local_ip is
 * neither 0.0.0.0 nor one of machnetd's addresses), EADDRINUSE (someone
 * listens on local_ip:port already, or on the port on every address, or
 * local_ip is 0.0.0.0 and someone listens on the port on any address),
 * ENOSPC (the engine's listener table, 64 entries, is full), EDQUOT (this
 * application holds apps.max_listeners listeners, 16 by default), EAGAIN
 * (machnetd's engine is busy: retry), or the control and common ones.
 * A flow a peer opens to a listener of an application that holds
 * apps.max_flows flows is reset at once (the peer sees its connect succeed,
 * then ECONNRESET) and never reported here. */
int machnet_listen(void *channel_ctx, const char *local_ip, uint16_t port);

/* Opens a flow from local_ip to remote_ip:remote_port and waits for the
 * handshake (about one round trip; at most machnetd's connect timeout).
 * On success fills *flow (the local port is chosen by machnetd) and returns 0.
 * Otherwise -1 with errno EINVAL (bad IP strings, remote_port 0, NULL flow),
 * ENETUNREACH (no path can exist, refused at once: remote_ip is 0.0.0.0/8,
 * loopback 127/8, multicast, class E or broadcast 255.255.255.255, or one of
 * machnetd's own addresses (no loopback path); or it is off local_ip's
 * subnet and the interface has no gateway), EADDRNOTAVAIL (local_ip is not
 * machnetd's, or no local port is free toward that peer), ECONNREFUSED (the
 * peer answered with a reset), ECONNRESET (the flow ended during the
 * handshake), EHOSTUNREACH (nobody answered ARP for remote_ip, or for its
 * gateway, within machnetd's ARP retries: this can come before the connect
 * timeout), ETIMEDOUT (no answer to the handshake), ENOSPC (machnetd has no
 * free flow), EDQUOT (this application holds apps.max_flows flows, a
 * quarter of an engine's by default: close some), EAGAIN (machnetd's engine is busy: retry), or the
 * control and common ones. */
int machnet_connect(void *channel_ctx, const char *local_ip, const char *remote_ip,
		    uint16_t remote_port, MachnetFlow_t *flow);

/* Queues one message of len bytes on flow. The data is copied once into
 * shared buffers; buf may be reused at once. Returns 0, or -1 with errno
 * EINVAL (NULL buf, len 0), EMSGSIZE (len > MACHNET_MSG_MAX_LEN), EAGAIN
 * (backpressure: nothing was queued, retry later), or the common ones.
 * Errors of the flow itself (reset, unknown flow) arrive as events, see
 * machnet_poll_event().
 * EAGAIN is flow control. Per flow: the flow's send buffer is full
 * (transport.tx_flow_pkts: data queued and not yet acknowledged, typically
 * because the peer app does not read and its stack closed the window);
 * the channel's other flows go on. It clears as the peer acknowledges.
 * Per channel: the send ring is full, or the channel's share of the pool
 * for sending (transport.tx_chan_pkts: buffers it holds, messages queued,
 * unacknowledged data) is used; then every flow of the channel sees it,
 * which happens when more than 8 of its flows are blocked at once (a
 * channel per independent group of peers avoids that). A message accepted (0) is delivered
 * or its flow reported reset: it is never dropped while both stacks run,
 * however long the peer app does not read. */
int machnet_send(const void *channel_ctx, MachnetFlow_t flow, const void *buf, size_t len);

/* Like machnet_send() with the data gathered from msghdr->msg_iov. Also
 * EINVAL when msghdr or msg_iov is NULL, or the iovec lengths do not add up
 * to msg_size. */
int machnet_sendmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr);

/* Queues up to vlen messages in order, stopping at the first one that cannot
 * be queued. Returns how many were queued (0..vlen); when that is less than
 * vlen, errno says why the next one failed (as for machnet_sendmsg()).
 * Returns -1 with errno only when the call itself is wrong: NULL array,
 * vlen < 0, or one of the common errors. */
int machnet_sendmmsg(const void *channel_ctx, const MachnetMsgHdr_t *msghdr_iovec, int vlen);

/* Takes the next received message, if any, copying it into buf and its flow
 * into *flow. Never waits. Returns the message length, 0 when no message is
 * waiting, or -1 with errno EINVAL (NULL buf/flow), EMSGSIZE (the message is
 * larger than len: it is discarded, as in Machnet), or the common ones.
 * Received messages never fail with a flow's error: a reset flow simply
 * delivers nothing more (MACHNET_EV_RESET says why). */
ssize_t machnet_recv(const void *channel_ctx, void *buf, size_t len, MachnetFlow_t *flow);

/* Takes the next received message, if any, scattering it over msghdr's
 * msg_iov and setting msg_size and flow_info. Never waits. Returns 1 when a
 * message was received, 0 when none is waiting, -1 with errno EINVAL (NULL
 * msghdr, or msg_iov NULL with msg_iovlen > 0), EMSGSIZE (the iovecs cannot
 * hold the message; it is discarded), or the common ones. */
int machnet_recvmsg(const void *channel_ctx, MachnetMsgHdr_t *msghdr);

/* ===== Additions (not in Machnet) ===== */

/* Like machnet_init() with the caller's DPDK EAL arguments (argv[0] is the
 * program name). They must contain --proc-type=secondary and the instance's
 * --file-prefix; "auto" or "primary" are refused because DPDK would silently
 * start a second primary. If they give no -l/-c/--lcores, a private lcore id
 * is added as machnet_init() does. Returns how many arguments DPDK used (the
 * application continues with argv + ret), or -1 with errno as machnet_init()
 * and EINVAL for a missing or wrong --proc-type, argc < 1, NULL argv. */
int machnet_init_eal(int argc, char **argv);

/* Closes one flow of this channel: messages sent on it before the close are
 * delivered first (the close waits until the peer has acknowledged them, at
 * most about half a second), then the peer is told (reset) and no more
 * messages of the flow are delivered. Returns 0, or -1 with errno EINVAL (NULL
 * flow), ENOENT (no such flow on this channel: never opened, already closed
 * or reset, or another channel's), EAGAIN (machnetd's engine is busy:
 * retry), or the control and common ones. */
int machnet_close(void *channel_ctx, const MachnetFlow_t *flow);

/* Gives the channel back: its flows are reset, its listeners removed and its
 * buffers returned to machnetd. From the call on (whatever it returns) the
 * handle is dead: every call on it, a second detach included, is EBADF.
 * Returns 0 or -1 with the control and common errors. */
int machnet_detach(void *channel_ctx);

/* machnet_recv() that waits up to timeout_us microseconds for a message
 * (timeout_us < 0: wait without limit, still returning ESHUTDOWN if machnetd
 * dies). It polls for about 20 us, then sleeps in the kernel until machnetd
 * delivers to the channel (a futex in shared memory: no CPU while waiting),
 * so the first message after a pause costs a wake-up of some microseconds.
 * Events arriving meanwhile do not end the wait; they stay for
 * machnet_poll_event(). The deadline is kept within about 1 ms. Returns the
 * length, or -1 with errno ETIMEDOUT when none arrived in time, or as
 * machnet_recv(). The channel is busy (EBUSY for other threads) while it
 * waits. */
ssize_t machnet_recv_timeout(const void *channel_ctx, void *buf, size_t len,
			     MachnetFlow_t *flow, long timeout_us);

/* Waits, as machnet_recv_timeout() does (polling briefly, then asleep in
 * the kernel), until the channel has a received message or an event, or
 * timeout_us microseconds passed (< 0: no limit; 0: just look). Takes
 * nothing: follow with machnet_recv() and machnet_poll_event(). Returns 1
 * (something is waiting), 0 (timeout), or -1 with errno EINVAL (NULL
 * channel), EBADF, EBUSY or ESHUTDOWN (the common ones). */
int machnet_recv_wait(const void *channel_ctx, long timeout_us);

/* A file descriptor for event loops (epoll, poll, select, libuv, asyncio):
 * it polls readable (POLLIN/EPOLLIN) when the channel may have a received
 * message or an event. The descriptor belongs to the channel: do not read,
 * write or close it; it stays the same until machnet_detach(), which closes
 * it (remove it from your epoll set first). The first call arms it; from
 * then on every machnet_recv(), machnet_recvmsg(), machnet_zc_recv() and
 * machnet_poll_event() that finds nothing re-arms it: it turns quiet, and
 * becomes readable again when machnetd next delivers a message or an event
 * (or at once if one came in meanwhile). So, level- or edge-triggered: when
 * it is readable, call machnet_recv() (or recvmsg, zc_recv) until it
 * returns 0 AND machnet_poll_event() until it returns 0, then wait again.
 * A wake-up may find nothing (it was for something already taken): that
 * call's 0 re-arms it. Returns the descriptor, or -1 with errno ENOSYS (the
 * channel has none: eventfd() failed at attach), or the common ones. */
int machnet_channel_fd(void *channel_ctx);

/* Events of a channel's flows. */
enum machnet_event_type {
	MACHNET_EV_NONE = 0,
	MACHNET_EV_CONNECTED = 1,	/* a connect finished (error = 0 or the cause) */
	MACHNET_EV_ACCEPTED = 2,	/* a peer opened a flow to one of our listeners */
	MACHNET_EV_RESET = 3,		/* the flow was reset (error = ECONNRESET or ETIMEDOUT) */
	MACHNET_EV_CLOSED = 4,		/* machnet_close() of this flow completed */
	MACHNET_EV_SEND_FAILED = 5,	/* a message was dropped (error = ENOTCONN: no such
					 * flow; EINVAL: malformed zero-copy message) */
};

typedef struct MachnetEvent {
	uint32_t type;		/* enum machnet_event_type */
	int32_t error;		/* 0 or an errno value */
	MachnetFlow_t flow;
} MachnetEvent_t;

/* Takes the channel's next event, if any. Returns 1 (event in *ev), 0 (none),
 * or -1 with errno EINVAL (NULL ev) or the common ones. Events not polled
 * are lost once the ring is full (see "Events" at the top). */
int machnet_poll_event(const void *channel_ctx, MachnetEvent_t *ev);

/* Zero-copy messages: the application writes into or reads from the shared
 * buffers directly. A message is a chain of segments; iterate with
 * machnet_zc_next(). handle is opaque. */
typedef struct MachnetZcMsg {
	void *handle;
	MachnetFlow_t flow;
	uint32_t msg_size;
	uint32_t nseg;
} MachnetZcMsg_t;

/* Takes buffers for a message of len bytes; on success msg describes it
 * (flow still to be set by the caller). Returns 0, or -1 with errno EINVAL
 * (NULL msg, len 0), EMSGSIZE (len > MACHNET_MSG_MAX_LEN), EAGAIN (not
 * enough free buffers yet), or the common ones. */
int machnet_zc_alloc(void *channel_ctx, size_t len, MachnetZcMsg_t *msg);

/* Iterates over the segments of msg: pass cursor NULL first, then the value
 * returned; each call sets *iov to the next segment's bytes. Returns NULL
 * after the last segment (or for a NULL argument). */
void *machnet_zc_next(const MachnetZcMsg_t *msg, void *cursor, MachnetIovec_t *iov);

/* Queues a message from machnet_zc_alloc() to msg->flow. On success the
 * buffers belong to machnetd (msg->handle is cleared). Returns 0, or -1 with
 * errno EINVAL (NULL msg or no message in it), EAGAIN (send ring full: msg
 * is still yours), or the common ones. */
int machnet_zc_send(void *channel_ctx, MachnetZcMsg_t *msg);

/* Takes the next received message without copying. Returns 1 (msg describes
 * it; read it with machnet_zc_next() and give it back with
 * machnet_zc_release()), 0 (none), or -1 with errno EINVAL (NULL msg) or the
 * common ones. */
int machnet_zc_recv(void *channel_ctx, MachnetZcMsg_t *msg);

/* Returns the buffers of a received or an unsent allocated message to
 * machnetd. Returns 0, or -1 with errno EINVAL (NULL msg or no message in
 * it), EAGAIN (return ring momentarily full: retry), or the common ones. */
int machnet_zc_release(void *channel_ctx, MachnetZcMsg_t *msg);

/* One line on why the last machnet_init() or machnet_init_eal() of this
 * process failed: the instance, the file or DPDK error involved and what to
 * try ("" when none failed). The library never writes to stderr itself;
 * print this where the application reports errors. With MACHNET_DEBUG=1 in
 * the environment the library also writes the line to stderr. */
const char *machnet_init_detail(void);

/* A static English description of errnum (a positive errno value), with the
 * meaning this library gives it; never NULL. */
const char *machnet_strerror(int errnum);

#ifdef __cplusplus
}
#endif

#endif
