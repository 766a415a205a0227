/* mn_engine_cmd: commands from the control thread to an engine, and their
 * completions; primary-internal (both ends are threads of machnetd), so
 * not in the ABI header. One ring of each per engine.
 */
#ifndef MN_ENGINE_CMD_H
#define MN_ENGINE_CMD_H

#include <stdint.h>

#define MN_ENGINE_CMD_FMT	"mne%u.cmd"	/* control -> engine: struct mn_engine_cmd */
#define MN_ENGINE_DONE_FMT	"mne%u.done"	/* engine -> control: struct mn_engine_cmd */

/* Commands, control -> engine (ring MN_ENGINE_CMD_FMT), and completions,
 * engine -> control (ring MN_ENGINE_DONE_FMT, op echoed). */
enum mn_engine_op {
	MN_CMD_CHAN_ADD = 1,	/* engine adopts chan: prime fill, post MN_EV_ATTACHED */
	MN_CMD_CHAN_DEL = 2,	/* reset the channel's flows and listeners, take back
				 * every mbuf it holds, forget it; reply on done */
	MN_CMD_LISTEN = 3,
	MN_CMD_CONNECT = 4,
	MN_CMD_CLOSE = 5,
};

struct mn_engine_cmd {
	uint16_t op;		/* enum mn_engine_op */
	uint16_t chan;
	uint32_t chan_gen;
	uint32_t req_id;
	int32_t status;		/* done ring: result */
	uint32_t flow_id;
	uint32_t local_ip, remote_ip;	/* host order */
	uint16_t local_port, remote_port;
	uint32_t dead;		/* CHAN_DEL: 1 = the app died (vs detached) */
};

#endif
