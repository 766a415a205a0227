/* mn_instance: the instance lock. See mn_instance.h. */
#include "mn_instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mn_abi.h"
#include "mn_log.h"

/* Holds MN_RUN_DIR/<instance>.lock for the life of the process. Before EAL,
 * because EAL's own refusal (its prefix lock) comes only after it has
 * touched hugepages, and says less. */
int mn_instance_lock(const char *instance)
{
	char path[512], buf[32];
	struct stat st;
	ssize_t n;
	int fd;

	if (mkdir(MN_RUN_DIR, 0700) != 0 && errno != EEXIST) {
		mn_log("cannot create %s: %s", MN_RUN_DIR, strerror(errno));
		return -1;
	}
	/* A directory left by an older run or made by someone else may be
	 * open to other users: lock files, memif sockets and app lcore locks
	 * live there (docs/SECURITY.md). */
	if (stat(MN_RUN_DIR, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) != 0 &&
	    chmod(MN_RUN_DIR, 0700) != 0)
		mn_log("cannot make %s private: %s", MN_RUN_DIR, strerror(errno));
	snprintf(path, sizeof(path), MN_RUN_DIR "/%s.lock", instance);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		mn_log("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (err == EWOULDBLOCK)
			mn_log("instance '%s' is already running (pid %s, holds %s); stop it or "
			    "use another instance name", instance, buf[0] ? buf : "?", path);
		else
			mn_log("flock %s: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		mn_log("warning: cannot write pid to %s", path);
	return fd;
}


void mn_instance_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}
