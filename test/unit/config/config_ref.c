/* config_ref: the key tables of docs/CONFIG.md are generated from the rows
 * the parser uses (mn_config_reference_md). Between
 *
 *   <!-- BEGIN keys GROUP ... -->
 *   <!-- END keys -->
 *
 * (GROUP "top" for the top level) the doc must hold exactly what the rows
 * give, and every group must have its block once.
 *
 *   config_ref check DOC   the unit test (config-doc): fails on a difference
 *   config_ref write DOC   rewrites the blocks in place after a table change
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mn_config.h"
#include "mn_cunit.h"

#define BEGIN_MARK "<!-- BEGIN keys "
#define END_MARK "<!-- END keys -->"

static const char *doc_path;

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	if (!f)
		return NULL;
	for (;;) {
		size_t n;

		if (*len + 4096 + 1 > cap) {
			cap = (*len + 4096 + 1) * 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		n = fread(buf + *len, 1, cap - *len - 1, f);
		if (n == 0)
			break;
		*len += n;
	}
	fclose(f);
	if (buf)
		buf[*len] = '\0';
	return buf;
}

/* The generated table of a group ("top" = ""), malloc'd. */
static char *generate(const char *group)
{
	char *out = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&out, &n);

	if (!m)
		return NULL;
	if (mn_config_reference_md(strcmp(group, "top") == 0 ? "" : group, m) != 0) {
		fclose(m);
		free(out);
		return NULL;
	}
	fclose(m);
	return out;
}

/* Rewrites doc into out (when not NULL) with every block regenerated; counts
 * blocks per group and those that differ. Returns -1 on a malformed doc. */
static int process(const char *doc, FILE *out, unsigned *blocks, unsigned *differ, unsigned n_groups)
{
	const char *p = doc;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p + 1) : strlen(p);

		if (out)
			fwrite(p, 1, ll, out);
		if (strncmp(p, BEGIN_MARK, strlen(BEGIN_MARK)) == 0) {
			const char *g = p + strlen(BEGIN_MARK), *ge = g, *end;
			char group[64], *gen;
			unsigned gi;

			while (*ge && *ge != ' ' && *ge != '\n')
				ge++;
			if ((size_t)(ge - g) >= sizeof(group))
				return -1;
			memcpy(group, g, (size_t)(ge - g));
			group[ge - g] = '\0';
			end = strstr(p + ll, END_MARK);
			if (!end)
				return -1;
			gen = generate(group);
			if (!gen) {
				fprintf(stderr, "\n  %s: no group '%s'\n", doc_path, group);
				return -1;
			}
			for (gi = 0; gi < n_groups; gi++) {
				const char *name = mn_config_group_name(gi);

				if (strcmp(name[0] ? name : "top", group) == 0)
					blocks[gi]++;
			}
			if (strlen(gen) != (size_t)(end - (p + ll)) || memcmp(gen, p + ll, strlen(gen)) != 0) {
				fprintf(stderr, "\n  %s: the keys of '%s' differ from primary/mn_config_table.c\n",
					doc_path, group);
				(*differ)++;
			}
			if (out)
				fputs(gen, out);
			free(gen);
			p = end;
			continue;
		}
		p += ll;
	}
	return 0;
}

static unsigned count_groups(void)
{
	unsigned n = 0;

	while (mn_config_group_name(n))
		n++;
	return n;
}

static void test_doc_matches_tables(void)
{
	size_t len;
	char *doc = read_all(doc_path, &len);
	unsigned n = count_groups(), blocks[32] = { 0 }, differ = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
	CU_ASSERT_FATAL(n >= 10 && n <= 32);
	CU_ASSERT_EQUAL(process(doc, NULL, blocks, &differ, n), 0);
	CU_ASSERT_EQUAL(differ, 0);
	for (unsigned i = 0; i < n; i++) {
		if (blocks[i] != 1)
			fprintf(stderr, "\n  %s: %u blocks for group '%s' (want 1)\n", doc_path, blocks[i],
				mn_config_group_name(i));
		CU_ASSERT_EQUAL(blocks[i], 1);
	}
	if (differ)
		fprintf(stderr, "  regenerate: config_ref write docs/CONFIG.md\n");
	free(doc);
}

/* The generator itself: known rows appear, an unknown group is refused. */
static void test_generator(void)
{
	char *t = generate("memory"), *f = generate("fault.rx");
	FILE *null = fopen("/dev/null", "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(t, "| `mbufs` | integer | `65535` | 1024..16777216 | "));
	CU_ASSERT_PTR_NOT_NULL(strstr(f, "| `queue` | integer | `4096` | 16..1048576 | "));
	CU_ASSERT_EQUAL(mn_config_reference_md("no-such-group", null), -ENOENT);
	fclose(null);
	free(t);
	free(f);
}

static int write_doc(void)
{
	size_t len;
	char *doc = read_all(doc_path, &len), *out = NULL;
	size_t n = 0;
	unsigned blocks[32] = { 0 }, differ = 0;
	FILE *m, *f;
	int r;

	if (!doc)
		return 2;
	m = open_memstream(&out, &n);
	r = process(doc, m, blocks, &differ, count_groups());
	fclose(m);
	if (r == 0 && (f = fopen(doc_path, "w"))) {
		fwrite(out, 1, n, f);
		r = fclose(f) ? -1 : 0;
	}
	fprintf(stderr, "%s: %u block(s) regenerated\n", doc_path, differ);
	free(doc);
	free(out);
	return r ? 2 : 0;
}

int main(int argc, char **argv)
{
	static const struct mn_cu_test tests[] = {
		{ "generator rows", test_generator },
		{ "docs/CONFIG.md key tables match the parser's rows", test_doc_matches_tables },
	};

	if (argc != 3 || (strcmp(argv[1], "check") != 0 && strcmp(argv[1], "write") != 0)) {
		fprintf(stderr, "usage: %s check|write DOC\n", argv[0]);
		return 2;
	}
	doc_path = argv[2];
	if (strcmp(argv[1], "write") == 0)
		return write_doc();
	return mn_cu_run("config-doc", tests, sizeof(tests) / sizeof(tests[0]));
}
