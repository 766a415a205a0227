/* machnet-stat: prints a running machnetd's counters.
 *
 * A client of machnetd's telemetry socket (DPDK's, <runtime dir>/
 * dpdk_telemetry.v2): it asks /machnet/info and /machnet/stats,<engine>
 * and prints what they answer. So it needs no DPDK, no memzone layout and
 * no primary code: the counters and their names are machnetd's own (its
 * counter lists), and a counter added there shows here without a change.
 * It cannot disturb the primary or its apps.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "machnet.h"

#define REPLY_MAX (64 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: machnet-stat [-i INSTANCE] [-w SECONDS [-n COUNT]]\n"
		"  -i, --instance INSTANCE  machnetd instance (its DPDK file prefix);\n"
		"                           default $MACHNET_INSTANCE, else mn0\n"
		"  -w, --wait SECONDS       repeat every SECONDS, 1..86400 (default:\n"
		"                           print once)\n"
		"  -n, --count COUNT        stop after COUNT repetitions (with -w)\n"
		"  -h, --help               this text\n");
}

/* A whole number 1..max, nothing after it. 0 or -EINVAL. */
static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0' || v < 1 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* DPDK's runtime directory of prefix, as EAL computes it. */
static void socket_path(const char *prefix, char *out, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(out, len, "/var/run/dpdk/%s/dpdk_telemetry.v2", prefix);
	else
		snprintf(out, len, "%s/dpdk/%s/dpdk_telemetry.v2", xdg ? xdg : "/tmp", prefix);
}

static int tel_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char hello[1024];
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    read(fd, hello, sizeof(hello)) <= 0) {	/* the server's greeting */
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends cmd, reads the reply into buf. Returns the reply's dict (the text
 * after `{"<cmd>":`), or NULL. */
static char *tel_query(int fd, const char *cmd, char *buf, size_t len)
{
	ssize_t n;
	char *p;

	if (write(fd, cmd, strlen(cmd)) < 0 || (n = read(fd, buf, len - 1)) <= 0)
		return NULL;
	buf[n] = '\0';
	p = strchr(buf, ':');
	while (p && *p && *p != '{')
		p++;
	return p && *p == '{' ? p + 1 : NULL;
}

/* Next `"key": value` of a flat dict: key and value (number or string
 * text, quotes removed) are cut out of the buffer. Returns the position
 * after it, or NULL at the end. */
static char *next_pair(char *p, char **key, char **val)
{
	char *e;

	p = strchr(p, '"');
	if (!p || !(e = strchr(p + 1, '"')))
		return NULL;
	*key = p + 1;
	*e = '\0';
	p = e + 1;
	while (*p == ':' || *p == ' ')
		p++;
	if (*p == '"') {
		*val = p + 1;
		if (!(e = strchr(p + 1, '"')))
			return NULL;
	} else {
		*val = p;
		e = p + strcspn(p, ",}");
	}
	if (*e == '\0')
		return e;
	*e = '\0';
	return e + 1;
}

static int print_info(int fd, char *buf, unsigned *n_engines)
{
	char *p = tel_query(fd, "/machnet/info", buf, REPLY_MAX), *k, *v;
	char head[256] = "";

	if (!p)
		return -1;
	*n_engines = 0;
	while ((p = next_pair(p, &k, &v)) != NULL) {
		if (strncmp(k, "iface", 5) == 0) {
			if (head[0]) {
				printf("%s\n", head);
				head[0] = '\0';
			}
			printf("%s\n", v);
			continue;
		}
		if (strcmp(k, "engines") == 0)
			*n_engines = (unsigned)strtoul(v, NULL, 10);
		snprintf(head + strlen(head), sizeof(head) - strlen(head), "%s%s %s",
			 head[0] ? "  " : "", k, v);
	}
	if (head[0])
		printf("%s\n", head);
	return 0;
}

/* One engine: every counter; drops and fault counters only when not 0. */
static int print_engine(int fd, char *buf, unsigned e)
{
	char cmd[64], label[24], *p, *k, *v;
	unsigned col = 0;

	snprintf(cmd, sizeof(cmd), "/machnet/stats,%u", e);
	snprintf(label, sizeof(label), "engine%u", e);
	p = tel_query(fd, cmd, buf, REPLY_MAX);
	if (!p)
		return -1;
	while ((p = next_pair(p, &k, &v)) != NULL) {
		if (strcmp(k, "engine") == 0)
			continue;
		if ((strncmp(k, "drop_", 5) == 0 || strncmp(k, "fault_", 6) == 0) &&
		    strcmp(v, "0") == 0)
			continue;
		if (col % 6 == 0)
			printf("%s%-8s", col ? "\n" : "", col ? "" : label);
		printf(" %s=%s", k, v);
		col++;
	}
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	const char *instance = getenv("MACHNET_INSTANCE");
	static char buf[REPLY_MAX];
	char path[512];
	long wait_s = 0, count = 0;
	unsigned n_engines;
	int c, fd;

	static const struct option opts[] = {
		{ "instance", required_argument, NULL, 'i' },
		{ "wait", required_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((c = getopt_long(argc, argv, "i:w:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			instance = optarg;
			break;
		case 'w':
			if (parse_count(optarg, 86400, &wait_s) != 0) {
				fprintf(stderr, "machnet-stat: -w wants whole seconds, 1..86400: '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_count(optarg, 1000000000, &count) != 0) {
				fprintf(stderr, "machnet-stat: -n wants a count, 1..1000000000: '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!instance || !instance[0])
		instance = "mn0";
	socket_path(instance, path, sizeof(path));
	fd = tel_connect(path);
	if (fd < 0) {
		fprintf(stderr, "machnet-stat: no telemetry of a DPDK primary with prefix '%s' "
			"(%s: %s); is machnetd running with instance %s?\n", instance, path,
			strerror(errno), instance);
		return 1;
	}
	for (long i = 0;; i++) {
		if (print_info(fd, buf, &n_engines) != 0) {
			fprintf(stderr, "machnet-stat: machnetd of instance '%s' does not answer "
				"(gone, or not ready)\n", instance);
			close(fd);
			return 1;
		}
		for (unsigned e = 0; e < n_engines; e++)
			if (print_engine(fd, buf, e) != 0)
				break;
		fflush(stdout);
		if (wait_s <= 0 || (count > 0 && i + 1 >= count))
			break;
		sleep((unsigned)wait_s);
		printf("\n");
	}
	close(fd);
	return 0;
}
