/* mn_config_scan.c: reads a config file and bounds its raw bytes before
 * libconfig parses them (the why is below). */
#include "mn_config_priv.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- pre-scan: bounds on the raw bytes, before libconfig sees them ---------
 *
 * libconfig's flex scanner rescans a token from its start each time its
 * buffer refills (every 8 KiB), so a long token costs the square of its
 * length (a 16 MiB string: over a minute), and libconfig 1.5 reads integers
 * without an L suffix as 32 bits (2^32 + 1024 silently became 1024), and
 * exits the process from inside flex on an @include it cannot read. The scan
 * below is linear and rejects all of that with FILE:LINE first. It follows
 * libconfig's lexical rules (strings, comments, names, numbers); where it
 * could disagree, the limits still hold because the file size bounds them.
 */
#define SCAN_MAX_FILE	(256 * 1024)	/* shipped configs are ~2 KiB */
#define SCAN_MAX_LINE	4096
#define SCAN_MAX_STRLIT	1024		/* raw bytes of one "..." (escapes count 2-4) */
#define SCAN_MAX_DEPTH	16		/* nested groups, lists, arrays */
#define SCAN_MAX_ITEMS	2048		/* settings and list elements: libconfig finds a
					 * duplicate key by a linear search per key */

struct scan_frame {
	bool list;		/* ( ) or [ ]: index counts elements; { }: key is the last name */
	const char *key;
	size_t klen;
	unsigned index;
};

struct scan {
	struct ctx *c;
	int line;
	int depth;
	struct scan_frame fr[SCAN_MAX_DEPTH + 1];
};

/* "interfaces[0].mtu" for the value being scanned. */
static void scan_path(const struct scan *s, char *buf, size_t len, bool with_index)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k <= s->depth && off < len; k++) {
		const struct scan_frame *f = &s->fr[k];
		int r = 0;

		if (f->list && with_index)
			r = snprintf(buf + off, len - off, "[%u]", f->index);
		else if (!f->list && f->key)
			r = snprintf(buf + off, len - off, "%s%.*s", off ? "." : "", (int)f->klen, f->key);
		off += r > 0 ? (size_t)r : 0;
	}
}

/* The row for "group.key" (indexes stripped), or NULL. */
static const struct key *find_key(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t glen = dot ? (size_t)(dot - path) : 0;
	const char *name = dot ? dot + 1 : path;

	for (int i = 0; i < G_COUNT; i++) {
		if (strlen(mn_cfg_groups[i].name) != glen || strncmp(mn_cfg_groups[i].name, path, glen) != 0)
			continue;
		for (size_t k = 0; k < mn_cfg_groups[i].n; k++)
			if (strcmp(mn_cfg_groups[i].keys[k].name, name) == 0)
				return &mn_cfg_groups[i].keys[k];
	}
	return NULL;
}

/* An integer literal at t (libconfig's forms: [-+]?[0-9]+, 0x[0-9A-Fa-f]+,
 * either with L or LL). Returns its length, 0 if it is not one (a float). */
static int scan_number(struct scan *s, const char *t, const char *end, size_t *len)
{
	const char *p = t;
	bool neg = false, hex = false, wide = false, over = false;
	uint64_t mag = 0, lim;
	char path[128], plain[128];
	const struct key *k;
	int n;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (p == t && end - p > 2 && p[0] == '0' && (p[1] | 0x20) == 'x' && isxdigit((unsigned char)p[2])) {
		hex = true;
		for (p += 2; p < end && isxdigit((unsigned char)*p); p++) {
			over |= mag >> 60 != 0;
			mag = mag << 4 | (uint64_t)mn_cfg_hexval(*p);
		}
	} else {
		for (; p < end && isdigit((unsigned char)*p); p++) {
			unsigned d = (unsigned)(*p - '0');

			over |= mag > (UINT64_MAX - d) / 10;
			mag = mag * 10 + d;
		}
		if (p < end && (*p == '.' || ((*p | 0x20) == 'e' && p + 1 < end &&
					      (isdigit((unsigned char)p[1]) || p[1] == '-' || p[1] == '+'))))
			return 0;
	}
	if (p < end && *p == 'L') {
		wide = true;
		if (++p < end && *p == 'L')
			p++;
	}
	*len = (size_t)(p - t);
	/* what libconfig 1.5 reads correctly: 32-bit without L, 64-bit with */
	lim = wide ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
	if (!over && (mag <= lim || (neg && !hex && mag == lim + 1)))
		return 0;
	n = (int)*len;
	scan_path(s, path, sizeof(path), true);
	scan_path(s, plain, sizeof(plain), false);
	k = find_key(plain);
	if (!path[0])
		snprintf(path, sizeof(path), "value");
	if (k && k->lo < k->hi && !over && !neg && !wide && mag <= (uint64_t)INT64_MAX &&
	    (int64_t)mag >= k->lo && (int64_t)mag <= k->hi)
		return mn_cfg_fail_line(s->c, s->line, "'%s' = %.*s needs an L suffix (%.*sL): an integer without one is "
				 "32-bit", path, n, t, n, t);
	if (k && k->lo < k->hi)
		return mn_cfg_fail_line(s->c, s->line, "'%s' must be in %" PRId64 "..%" PRId64 " (got %.*s)",
				 path, k->lo, k->hi, n, t);
	return mn_cfg_fail_line(s->c, s->line, "'%s' = %.*s does not fit in an integer (-2147483648..2147483647, "
			 "or 64-bit with an L suffix)", path, n, t);
}

/* Length of the valid UTF-8 sequence at p, 0 if invalid. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

static bool name_start(int ch)
{
	return isalpha(ch) || ch == '*';
}

static bool name_char(int ch)
{
	return isalnum(ch) || ch == '-' || ch == '_' || ch == '*';
}

int mn_cfg_scan(struct ctx *c, const char *buf, size_t len)
{
	enum { S_CODE, S_STRING, S_COMMENT, S_LINE_COMMENT } st = S_CODE;
	const char *p = buf, *end = buf + len, *line_start = buf;
	struct scan s = { .c = c, .line = 1 };
	int str_line = 0, items = 0;
	size_t str_len = 0;

	while (p < end) {
		unsigned char ch = (unsigned char)*p;
		size_t n;

		if (ch == '\n') {
			s.line++;
			line_start = p + 1;
			if (st == S_LINE_COMMENT)
				st = S_CODE;
			if (st == S_STRING && ++str_len > SCAN_MAX_STRLIT)
				goto long_string;
			p++;
			continue;
		}
		if ((size_t)(p - line_start) >= SCAN_MAX_LINE)
			return mn_cfg_fail_line(c, s.line, "line is longer than %d bytes", SCAN_MAX_LINE);
		if ((ch < 0x20 && ch != '\t' && ch != '\r' && ch != '\f') || ch == 0x7f)
			return mn_cfg_fail_line(c, s.line, "control character 0x%02x (a config file is text)", ch);
		if (!(n = utf8_len((const unsigned char *)p, (const unsigned char *)end)))
			return mn_cfg_fail_line(c, s.line, "invalid UTF-8 (byte 0x%02x)", ch);
		if (ch == '@') {
			const char *q = line_start;

			while (*q == ' ' || *q == '\t')
				q++;
			/* Refused in any state: libconfig's rule for it must never fire. */
			if (q == p && (size_t)(end - p) >= 8 && memcmp(p, "@include", 8) == 0)
				return mn_cfg_fail_line(c, s.line, "@include is not supported: write every setting in "
						 "this one file (docs/CONFIG.md)");
		}
		switch (st) {
		case S_STRING:
			if (ch == '"') {
				st = S_CODE;
				p++;
				continue;
			}
			/* \" and \\ are escapes; a lone backslash is itself */
			if (ch == '\\' && p + 1 < end && (p[1] == '"' || p[1] == '\\'))
				n = 2;
			str_len += n;
			if (str_len > SCAN_MAX_STRLIT)
				goto long_string;
			p += n;
			continue;
		case S_COMMENT:
			if (ch == '*' && p + 1 < end && p[1] == '/') {
				st = S_CODE;
				n = 2;
			}
			p += n;
			continue;
		case S_LINE_COMMENT:
			p += n;
			continue;
		case S_CODE:
			break;
		}
		if (ch == '"') {
			st = S_STRING;
			str_line = s.line;
			str_len = 0;
		} else if (ch == '#' || (ch == '/' && p + 1 < end && p[1] == '/')) {
			st = S_LINE_COMMENT;
		} else if (ch == '/' && p + 1 < end && p[1] == '*') {
			st = S_COMMENT;
			n = 2;
		} else if (ch == '{' || ch == '(' || ch == '[') {
			if (s.depth == SCAN_MAX_DEPTH)
				return mn_cfg_fail_line(c, s.line, "nested deeper than %d levels", SCAN_MAX_DEPTH);
			s.fr[++s.depth] = (struct scan_frame){ .list = ch != '{' };
		} else if (ch == '}' || ch == ')' || ch == ']') {
			if (s.depth > 0)
				s.depth--;
		} else if (ch == '=' || ch == ':' || ch == ',') {
			if (ch == ',' && s.fr[s.depth].list)
				s.fr[s.depth].index++;
			if (++items > SCAN_MAX_ITEMS)
				return mn_cfg_fail_line(c, s.line, "more than %d settings and list elements", SCAN_MAX_ITEMS);
		} else if (name_start(ch)) {
			const char *t = p;

			while (p < end && name_char((unsigned char)*p))
				p++;
			if (!s.fr[s.depth].list) {
				s.fr[s.depth].key = t;
				s.fr[s.depth].klen = (size_t)(p - t);
			}
			continue;
		} else if (isdigit(ch) || ((ch == '-' || ch == '+') && p + 1 < end && isdigit((unsigned char)p[1]))) {
			size_t tl = 0;
			int r = scan_number(&s, p, end, &tl);

			if (r)
				return r;
			if (tl) {
				p += tl;
				continue;
			}
			/* a float: its digits, point, exponent */
			p++;
			while (p < end && (isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E' ||
					   ((*p == '-' || *p == '+') && (p[-1] | 0x20) == 'e')))
				p++;
			continue;
		}
		p += n;
	}
	return 0;
long_string:
	return mn_cfg_fail_line(c, str_line, "string longer than %d bytes (no value may be longer than %d characters)",
			 SCAN_MAX_STRLIT, MN_CFG_STR_LEN - 1);
}

/* Reads path whole (a regular file of at most SCAN_MAX_FILE bytes) into a
 * NUL-terminated buffer the caller frees. */
int mn_cfg_read_file(struct ctx *c, const char *path, char **out, size_t *outlen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		mn_cfg_fail_line(c, 0, "cannot read: %s", strerror(errno));
		return r;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = mn_cfg_fail_line(c, 0, "not a regular file");
		goto out;
	}
	if (st.st_size > SCAN_MAX_FILE) {
		r = mn_cfg_fail_line(c, 0, "is %lld bytes, more than the %d a config file may have",
			      (long long)st.st_size, SCAN_MAX_FILE);
		goto out;
	}
	buf = malloc(SCAN_MAX_FILE + 2);
	if (!buf) {
		r = -ENOMEM;
		mn_cfg_fail_line(c, 0, "out of memory");
		goto out;
	}
	/* up to one byte over the limit: a file that grew since fstat */
	while (len <= SCAN_MAX_FILE && (n = read(fd, buf + len, SCAN_MAX_FILE + 1 - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			mn_cfg_fail_line(c, 0, "cannot read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > SCAN_MAX_FILE) {
		r = mn_cfg_fail_line(c, 0, "is more than the %d bytes a config file may have", SCAN_MAX_FILE);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

