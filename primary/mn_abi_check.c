/* mn_abi_check: compile-time ties between the ABI header's numbers and the
 * limits of the code on either side of it (proto's header lengths and
 * message size, the config's limits). Nothing runs here: a limit changed on
 * one side only fails the build, not a process at run time.
 */
#include "mn_abi.h"
#include "mn_config.h"
#include "mn_proto.h"
#include "mn_transport.h"
#include "mn_wire.h"

/* The headers proto writes in front of each segment's payload. */
_Static_assert(MN_TX_HEADROOM == MN_ALL_HLEN, "MN_TX_HEADROOM is proto's header length");
_Static_assert(MN_MTU_OVERHEAD == MN_IP_HLEN + MN_UDP_HLEN + MN_HDR_LEN,
	       "MN_MTU_OVERHEAD is what MN_MSS() takes from the MTU");
_Static_assert(MN_MSS(1500) == 1500 - MN_MTU_OVERHEAD, "mss as apps compute it");
_Static_assert(MN_MAX_MSG == MN_PROTO_MAX_MSG, "one largest message on both sides");

/* The config cannot ask for more than the ABI describes. */
_Static_assert(MN_CFG_MAX_IFACES <= MN_ABI_MAX_IFACES, "mn_info.ifaces holds every interface");
_Static_assert(MN_CFG_MAX_IFACES <= MN_PROTO_MAX_LOCAL, "proto has a local address per port");
_Static_assert(MN_CFG_MAX_ENGINES <= MN_ABI_MAX_ENGINES, "mn_info.stats has a block per engine");
_Static_assert(MN_CFG_NAME_LEN == MN_INSTANCE_MAX_LEN + 1, "instance names: one rule");
_Static_assert(MN_CFG_NAME_LEN <= MN_OBJ_NAME_LEN, "interface and instance names fit mn_info");
_Static_assert(sizeof(((struct mn_info *)0)->instance) > MN_INSTANCE_MAX_LEN,
	       "mn_info.instance holds an instance name");
_Static_assert(sizeof(((struct mn_ctrl_shm *)0)->instance) > MN_INSTANCE_MAX_LEN,
	       "mn_ctrl_shm.instance holds an instance name");
/* Flow ids are an engine's flow-table index + 1, for tables of up to
 * transport.max_flows entries. */
_Static_assert(MN_CFG_MAX_FLOWS < UINT32_MAX &&
	       MN_CFG_MAX_FLOWS <= (1ull << (8 * sizeof(((struct mn_event *)0)->flow_id))) - 1,
	       "flow ids fit mn_event.flow_id");
_Static_assert(MN_CFG_MAX_FLOWS <= (1u << 24), "mn_proto_create takes transport.max_flows");
_Static_assert(MN_CFG_ENGINE_LISTENERS == MN_TRANSPORT_LIS, "apps.max_listeners is bounded by the engine's");
