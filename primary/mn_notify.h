/* mn_notify: tells the service manager how machnetd is doing, for systemd
 * units of Type=notify (systemd/machnetd@.service).
 *
 * Promise: mn_notify() sends one state message ("READY=1", "STOPPING=1",
 * "STATUS=...", several joined by '\n') to the socket named by
 * $NOTIFY_SOCKET, as sd_notify(3) does, without linking libsystemd. When
 * the variable is unset (machnetd started by hand or by a test) it does
 * nothing and succeeds, so callers need no "are we a service" test.
 * Not for the data path: it makes one socket and one system call. */
#ifndef MN_NOTIFY_H
#define MN_NOTIFY_H

/* Returns 0 (sent, or no $NOTIFY_SOCKET), -EINVAL (state NULL or empty, or
 * the variable names no usable AF_UNIX address), or the -errno of socket()
 * or sendto(). */
int mn_notify(const char *state);

#endif
