/* Config fuzz test: mutated copies of the shipped conf/ files (byte flips,
 * truncation, huge numbers, huge strings, deep nesting, bad UTF-8,
 * duplicated keys, @include, stray tokens, control bytes, long lines) go
 * through mn_config_load() in-process, and every FUZZ_EXEC_EVERYth one also
 * through `machnetd --check` (which loads the file before EAL: no hugepages,
 * no root). Each must finish within FUZZ_LIMIT_NS and either load or fail
 * with "FILE:LINE: message" ("FILE: message" when it concerns the whole file),
 * and machnetd must exit 0 or 1, never crash. Under the ASan build this also
 * checks the parser's memory use.
 *
 * Seeded and reproducible: case i of seed S is the same file on every run
 * (MN_FUZZ_SEED, default 1; MN_FUZZ_CASES, default 1200; MN_FUZZ_FIRST=i with
 * MN_FUZZ_CASES=i+1 reruns case i alone; MN_FUZZ_KEEP=1 keeps its file). A
 * failing case is
 * kept as $TMPDIR/mn_fuzz_<seed>_<i>.conf and named in the output.
 *
 * Usage: fuzz_config CONF_DIR [MACHNETD]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mn_config.h"
#include "mn_cunit.h"

#define FUZZ_LIMIT_NS	1000000000ll	/* per case, as the issue asks */
#define FUZZ_EXEC_WALL_NS	20000000000ll	/* a hang, not a slow start */
#define FUZZ_EXEC_EVERY	15		/* coprime with the mutation count: every kind is exec'd */
#define FUZZ_MAX_BASES	16
#define BIG_STRING	(16u << 20)

static const char *conf_dir;
static const char *machnetd;
static uint64_t seed = 1;
static unsigned n_cases = 1200;
static unsigned first_case;	/* MN_FUZZ_FIRST: rerun cases first..n_cases-1 only */
static char tmp_dir[256];

struct text {
	char *p;
	size_t len, cap;
};

static struct text bases[FUZZ_MAX_BASES];
static unsigned n_bases;

/* --- a reproducible generator (splitmix64) ---------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* --- editing a text --------------------------------------------------------- */

static void reserve(struct text *t, size_t extra)
{
	if (t->len + extra + 1 <= t->cap)
		return;
	t->cap = (t->len + extra + 1) * 2;
	t->p = realloc(t->p, t->cap);
	if (!t->p) {
		perror("realloc");
		exit(2);
	}
}

static void insert(struct text *t, size_t at, const char *s, size_t n)
{
	if (at > t->len)
		at = t->len;
	reserve(t, n);
	memmove(t->p + at + n, t->p + at, t->len - at);
	memcpy(t->p + at, s, n);
	t->len += n;
}

static void insert_str(struct text *t, size_t at, const char *s)
{
	insert(t, at, s, strlen(s));
}

static void erase(struct text *t, size_t at, size_t n)
{
	if (at >= t->len)
		return;
	if (n > t->len - at)
		n = t->len - at;
	memmove(t->p + at, t->p + at + n, t->len - at - n);
	t->len -= n;
}

/* Start of a random line. */
static size_t line_start(const struct text *t)
{
	size_t at = below(t->len + 1);

	while (at > 0 && t->p[at - 1] != '\n')
		at--;
	return at;
}

/* Position just after a random '=' (a value), or a random one. */
static size_t value_pos(const struct text *t)
{
	size_t at = below(t->len);

	for (size_t i = 0; i < t->len; i++) {
		size_t j = (at + i) % t->len;

		if (t->p[j] == '=')
			return j + 1;
	}
	return at;
}

static void fill(struct text *t, size_t at, char ch, size_t n)
{
	char *buf = malloc(n);

	if (!buf)
		exit(2);
	memset(buf, ch, n);
	insert(t, at, buf, n);
	free(buf);
}

/* --- the mutations ------------------------------------------------------------ */

static void m_flip(struct text *t)
{
	for (size_t n = 1 + below(8); n > 0 && t->len; n--)
		t->p[below(t->len)] ^= (char)(1u << below(8));
}

static void m_truncate(struct text *t)
{
	t->len = below(t->len + 1);
}

static void m_huge_number(struct text *t)
{
	static const char *const nums[] = {
		"99999999999999999999999999", "4294968320", "-9223372036854775809", "0xFFFFFFFFFFFFFFFFFL",
		"2147483648", "9223372036854775807L", "-1", "0x7fffffff", "0x80000000", "-2147483649",
		"18446744073709551616L", "1e999999", "0.0000001", "99999999999999999999L", "+0x10",
	};
	size_t at = value_pos(t);

	/* replace the value's first digit run, if any, else insert */
	while (at < t->len && t->p[at] == ' ')
		at++;
	{
		size_t end = at;

		while (end < t->len && (t->p[end] >= '0' && t->p[end] <= '9'))
			end++;
		erase(t, at, end - at);
	}
	insert_str(t, at, nums[below(sizeof(nums) / sizeof(nums[0]))]);
}

static void m_long_string(struct text *t, unsigned i)
{
	/* every 64th one is the 16 MiB string of the issue; the rest are cheaper */
	size_t n = i % 64 == 3 ? BIG_STRING : 200 + below(i % 2 ? 5000 : 300000);
	size_t at = line_start(t);
	char head[64];

	snprintf(head, sizeof(head), "%s = \"", below(2) ? "instance" : "x");
	insert_str(t, at, "\";\n");
	fill(t, at, below(2) ? 'a' : '\n', n);
	insert_str(t, at, head);
}

static void m_deep(struct text *t)
{
	static const char *const open_close[][2] = { { "(", ")" }, { "[", "]" }, { "{ a = ", "; }" } };
	size_t d = 1 + below(below(2) ? 30 : 20000);
	unsigned k = (unsigned)below(3);
	size_t at = line_start(t);

	insert_str(t, at, ";\n");
	for (size_t i = 0; i < d; i++)
		insert_str(t, at, open_close[k][1]);
	insert_str(t, at, "1");
	for (size_t i = 0; i < d; i++)
		insert_str(t, at, open_close[k][0]);
	insert_str(t, at, "deep = ");
}

static void m_bad_utf8(struct text *t)
{
	static const char *const seqs[] = { "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
					    "\x80", "\xfe\xfe", "h\xc3\xa9llo" };
	size_t at = below(2) ? value_pos(t) : below(t->len + 1);

	/* inside a string value when there is one after the '=' */
	while (at < t->len && t->p[at] != '"' && t->p[at] != '\n')
		at++;
	if (at < t->len && t->p[at] == '"')
		at++;
	insert_str(t, at, seqs[below(sizeof(seqs) / sizeof(seqs[0]))]);
}

static void m_dup_line(struct text *t)
{
	size_t a = line_start(t), b = a;

	while (b < t->len && t->p[b] != '\n')
		b++;
	if (b < t->len)
		b++;
	{
		size_t n = b - a;
		char *copy = malloc(n + 1);

		if (!copy)
			exit(2);
		memcpy(copy, t->p + a, n);
		insert(t, b, copy, n);
		if (n == 0 || copy[n - 1] != '\n')
			insert_str(t, b, "\n");
		free(copy);
	}
}

static void m_include(struct text *t, const char *self)
{
	const char *const targets[] = { "/tmp", "/nonexistent/x.conf", "/dev/zero", self, "mn-b.conf", "" };
	char line[512];

	snprintf(line, sizeof(line), "%s@include \"%s\"\n", below(2) ? "" : "  \t",
		 targets[below(sizeof(targets) / sizeof(targets[0]))]);
	insert_str(t, line_start(t), line);
}

static void m_tokens(struct text *t)
{
	static const char *const toks[] = { "{", "}", "(", ")", "[", "]", ";", "=", ":", ",", "\"", "/*", "*/",
					    "#", "//", "L", "0x", "1e5", "true", "@", "\\", "\\x41", "-", ".",
					    "*", "x", "\"\\\"", "LL", "0", "\n" };

	for (size_t n = 1 + below(6); n > 0; n--)
		insert_str(t, below(t->len + 1), toks[below(sizeof(toks) / sizeof(toks[0]))]);
}

static void m_control(struct text *t)
{
	static const char ctl[] = { 0, 1, 7, 8, 0x1b, 0x7f, '\v', '\r', '\f', '\t' };

	insert(t, below(t->len + 1), &ctl[below(sizeof(ctl))], 1);
}

static void m_long_line(struct text *t)
{
	size_t at = line_start(t);

	fill(t, at, below(2) ? 'k' : '9', 4000 + below(200));
	if (below(2))
		insert_str(t, at, "# ");
}

enum { N_KINDS = 11 };
static const char *const kind_names[N_KINDS] = {
	"byte flips", "truncation", "huge number", "long string", "deep nesting", "bad UTF-8",
	"duplicated line", "@include", "stray tokens", "control byte", "long line",
};

static void mutate(struct text *t, unsigned kind, unsigned i, const char *self)
{
	switch (kind) {
	case 0: m_flip(t); break;
	case 1: m_truncate(t); break;
	case 2: m_huge_number(t); break;
	case 3: m_long_string(t, i); break;
	case 4: m_deep(t); break;
	case 5: m_bad_utf8(t); break;
	case 6: m_dup_line(t); break;
	case 7: m_include(t, self); break;
	case 8: m_tokens(t); break;
	case 9: m_control(t); break;
	default: m_long_line(t); break;
	}
}

/* Case i: a base file, its main mutation (i % N_KINDS) and sometimes more. */
static unsigned make_case(unsigned i, const char *path, struct text *t)
{
	unsigned kind = i % N_KINDS;

	rng_state = seed * 0x100000001b3ull + i;
	{
		const struct text *b = &bases[below(n_bases)];

		t->len = 0;
		reserve(t, b->len);
		memcpy(t->p, b->p, b->len);
		t->len = b->len;
	}
	mutate(t, kind, i, path);
	if (below(4) == 0)
		mutate(t, (unsigned)below(N_KINDS), i, path);
	if (below(4) == 0)
		mutate(t, (unsigned)below(3) + 6, i, path);	/* a cheap second one */
	return kind;
}

static int write_file(const char *path, const struct text *t)
{
	FILE *f = fopen(path, "w");
	int r = 0;

	if (!f)
		return -errno;
	if (t->len && fwrite(t->p, 1, t->len, f) != t->len)
		r = -EIO;
	if (fclose(f) != 0)
		r = -EIO;
	return r;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* "PATH:LINE: msg" or "PATH: msg" with a non-empty msg. */
static int located(const char *msg, const char *path)
{
	size_t n = strlen(path);
	const char *p = msg + n;

	if (strncmp(msg, path, n) != 0 || *p != ':')
		return 0;
	p++;
	if (*p >= '0' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p++ != ':')
			return 0;
	}
	return *p == ' ' && p[1] != '\0' && p[1] != '\n';
}

static void keep_failure(unsigned i, const struct text *t, const char *why, const char *detail)
{
	char keep[512];

	snprintf(keep, sizeof(keep), "%s/mn_fuzz_%llu_%u.conf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		 (unsigned long long)seed, i);
	write_file(keep, t);
	fprintf(stderr, "\n  case %u (seed %llu, %s): %s: %s\n  kept as %s\n", i, (unsigned long long)seed,
		kind_names[i % N_KINDS], why, detail, keep);
}

static void load_bases(void)
{
	DIR *d = opendir(conf_dir);
	struct dirent *e;

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((e = readdir(d)) && n_bases < FUZZ_MAX_BASES) {
		size_t n = strlen(e->d_name);
		char p[1024];
		FILE *f;
		struct text *t = &bases[n_bases];

		if (n < 5 || strcmp(e->d_name + n - 5, ".conf") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", conf_dir, e->d_name);
		f = fopen(p, "r");
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		reserve(t, 65536);
		t->len = fread(t->p, 1, 65535, f);
		fclose(f);
		n_bases++;
	}
	closedir(d);
	CU_ASSERT_FATAL(n_bases >= 4);
}

static void test_in_process(void)
{
	struct text t = { 0 };
	char path[512], err[MN_CFG_ERR_LEN];
	unsigned ok = 0, rejected = 0, bad = 0, per_kind_ok[N_KINDS] = { 0 };
	int64_t worst = 0;

	snprintf(path, sizeof(path), "%s/case.conf", tmp_dir);
	for (unsigned i = first_case; i < n_cases; i++) {
		struct mn_config *cfg = malloc(sizeof(*cfg));
		unsigned kind = make_case(i, path, &t);
		int64_t t0, dt;
		int r;

		CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
		CU_ASSERT_EQUAL_FATAL(write_file(path, &t), 0);
		t0 = now_ns();
		r = mn_config_load(path, cfg, err, sizeof(err));
		dt = now_ns() - t0;
		free(cfg);
		if (dt > worst)
			worst = dt;
		if (dt > FUZZ_LIMIT_NS) {
			char d[64];

			snprintf(d, sizeof(d), "%.3f s", (double)dt / 1e9);
			keep_failure(i, &t, "too slow", d);
			bad++;
		} else if (r == 0) {
			ok++;
			per_kind_ok[kind]++;
		} else if (r == -EINVAL && located(err, path)) {
			rejected++;
		} else {
			char d[MN_CFG_ERR_LEN + 32];

			snprintf(d, sizeof(d), "r=%d \"%s\"", r, err);
			keep_failure(i, &t, "not a FILE:LINE error", d);
			bad++;
		}
	}
	free(t.p);
	fprintf(stderr, "(%u cases: %u load, %u rejected, %u bad; slowest %.1f ms) ", n_cases, ok, rejected,
		bad, (double)worst / 1e6);
	CU_ASSERT_EQUAL(bad, 0);
	if (first_case == 0) {
		CU_ASSERT(n_cases >= 1000);
		/* the mutations must not all be fatal: some flips hit comments */
		CU_ASSERT(ok > 0);
		CU_ASSERT(rejected > n_cases / 2);
	}
}

/* Runs machnetd --check path with output into out_path; returns the wait
 * status, or -1 when it ran past FUZZ_EXEC_WALL_NS (then it is killed), and
 * its CPU time in *cpu_ns. The 1 s bound applies to CPU time: a process
 * start on this shared 2-CPU machine (and ASan's) can wait for a CPU longer
 * than the parse takes; the in-process pass bounds the wall-clock time. */
static int run_check(const char *path, const char *out_path, int64_t *cpu_ns)
{
	sigset_t chld, old;
	struct timespec limit;
	struct rusage ru;
	int64_t t0 = now_ns();
	pid_t pid;
	int status = -1;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &old);
	pid = fork();
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		sigprocmask(SIG_SETMASK, &old, NULL);
		execl(machnetd, machnetd, "--check", path, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		return -2;
	}
	/* the child's exit is the condition; the limit only bounds the wait */
	memset(&ru, 0, sizeof(ru));
	for (;;) {
		int64_t left = FUZZ_EXEC_WALL_NS - (now_ns() - t0);

		if (wait4(pid, &status, WNOHANG, &ru) == pid)
			break;
		if (left <= 0) {
			kill(pid, SIGKILL);
			wait4(pid, &status, 0, &ru);
			status = -1;
			break;
		}
		limit.tv_sec = left / 1000000000ll;
		limit.tv_nsec = left % 1000000000ll;
		sigtimedwait(&chld, NULL, &limit);
	}
	*cpu_ns = ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ll +
		  ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return status;
}

static void test_machnetd_check(void)
{
	struct text t = { 0 };
	char path[512], out_path[512], out[1024];
	unsigned runs = 0, bad = 0;

	if (!machnetd) {
		fprintf(stderr, "(no machnetd given: skipped) ");
		return;
	}
	snprintf(path, sizeof(path), "%s/exec.conf", tmp_dir);
	snprintf(out_path, sizeof(out_path), "%s/exec.out", tmp_dir);
	for (unsigned i = (first_case + FUZZ_EXEC_EVERY - 1) / FUZZ_EXEC_EVERY * FUZZ_EXEC_EVERY; i < n_cases;
	     i += FUZZ_EXEC_EVERY) {
		int64_t dt = 0;
		int status;
		size_t n;
		FILE *f;

		make_case(i, path, &t);
		CU_ASSERT_EQUAL_FATAL(write_file(path, &t), 0);
		status = run_check(path, out_path, &dt);
		/* A slow parse is slow every time; a process start that lost
		 * its CPU to the other jobs of this 2-CPU machine is not. */
		if (status == -1 || dt > FUZZ_LIMIT_NS) {
			fprintf(stderr, "(case %u: %.3f s CPU, once more) ", i, (double)dt / 1e9);
			status = run_check(path, out_path, &dt);
		}
		runs++;
		f = fopen(out_path, "r");
		n = f ? fread(out, 1, sizeof(out) - 1, f) : 0;
		if (f)
			fclose(f);
		out[n] = '\0';
		if (status == -1 || dt > FUZZ_LIMIT_NS) {
			char d[64];

			snprintf(d, sizeof(d), "%.3f s CPU%s", (double)dt / 1e9, status == -1 ? ", killed" : "");
			keep_failure(i, &t, "machnetd --check ran over 1 s", d);
			bad++;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) > 1) {
			char d[1100];

			snprintf(d, sizeof(d), "wait status 0x%x, output \"%s\"", (unsigned)status, out);
			keep_failure(i, &t, "machnetd --check crashed or exited > 1", d);
			bad++;
		} else if (WEXITSTATUS(status) == 0 ? strstr(out, ": OK") == NULL : !located(out, path)) {
			char d[1100];

			snprintf(d, sizeof(d), "exit %d, output \"%s\"", WEXITSTATUS(status), out);
			keep_failure(i, &t, "machnetd --check printed no FILE:LINE error / OK", d);
			bad++;
		}
	}
	free(t.p);
	fprintf(stderr, "(%u machnetd --check runs, %u bad) ", runs, bad);
	CU_ASSERT_EQUAL(bad, 0);
	if (first_case == 0)
		CU_ASSERT(runs >= n_cases / FUZZ_EXEC_EVERY);
}

/* The same seed gives the same files. */
static void test_reproducible(void)
{
	struct text a = { 0 }, b = { 0 };

	for (unsigned i = 0; i < 40; i++) {
		make_case(i, "x.conf", &a);
		make_case(i, "x.conf", &b);
		CU_ASSERT_EQUAL(a.len, b.len);
		CU_ASSERT(a.len == b.len && memcmp(a.p, b.p, a.len) == 0);
	}
	free(a.p);
	free(b.p);
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "read the conf/ files", load_bases },	/* first: the others mutate them */
		{ "same seed, same cases", test_reproducible },
		{ "mutated conf/ files through mn_config_load", test_in_process },
		{ "mutated conf/ files through machnetd --check", test_machnetd_check },
	};
	const char *s;
	int r;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s CONF_DIR [MACHNETD]\n", argv[0]);
		return 2;
	}
	conf_dir = argv[1];
	machnetd = argc == 3 ? argv[2] : NULL;
	if ((s = getenv("MN_FUZZ_SEED")))
		seed = strtoull(s, NULL, 0);
	if ((s = getenv("MN_FUZZ_CASES")))
		n_cases = (unsigned)strtoul(s, NULL, 0);
	if ((s = getenv("MN_FUZZ_FIRST")))
		first_case = (unsigned)strtoul(s, NULL, 0);
	snprintf(tmp_dir, sizeof(tmp_dir), "%s/mn_fuzz_config_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp_dir)) {
		perror("mkdtemp");
		return 2;
	}
	fprintf(stderr, "fuzz_config: seed %llu, %u cases\n", (unsigned long long)seed, n_cases);
	r = mn_cu_run("config-fuzz", tests, sizeof(tests) / sizeof(tests[0]));
	if (getenv("MN_FUZZ_KEEP")) {	/* the last case's files stay, for a rerun by hand */
		fprintf(stderr, "kept %s\n", tmp_dir);
	} else {
		char p[600];

		snprintf(p, sizeof(p), "%s/case.conf", tmp_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/exec.conf", tmp_dir);
		unlink(p);
		snprintf(p, sizeof(p), "%s/exec.out", tmp_dir);
		unlink(p);
		rmdir(tmp_dir);
	}
	for (unsigned i = 0; i < n_bases; i++)
		free(bases[i].p);
	return r;
}
