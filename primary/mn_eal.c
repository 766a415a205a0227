/* mn_eal: machnetd's EAL arguments and leftovers. See mn_eal.h. */
#include "mn_eal.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mn_log.h"

int mn_eal_args_build(const struct mn_config *cfg, char *const *extra, int n,
		      struct mn_eal_args *out)
{
	int argc = mn_config_eal_argv(cfg, out->buf, sizeof(out->buf), out->argv,
				      MN_EAL_MAX_ARGS - 1);

	if (argc < 0) {
		mn_log("cannot build EAL arguments: %s", strerror(-argc));
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (argc + 1 >= MN_EAL_MAX_ARGS) {
			mn_log("too many EAL arguments after --");
			return -1;
		}
		out->argv[argc++] = extra[i];
	}
	out->argv[argc] = NULL;
	out->argc = argc;
	fprintf(stderr, "machnetd[%s]: eal args:", cfg->instance);
	for (int i = 0; i < argc; i++)
		fprintf(stderr, " %s", out->argv[i]);
	fputc('\n', stderr);
	return 0;
}

/* Free hugepage memory in MB, or -1 when /proc/meminfo says nothing. */
long mn_eal_hugepages_free_mb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long free_pages = -1, size_kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %ld", &free_pages);
		sscanf(line, "Hugepagesize: %ld kB", &size_kb);
	}
	fclose(f);
	if (free_pages < 0 || size_kb <= 0)
		return -1;
	return free_pages * size_kb / 1024;
}

/* EAL leaves the files of memory reserved with -m behind (and its runtime
 * directory); a later primary with the same prefix would recycle them, but a
 * stopped machnetd should leave nothing. */
void mn_eal_remove_prefix_files(const char *prefix, const char *runtime_dir)
{
	char mnt[256], fstype[64], path[1024];
	size_t plen = strlen(prefix);
	FILE *m = fopen("/proc/mounts", "r");
	struct dirent *de;
	DIR *d;

	while (m && fscanf(m, "%*s %255s %63s %*[^\n]", mnt, fstype) == 2) {
		if (strcmp(fstype, "hugetlbfs") != 0)
			continue;
		d = opendir(mnt);
		while (d && (de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, prefix, plen) == 0 &&
			    strncmp(de->d_name + plen, "map_", 4) == 0) {
				snprintf(path, sizeof(path), "%s/%s", mnt, de->d_name);
				unlink(path);
			}
		}
		if (d)
			closedir(d);
	}
	if (m)
		fclose(m);
	if (!runtime_dir || !runtime_dir[0])
		return;
	d = opendir(runtime_dir);
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", runtime_dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(runtime_dir);
}

