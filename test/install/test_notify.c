/* Unit test of primary/mn_notify.c: the datagram systemd reads for
 * Type=notify, received here on sockets of our own (path and abstract). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mn_cunit.h"
#include "mn_notify.h"

/* A bound datagram socket at name (path, or "@name" for abstract). */
static int bind_dgram(const char *name)
{
	struct sockaddr_un sa;
	size_t len = strlen(name);
	socklen_t alen;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, len);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (name[0] == '@' ? 0 : 1));
	if (bind(fd, (struct sockaddr *)&sa, alen) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What arrived on fd, without waiting (the datagram was queued before). */
static ssize_t take(int fd, char *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void test_unset_is_noop(void)
{
	unsetenv("NOTIFY_SOCKET");
	CU_ASSERT_EQUAL(mn_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1"), 0);
}

static void test_bad_arguments(void)
{
	setenv("NOTIFY_SOCKET", "relative/path", 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1"), -EINVAL);
	CU_ASSERT_EQUAL(mn_notify(NULL), -EINVAL);
	CU_ASSERT_EQUAL(mn_notify(""), -EINVAL);
	unsetenv("NOTIFY_SOCKET");
}

static void test_path_socket(void)
{
	char dir[] = "/tmp/mn-notify.XXXXXX", path[64], buf[64];
	int fd;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = bind_dgram(path);
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1\nSTATUS=ready"), 0);
	CU_ASSERT_EQUAL(take(fd, buf, sizeof(buf)), 20);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1\nSTATUS=ready");
	CU_ASSERT_EQUAL(mn_notify("STOPPING=1"), 0);
	take(fd, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "STOPPING=1");
	close(fd);
	unlink(path);
	/* Nobody listens any more: the error comes back, nothing crashes. */
	CU_ASSERT_EQUAL(mn_notify("READY=1"), -ENOENT);
	rmdir(dir);
	unsetenv("NOTIFY_SOCKET");
}

static void test_abstract_socket(void)
{
	char name[64], buf[64];
	int fd;

	snprintf(name, sizeof(name), "@mn-notify-test-%d", (int)getpid());
	fd = bind_dgram(name);
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", name, 1);
	CU_ASSERT_EQUAL(mn_notify("READY=1"), 0);
	CU_ASSERT_EQUAL(take(fd, buf, sizeof(buf)), 7);
	CU_ASSERT_STRING_EQUAL(buf, "READY=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "unset NOTIFY_SOCKET does nothing", test_unset_is_noop },
		{ "bad addresses and states are EINVAL", test_bad_arguments },
		{ "datagram to a path socket", test_path_socket },
		{ "datagram to an abstract socket", test_abstract_socket },
	};

	return mn_cu_run("notify", tests, sizeof(tests) / sizeof(tests[0]));
}
