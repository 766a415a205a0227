/* Unit tests of libmachnet without machnetd or EAL: every argument check
 * returns its documented errno, the helpers parse what they should, a
 * missing machnetd is reported before DPDK starts, and machnet_strerror()
 * covers every documented errno. argv[1]: path of the api_subset program. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "machnet.h"
#include "mn_cunit.h"
#include "mn_lib.h"

#define ABSENT "mnunitabsent"

static const char *g_api_subset;

#define EXPECT_ERR(call, err) do { \
	errno = 0; \
	CU_ASSERT_EQUAL((call), -1); \
	CU_ASSERT_EQUAL(errno, (err)); \
} while (0)

static void test_null_channel(void)
{
	MachnetFlow_t f = { 0xc6120001, 0xc6120002, 1, 2 };
	char buf[16] = { 0 };
	MachnetIovec_t iov = { buf, sizeof(buf) };
	MachnetMsgHdr_t h = { sizeof(buf), f, &iov, 1, 0 };
	MachnetEvent_t ev;
	MachnetZcMsg_t zc = { 0 };

	EXPECT_ERR(machnet_listen(NULL, "198.18.0.1", 80), EINVAL);
	EXPECT_ERR(machnet_connect(NULL, "198.18.0.1", "198.18.0.2", 80, &f), EINVAL);
	EXPECT_ERR(machnet_send(NULL, f, buf, sizeof(buf)), EINVAL);
	EXPECT_ERR(machnet_sendmsg(NULL, &h), EINVAL);
	EXPECT_ERR(machnet_sendmmsg(NULL, &h, 1), EINVAL);
	EXPECT_ERR(machnet_recv(NULL, buf, sizeof(buf), &f), EINVAL);
	EXPECT_ERR(machnet_recvmsg(NULL, &h), EINVAL);
	EXPECT_ERR(machnet_recv_timeout(NULL, buf, sizeof(buf), &f, 10), EINVAL);
	EXPECT_ERR(machnet_close(NULL, &f), EINVAL);
	EXPECT_ERR(machnet_detach(NULL), EINVAL);
	EXPECT_ERR(machnet_poll_event(NULL, &ev), EINVAL);
	EXPECT_ERR(machnet_zc_alloc(NULL, 10, &zc), EINVAL);
	zc.handle = buf;
	EXPECT_ERR(machnet_zc_send(NULL, &zc), EINVAL);
	EXPECT_ERR(machnet_zc_recv(NULL, &zc), EINVAL);
	EXPECT_ERR(machnet_zc_release(NULL, &zc), EINVAL);
}

/* A pointer that machnet_attach() did not return is EBADF, and is never
 * dereferenced (the garbage below would crash if it were). */
static void test_foreign_channel(void)
{
	MachnetFlow_t f = { 1, 2, 3, 4 };
	char buf[8] = { 0 };
	long local = 0;
	void *garbage[] = { &local, (void *)(uintptr_t)0x10, (void *)(uintptr_t)0xdeadbeef000ull,
			    (void *)(uintptr_t)UINTPTR_MAX };
	MachnetEvent_t ev;
	unsigned i;

	for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		EXPECT_ERR(machnet_send(garbage[i], f, buf, sizeof(buf)), EBADF);
		EXPECT_ERR(machnet_recv(garbage[i], buf, sizeof(buf), &f), EBADF);
		EXPECT_ERR(machnet_listen(garbage[i], "198.18.0.1", 7), EBADF);
		EXPECT_ERR(machnet_poll_event(garbage[i], &ev), EBADF);
		EXPECT_ERR(machnet_detach(garbage[i]), EBADF);
	}
}

/* Values shaped like handles (the library's tag, any slot, any serial) that
 * no attach gave out are EBADF, never dereferenced, and never ENOTCONN or a
 * crash: the serial check comes before anything else. */
static void test_forged_handles(void)
{
	MachnetFlow_t f = { 1, 2, 3, 4 };
	char buf[8] = { 0 };
	MachnetEvent_t ev;
	MachnetZcMsg_t zc = { 0 };
	const uint64_t tag = 0x6d6eull << 48;
	const uint64_t forged[] = { tag, tag | 1, tag | 1ull << 8, tag | 1ull << 8 | 63,
				    tag | 1ull << 8 | 64, tag | 255, tag | 0xffffffffffull << 8 | 5,
				    (uint64_t)UINTPTR_MAX };
	unsigned i;

	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		void *h = (void *)(uintptr_t)forged[i];

		EXPECT_ERR(machnet_send(h, f, buf, sizeof(buf)), EBADF);
		EXPECT_ERR(machnet_recv(h, buf, sizeof(buf), &f), EBADF);
		EXPECT_ERR(machnet_connect(h, "198.18.0.1", "198.18.0.2", 7, &f), EBADF);
		EXPECT_ERR(machnet_close(h, &f), EBADF);
		EXPECT_ERR(machnet_poll_event(h, &ev), EBADF);
		EXPECT_ERR(machnet_zc_alloc(h, 10, &zc), EBADF);
		EXPECT_ERR(machnet_zc_recv(h, &zc), EBADF);
		EXPECT_ERR(machnet_detach(h), EBADF);
		EXPECT_ERR(machnet_detach(h), EBADF);
	}
}

/* Runs fn with fd 2 pointed at a temporary file and returns how many bytes
 * were written to it. */
static long stderr_bytes_of(void (*fn)(void))
{
	char path[] = "/tmp/mn_test_lib_stderr_XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;
	long n;

	if (fd < 0 || saved < 0)
		return -1;
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = fstat(fd, &st) == 0 ? (long)st.st_size : -1;
	close(fd);
	return n;
}

static void failing_inits(void)
{
	char *prim[] = { "app", "--proc-type=primary", "--file-prefix=mn7" };
	char *args[] = { "app", "--proc-type=secondary", ("--file-prefix=" ABSENT), "--no-pci" };

	setenv("MACHNET_INSTANCE", "../etc", 1);
	EXPECT_ERR(machnet_init(), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(machnet_init_detail(), "MACHNET_INSTANCE"));
	setenv("MACHNET_INSTANCE", ABSENT, 1);
	EXPECT_ERR(machnet_init(), ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(machnet_init_detail(),
				      "is machnetd running with instance " ABSENT));
	EXPECT_ERR(machnet_init_eal(3, prim), EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(machnet_init_detail(), "--proc-type=secondary"));
	EXPECT_ERR(machnet_init_eal(4, args), ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(machnet_init_detail(), ABSENT));
	unsetenv("MACHNET_INSTANCE");
}

/* The library never writes to the program's stderr; the reason is kept for
 * machnet_init_detail(), and printed only when MACHNET_DEBUG=1 asks. */
static void test_no_stderr(void)
{
	unsetenv("MACHNET_DEBUG");
	CU_ASSERT_EQUAL(stderr_bytes_of(failing_inits), 0);
	setenv("MACHNET_DEBUG", "1", 1);
	CU_ASSERT(stderr_bytes_of(failing_inits) > 0);
	unsetenv("MACHNET_DEBUG");
}

/* Argument checks come before the channel check, so each is observable. */
static void test_sizes(void)
{
	static char big[16];
	MachnetFlow_t f = { 1, 2, 3, 4 };
	MachnetIovec_t iov[2] = { { big, 8 }, { big + 8, 8 } };
	MachnetMsgHdr_t h = { 16, f, iov, 2, 0 };
	MachnetZcMsg_t zc;

	EXPECT_ERR(machnet_send(NULL, f, big, 0), EINVAL);
	EXPECT_ERR(machnet_send(NULL, f, NULL, 10), EINVAL);
	EXPECT_ERR(machnet_send(NULL, f, big, MACHNET_MSG_MAX_LEN + 1), EMSGSIZE);
	EXPECT_ERR(machnet_send(NULL, f, big, (size_t)-1), EMSGSIZE);
	/* 8 MiB exactly passes the size check; the NULL channel then fails. */
	EXPECT_ERR(machnet_send(NULL, f, big, MACHNET_MSG_MAX_LEN), EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_size(MACHNET_MSG_MAX_LEN), 0);
	CU_ASSERT_EQUAL(mn_lib_check_size(1), 0);
	CU_ASSERT_EQUAL(mn_lib_check_size(0), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_size(MACHNET_MSG_MAX_LEN + 1), -EMSGSIZE);

	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), 0);
	h.msg_size = 17;	/* iovecs sum to 16 */
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EINVAL);
	h.msg_size = 15;
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EINVAL);
	h.msg_size = 16;
	iov[1].base = NULL;
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EINVAL);
	iov[1].base = big + 8;
	iov[1].len = (size_t)-8;	/* would wrap a naive sum back to 0 */
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EINVAL);
	iov[1].len = 8;
	h.msg_iov = NULL;
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EINVAL);
	h.msg_iov = iov;
	h.msg_size = MACHNET_MSG_MAX_LEN + 1;
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(&h), -EMSGSIZE);
	CU_ASSERT_EQUAL(mn_lib_check_msghdr(NULL), -EINVAL);
	EXPECT_ERR(machnet_sendmsg(NULL, &h), EMSGSIZE);
	EXPECT_ERR(machnet_sendmmsg(NULL, NULL, 1), EINVAL);

	EXPECT_ERR(machnet_zc_alloc(NULL, 0, &zc), EINVAL);
	EXPECT_ERR(machnet_zc_alloc(NULL, MACHNET_MSG_MAX_LEN + 1, &zc), EMSGSIZE);
	EXPECT_ERR(machnet_zc_alloc(NULL, 10, NULL), EINVAL);
	CU_ASSERT_EQUAL(mn_lib_nsegs(1, 1418), 1);
	CU_ASSERT_EQUAL(mn_lib_nsegs(1418, 1418), 1);
	CU_ASSERT_EQUAL(mn_lib_nsegs(1419, 1418), 2);
	CU_ASSERT_EQUAL(mn_lib_nsegs(MACHNET_MSG_MAX_LEN, 1418), 5916);
}

static void test_ip_and_ports(void)
{
	MachnetFlow_t f;
	uint32_t ip = 0;
	const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.0.0.1", " 1.2.3.4", "1.2.3.4 ",
			      "a.b.c.d", "::1", "198.18.0.1/24" };
	unsigned i;

	CU_ASSERT_EQUAL(mn_lib_parse_ip("198.18.0.1", &ip), 0);
	CU_ASSERT_EQUAL(ip, 0xc6120001u);
	CU_ASSERT_EQUAL(mn_lib_parse_ip("255.255.255.255", &ip), 0);
	CU_ASSERT_EQUAL(ip, 0xffffffffu);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(mn_lib_parse_ip(bad[i], &ip), -EINVAL);
		EXPECT_ERR(machnet_listen(NULL, bad[i], 80), EINVAL);
		EXPECT_ERR(machnet_connect(NULL, "198.18.0.1", bad[i], 80, &f), EINVAL);
		EXPECT_ERR(machnet_connect(NULL, bad[i], "198.18.0.1", 80, &f), EINVAL);
	}
	CU_ASSERT_EQUAL(mn_lib_parse_ip(NULL, &ip), -EINVAL);
	EXPECT_ERR(machnet_listen(NULL, NULL, 80), EINVAL);
	EXPECT_ERR(machnet_listen(NULL, "198.18.0.1", 0), EINVAL);
	EXPECT_ERR(machnet_connect(NULL, "198.18.0.1", "198.18.0.2", 0, &f), EINVAL);
	EXPECT_ERR(machnet_connect(NULL, "198.18.0.1", "198.18.0.2", 80, NULL), EINVAL);
}

static void test_instance_names(void)
{
	CU_ASSERT_EQUAL(mn_lib_check_instance("mn0"), 0);
	CU_ASSERT_EQUAL(mn_lib_check_instance("A-b_9"), 0);
	CU_ASSERT_EQUAL(mn_lib_check_instance("abcdefghijklmnopqrstuvwxyz01234"), 0);
	CU_ASSERT_EQUAL(mn_lib_check_instance("abcdefghijklmnopqrstuvwxyz012345"), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_instance(""), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_instance("../x"), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_instance("a b"), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_check_instance(NULL), -EINVAL);
}

static void test_eal_args(void)
{
	char prefix[32];
	int lc = -1;
	char *ok[] = { "app", "--proc-type=secondary", "--file-prefix=mn7", "--no-pci" };
	char *ok2[] = { "app", "--file-prefix", "x1", "--proc-type", "secondary", "-l", "3" };
	char *prim[] = { "app", "--proc-type=primary", "--file-prefix=mn7" };
	char *aut[] = { "app", "--proc-type=auto" };
	char *none[] = { "app", "--file-prefix=mn7" };
	char *late[] = { "app", "--proc-type=secondary", "--proc-type=auto" };
	char *after[] = { "app", "--file-prefix=p", "--", "--proc-type=secondary" };
	char *lcores[] = { "app", "--proc-type=secondary", "--lcores=40@0" };

	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(4, ok, &lc, prefix, sizeof(prefix)), 0);
	CU_ASSERT_STRING_EQUAL(prefix, "mn7");
	CU_ASSERT_EQUAL(lc, 0);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(7, ok2, &lc, prefix, sizeof(prefix)), 0);
	CU_ASSERT_STRING_EQUAL(prefix, "x1");
	CU_ASSERT_EQUAL(lc, 1);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(3, lcores, &lc, prefix, sizeof(prefix)), 0);
	CU_ASSERT_EQUAL(lc, 1);
	CU_ASSERT_STRING_EQUAL(prefix, "rte");
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(3, prim, &lc, prefix, sizeof(prefix)), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(2, aut, &lc, prefix, sizeof(prefix)), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(2, none, &lc, prefix, sizeof(prefix)), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(3, late, &lc, prefix, sizeof(prefix)), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(4, after, &lc, prefix, sizeof(prefix)), -EINVAL);
	CU_ASSERT_EQUAL(mn_lib_scan_eal_args(0, ok, &lc, prefix, sizeof(prefix)), -EINVAL);

	/* The public call refuses before touching DPDK. */
	EXPECT_ERR(machnet_init_eal(3, prim), EINVAL);
	EXPECT_ERR(machnet_init_eal(2, aut), EINVAL);
	EXPECT_ERR(machnet_init_eal(2, none), EINVAL);
	EXPECT_ERR(machnet_init_eal(0, ok), EINVAL);
	EXPECT_ERR(machnet_init_eal(1, NULL), EINVAL);
}

/* No machnetd: machnet_init() says so and leaves the process able to try
 * again (DPDK was not started). */
static void test_init_without_machnetd(void)
{
	setenv("MACHNET_INSTANCE", "../etc", 1);
	EXPECT_ERR(machnet_init(), EINVAL);
	setenv("MACHNET_INSTANCE", ABSENT, 1);
	EXPECT_ERR(machnet_init(), ENOENT);
	EXPECT_ERR(machnet_init(), ENOENT);
	errno = 0;
	CU_ASSERT_PTR_NULL(machnet_attach());
	CU_ASSERT_EQUAL(errno, ENOTCONN);
	char *args[] = { "app", "--proc-type=secondary", ("--file-prefix=" ABSENT), "--no-pci" };
	EXPECT_ERR(machnet_init_eal(4, args), ENOENT);
	unsetenv("MACHNET_INSTANCE");
}

/* The liveness probe: a config file nobody locks is a dead primary; one
 * write-locked by a live process names that process. */
static void test_primary_liveness(void)
{
	char prefix[64], dir[256], path[300], msg[512];
	int pid = 0, p[2], fd, status;
	pid_t child;

	snprintf(prefix, sizeof(prefix), "mnunit%d", (int)getpid());
	mn_lib_runtime_dir(prefix, dir, sizeof(dir));
	CU_ASSERT_EQUAL(mn_lib_primary_alive(prefix, &pid, msg, sizeof(msg)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "is machnetd running with instance"));

	/* mkdir -p of the runtime dir. */
	char parent[256];
	snprintf(parent, sizeof(parent), "%s", dir);
	*strrchr(parent, '/') = '\0';
	mkdir(parent, 0755);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/config", dir);
	fd = open(path, O_CREAT | O_RDWR, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "x", 1), 1);
	close(fd);
	CU_ASSERT_EQUAL(mn_lib_primary_alive(prefix, &pid, msg, sizeof(msg)), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "left over"));

	CU_ASSERT_FATAL(pipe(p) == 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		char c;
		int cfd = open(path, O_RDWR);

		close(p[1]);
		if (cfd < 0 || fcntl(cfd, F_SETLK, &fl) < 0)
			_exit(3);
		/* Hold the lock until the parent closes the pipe (bounded by
		 * the parent's test timeout). */
		if (read(p[0], &c, 1) < 0)
			_exit(4);
		_exit(0);
	}
	close(p[0]);
	/* Poll with a deadline until the child holds its lock. */
	int ret = -1;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		ret = mn_lib_primary_alive(prefix, &pid, msg, sizeof(msg));
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (ret != 0 && t.tv_sec - t0.tv_sec < 5);
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(pid, child);
	close(p[1]);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Its lock died with it. */
	CU_ASSERT_EQUAL(mn_lib_primary_alive(prefix, &pid, msg, sizeof(msg)), -ENOENT);
	unlink(path);
	rmdir(dir);
}

static void test_strerror(void)
{
	const int documented[] = { EINVAL, EBADF, ENOTCONN, ESHUTDOWN, EAGAIN, EMSGSIZE,
				   ECONNRESET, ETIMEDOUT, ECONNREFUSED, ENOENT, EPROTO, ENOSPC,
				   EMFILE, EBUSY, EACCES, EADDRNOTAVAIL, EADDRINUSE, EIO, ESRCH,
				   EHOSTUNREACH, ENETUNREACH, EDQUOT };
	const unsigned n = sizeof(documented) / sizeof(documented[0]);
	const char *unknown = machnet_strerror(123456);
	unsigned i, j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(unknown);
	CU_ASSERT_PTR_NOT_NULL(machnet_strerror(-1));
	CU_ASSERT_PTR_NOT_NULL(machnet_strerror(0));
	for (i = 0; i < n; i++) {
		const char *s = machnet_strerror(documented[i]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT(strlen(s) > 5);
		CU_ASSERT(strcmp(s, unknown) != 0);
		for (j = 0; j < i; j++)
			CU_ASSERT(strcmp(s, machnet_strerror(documented[j])) != 0);
	}
}

static void test_zc_next_null(void)
{
	MachnetZcMsg_t m = { 0 };
	MachnetIovec_t iov;

	CU_ASSERT_PTR_NULL(machnet_zc_next(NULL, NULL, &iov));
	CU_ASSERT_PTR_NULL(machnet_zc_next(&m, NULL, &iov));
	CU_ASSERT_PTR_NULL(machnet_zc_next(&m, NULL, NULL));
}

/* A Machnet program run with no machnetd exits 1 with the hint, quickly,
 * without hanging or crashing. */
static void test_api_subset_without_machnetd(void)
{
	int p[2], status = 0, done = 0, eof = 0;
	char out[4096];
	size_t used = 0;
	struct timespec t0, t;
	pid_t child;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_api_subset);
	CU_ASSERT_FATAL(pipe(p) == 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		dup2(p[1], 2);
		close(p[0]);
		setenv("MACHNET_INSTANCE", ABSENT, 1);
		execl(g_api_subset, g_api_subset, "client", "198.18.0.2", "198.18.0.1", "7",
		      "1", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };

		if (!eof && poll(&pfd, 1, 100) > 0) {
			ssize_t n = read(p[0], out + used, sizeof(out) - 1 - used);

			if (n > 0)
				used += (size_t)n;
			else
				eof = 1;	/* the child closed stderr: it exited */
		}
		if (!done && waitpid(child, &status, WNOHANG) == child)
			done = 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((done && eof) || t.tv_sec - t0.tv_sec > 20)
			break;
		if (eof && !done)
			usleep(1000);
	}
	if (!done) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	close(p[0]);
	out[used] = '\0';
	CU_ASSERT(done);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "is machnetd running with instance " ABSENT));
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "NULL channel is EINVAL everywhere", test_null_channel },
		{ "foreign channel is EBADF, never dereferenced", test_foreign_channel },
		{ "forged handle values are EBADF", test_forged_handles },
		{ "the library never prints (MACHNET_DEBUG=1 does)", test_no_stderr },
		{ "message sizes and msghdr checks", test_sizes },
		{ "IP strings and ports", test_ip_and_ports },
		{ "instance names", test_instance_names },
		{ "EAL arguments must say secondary", test_eal_args },
		{ "init without machnetd", test_init_without_machnetd },
		{ "primary liveness via config lock", test_primary_liveness },
		{ "strerror covers every documented errno", test_strerror },
		{ "zc_next with nothing", test_zc_next_null },
		{ "Machnet-API program without machnetd", test_api_subset_without_machnetd },
	};

	g_api_subset = argc > 1 ? argv[1] : NULL;
	return mn_cu_run("lib", tests, sizeof(tests) / sizeof(tests[0]));
}
