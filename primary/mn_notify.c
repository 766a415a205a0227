/* mn_notify.c: the sd_notify datagram, written by hand (see mn_notify.h).
 *
 * The protocol (systemd's sd_notify(3), "NOTIFY_SOCKET"): one AF_UNIX
 * datagram of newline-separated VAR=VALUE assignments, sent to the path in
 * $NOTIFY_SOCKET, or to the abstract name after its leading '@'. */
#include "mn_notify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int mn_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t plen, slen;
	socklen_t alen;
	ssize_t n;
	int fd, err;

	if (!state || !*state)
		return -EINVAL;
	if (!path || !*path)
		return 0;
	plen = strlen(path);
	/* Only a filesystem path or an abstract name: systemd also offers
	 * vsock addresses ("vsock:CID:PORT") to VMs, which machnetd never is
	 * started under. */
	if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen >= sizeof(sa.sun_path))
		return -EINVAL;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, plen);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract: the name is not NUL-terminated */
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
			   (path[0] == '/' ? 1 : 0));

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	slen = strlen(state);
	n = sendto(fd, state, slen, MSG_NOSIGNAL, (const struct sockaddr *)&sa, alen);
	err = n < 0 ? -errno : ((size_t)n == slen ? 0 : -EMSGSIZE);
	close(fd);
	return err;
}
