/* Unit tests of test/common/mn_pcap: byte orders, timestamp resolutions,
 * truncated and foreign files. Files are written to $TMPDIR (or /tmp). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mn_cunit.h"
#include "mn_pcap.h"

static char path[4096];

static void w32(FILE *f, uint32_t v, int be)
{
	uint8_t b[4];

	for (int i = 0; i < 4; i++)
		b[be ? i : 3 - i] = (uint8_t)(v >> (24 - 8 * i));
	fwrite(b, 1, 4, f);
}

static void w16(FILE *f, uint16_t v, int be)
{
	uint8_t b[2] = { be ? (uint8_t)(v >> 8) : (uint8_t)v, be ? (uint8_t)v : (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, f);
}

/* Writes a capture of three packets (lengths 0, 5, 60) and returns the
 * file size. `cut` bytes are dropped from the end. */
static long write_capture(uint32_t magic, int be, long cut)
{
	static const uint32_t lens[] = { 0, 5, 60 };
	FILE *f = fopen(path, "wb");
	long size;

	CU_ASSERT_FATAL(f != NULL);
	w32(f, magic, be);
	w16(f, 2, be);
	w16(f, 4, be);
	w32(f, 0, be);
	w32(f, 0, be);
	w32(f, 262144, be);
	w32(f, 1, be);
	for (uint32_t i = 0; i < 3; i++) {
		w32(f, 1700000000u + i, be);
		w32(f, 250000u * (i + 1), be);
		w32(f, lens[i], be);
		w32(f, lens[i], be);
		for (uint32_t j = 0; j < lens[i]; j++)
			fputc((int)((i * 16 + j) & 0xff), f);
	}
	size = ftell(f);
	fclose(f);
	if (cut)
		CU_ASSERT_FATAL(truncate(path, size - cut) == 0);
	return size;
}

static void check_three(struct mn_pcap_pkt *p, int n, double frac_unit)
{
	static const uint32_t lens[] = { 0, 5, 60 };

	CU_ASSERT_EQUAL_FATAL(n, 3);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(p[i].len, lens[i]);
		CU_ASSERT_PTR_NOT_NULL(p[i].data);
		for (uint32_t j = 0; j < p[i].len; j++)
			CU_ASSERT_EQUAL(p[i].data[j], (uint8_t)(i * 16 + j));
		double want = 1700000000.0 + i + 250000.0 * (i + 1) * frac_unit;

		CU_ASSERT_DOUBLE_EQUAL(p[i].t, want, 1e-6);
	}
}

static void test_formats(void)
{
	static const struct { uint32_t magic; int be; double unit; } fm[] = {
		{ 0xa1b2c3d4u, 0, 1e-6 }, { 0xa1b2c3d4u, 1, 1e-6 },
		{ 0xa1b23c4du, 0, 1e-9 }, { 0xa1b23c4du, 1, 1e-9 },
	};

	for (size_t i = 0; i < sizeof(fm) / sizeof(fm[0]); i++) {
		struct mn_pcap_pkt *p;
		int n;

		write_capture(fm[i].magic, fm[i].be, 0);
		n = mn_pcap_load(path, &p);
		check_three(p, n, fm[i].unit);
		mn_pcap_free(p, n);
	}
}

static void test_truncated(void)
{
	struct mn_pcap_pkt *p;
	int n;

	/* cut inside the last record's data, inside its header, and inside
	 * the file header */
	write_capture(0xa1b2c3d4u, 0, 1);
	CU_ASSERT_EQUAL(mn_pcap_load(path, &p), -EINVAL);
	CU_ASSERT_PTR_NULL(p);
	write_capture(0xa1b2c3d4u, 0, 60 + 3);
	CU_ASSERT_EQUAL(mn_pcap_load(path, &p), -EINVAL);
	long size = write_capture(0xa1b2c3d4u, 1, 0);

	CU_ASSERT_FATAL(truncate(path, 10) == 0);
	CU_ASSERT_EQUAL(mn_pcap_load(path, &p), -EINVAL);
	/* the file header alone is an empty capture */
	write_capture(0xa1b2c3d4u, 1, size - 24);
	n = mn_pcap_load(path, &p);
	CU_ASSERT_EQUAL(n, 0);
	mn_pcap_free(p, n);
}

static void test_foreign(void)
{
	struct mn_pcap_pkt *p;

	write_capture(0x0a0d0d0au, 0, 0);	/* pcapng section header magic */
	CU_ASSERT_EQUAL(mn_pcap_load(path, &p), -EINVAL);
	CU_ASSERT_EQUAL(mn_pcap_load("/nonexistent/x.pcap", &p), -ENOENT);
	mn_pcap_free(NULL, 0);
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "formats", test_formats },
		{ "truncated", test_truncated },
		{ "foreign", test_foreign },
	};
	const char *tmp = getenv("TMPDIR");
	int fd, rc;

	snprintf(path, sizeof(path), "%s/mn_pcap_test.XXXXXX", tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		perror("mkstemp");
		return 2;
	}
	close(fd);
	rc = mn_cu_run("pcap", tests, sizeof(tests) / sizeof(tests[0]));
	unlink(path);
	return rc;
}
