/* mn_log: machnetd's log lines. See mn_log.h. */
#include "mn_log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *g_instance = "?";

void mn_log_set_instance(const char *instance)
{
	g_instance = instance;
}

void mn_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "machnetd[%s]: ", g_instance);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
