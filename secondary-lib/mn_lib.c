#include "mn_lib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mn_lib_parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (s == NULL || out == NULL || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

int mn_lib_check_instance(const char *name)
{
	size_t i, n;

	if (name == NULL)
		return -EINVAL;
	n = strlen(name);
	if (n == 0 || n > 31)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int mn_lib_check_size(size_t len)
{
	if (len == 0)
		return -EINVAL;
	if (len > MACHNET_MSG_MAX_LEN)
		return -EMSGSIZE;
	return 0;
}

int mn_lib_check_msghdr(const MachnetMsgHdr_t *h)
{
	size_t i, sum = 0;
	int ret;

	if (h == NULL)
		return -EINVAL;
	ret = mn_lib_check_size(h->msg_size);
	if (ret < 0)
		return ret;
	if (h->msg_iov == NULL || h->msg_iovlen == 0)
		return -EINVAL;
	for (i = 0; i < h->msg_iovlen; i++) {
		if (h->msg_iov[i].len > 0 && h->msg_iov[i].base == NULL)
			return -EINVAL;
		/* Checked against the remainder so the sum cannot wrap. */
		if (h->msg_iov[i].len > h->msg_size - sum)
			return -EINVAL;
		sum += h->msg_iov[i].len;
	}
	return sum == h->msg_size ? 0 : -EINVAL;
}

static int copy_prefix(const char *v, char *prefix, size_t len)
{
	if (strlen(v) >= len)
		return -EINVAL;
	snprintf(prefix, len, "%s", v);
	return 0;
}

int mn_lib_scan_eal_args(int argc, char *const *argv, int *has_lcores, char *prefix,
			 size_t prefix_len)
{
	int i, secondary = 0;
	const char *pt = NULL;

	if (argc < 1 || argv == NULL || has_lcores == NULL || prefix == NULL || prefix_len < 4)
		return -EINVAL;
	*has_lcores = 0;
	snprintf(prefix, prefix_len, "rte");
	for (i = 1; i < argc && argv[i] != NULL; i++) {
		const char *a = argv[i];
		const char *next = (i + 1 < argc) ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0)
			break;
		if (strncmp(a, "--proc-type=", 12) == 0) {
			pt = a + 12;
		} else if (strcmp(a, "--proc-type") == 0 && next) {
			pt = next;
			i++;
		} else if (strncmp(a, "--file-prefix=", 14) == 0) {
			if (copy_prefix(a + 14, prefix, prefix_len) < 0)
				return -EINVAL;
		} else if (strcmp(a, "--file-prefix") == 0 && next) {
			if (copy_prefix(next, prefix, prefix_len) < 0)
				return -EINVAL;
			i++;
		} else if (strncmp(a, "--lcores", 8) == 0 || strncmp(a, "-l", 2) == 0 ||
			   strncmp(a, "-c", 2) == 0) {
			*has_lcores = 1;
		}
		/* The last --proc-type wins in EAL, so every one is judged. */
		if (pt) {
			secondary = strcmp(pt, "secondary") == 0;
			if (!secondary)
				return -EINVAL;
			pt = NULL;
		}
	}
	return secondary ? 0 : -EINVAL;
}

static const char *user_run_base(void)
{
	const char *x;

	if (getuid() == 0)
		return NULL;
	x = getenv("XDG_RUNTIME_DIR");
	return (x && *x) ? x : "/tmp";
}

void mn_lib_runtime_dir(const char *prefix, char *out, size_t len)
{
	const char *base = user_run_base();

	snprintf(out, len, "%s/dpdk/%s", base ? base : "/var/run", prefix);
}

void mn_lib_lock_dir(char *out, size_t len)
{
	const char *base = user_run_base();

	snprintf(out, len, "%s/machnet", base ? base : "/run");
}

int mn_lib_primary_alive(const char *prefix, int *pid, char *msg, size_t msglen)
{
	char dir[256], path[300];
	struct flock fl;
	int fd;

	mn_lib_runtime_dir(prefix, dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(msg, msglen, "no machnetd for instance '%s' (%s: %s); "
			 "is machnetd running with instance %s?", prefix, path, strerror(errno),
			 prefix);
		return -ENOENT;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	/* A DPDK primary write-locks the start of its config file for its
	 * whole life; asking who would block a write lock names it. */
	if (fcntl(fd, F_GETLK, &fl) < 0 || fl.l_type == F_UNLCK) {
		close(fd);
		snprintf(msg, msglen, "no machnetd for instance '%s' (%s is left over from a "
			 "process that exited); is machnetd running with instance %s?",
			 prefix, path, prefix);
		return -ENOENT;
	}
	close(fd);
	if (pid)
		*pid = fl.l_pid;
	return 0;
}
