/* mn_eal: machnetd's EAL session outside EAL's own code: the argument list
 * it starts EAL with, the hugepage check before, and the files EAL leaves
 * behind after rte_eal_cleanup(). Main thread; may log.
 */
#ifndef MN_EAL_H
#define MN_EAL_H

#include "mn_config.h"

/* Room for the arguments mn_config_eal_argv() builds plus those after "--". */
#define MN_EAL_MAX_ARGS (MN_CFG_MAX_EAL_ARGS * 2 + 64)

struct mn_eal_args {
	int argc;
	char *argv[MN_EAL_MAX_ARGS];
	char buf[8192];
};

/* The EAL arguments of cfg (mn_config_eal_argv) followed by extra[0 .. n),
 * NULL-terminated; logged whole ("eal args: ..."), so the tests and the
 * operator see what EAL got. 0 or -1 (said why). */
int mn_eal_args_build(const struct mn_config *cfg, char *const *extra, int n,
		      struct mn_eal_args *out);

/* Free hugepage memory in MB, or -1 when /proc/meminfo says nothing. */
long mn_eal_hugepages_free_mb(void);

/* Removes the hugepage files of prefix and EAL's runtime directory (its
 * path, "" for none) after rte_eal_cleanup(): a stopped machnetd leaves
 * nothing. */
void mn_eal_remove_prefix_files(const char *prefix, const char *runtime_dir);

#endif
