/* mn_toolutil: the small helpers the test tools share (clock and argument
 * parsing), so that each tool's file is about what it does. */
#ifndef MN_TOOLUTIL_H
#define MN_TOOLUTIL_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t mn_tool_mono_ns(void);

/* An unsigned integer (decimal, 0x hex or 0 octal) no larger than max:
 * 0, or -1 when s is empty, not a number, or out of range. */
int mn_tool_parse_ul(const char *s, unsigned long max, unsigned long *out);

/* "aa:bb:cc:dd:ee:ff": 0, or -1 when s is anything else. */
int mn_tool_parse_mac(const char *s, uint8_t mac[6]);

#endif
