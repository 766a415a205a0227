/* mn_log: machnetd's control-path log lines, "machnetd[<instance>]: ...",
 * on stderr (the tests and the operator read them). Never from an engine's
 * data path: engines count, they do not log.
 */
#ifndef MN_LOG_H
#define MN_LOG_H

/* Names the instance in every later line (the pointer is kept). */
void mn_log_set_instance(const char *instance);

/* One line: the prefix, the formatted text, a newline. */
void mn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
