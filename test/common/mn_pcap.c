#include "mn_pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_US	0xa1b2c3d4u
#define PCAP_MAGIC_NS	0xa1b23c4du
/* No real capture has a record this big; a larger one means a corrupt file
 * and must not turn into a huge allocation. */
#define PCAP_MAX_REC	(16u << 20)

static uint32_t rd32(const uint8_t *p, int swap)
{
	if (swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void mn_pcap_free(struct mn_pcap_pkt *pkts, int n)
{
	if (!pkts)
		return;
	for (int i = 0; i < n; i++)
		free(pkts[i].data);
	free(pkts);
}

int mn_pcap_load(const char *path, struct mn_pcap_pkt **out)
{
	uint8_t gh[24], rh[16];
	struct mn_pcap_pkt *pkts = NULL, *np;
	int n = 0, cap = 0, swap, err;
	double frac_scale;
	uint32_t magic;
	FILE *f;

	*out = NULL;
	f = fopen(path, "rb");
	if (!f)
		return -errno;
	if (fread(gh, 1, sizeof(gh), f) != sizeof(gh)) {
		err = -EINVAL;
		goto fail;
	}
	/* Try the file as little-endian first; a big-endian writer's magic then
	 * reads byte-swapped. */
	magic = rd32(gh, 0);
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
		swap = 0;
	} else {
		magic = rd32(gh, 1);
		if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
			err = -EINVAL;
			goto fail;
		}
		swap = 1;
	}
	frac_scale = magic == PCAP_MAGIC_NS ? 1e-9 : 1e-6;

	for (;;) {
		size_t got = fread(rh, 1, sizeof(rh), f);
		uint32_t incl;

		if (got == 0)
			break;
		if (got != sizeof(rh)) {
			err = -EINVAL;
			goto fail;
		}
		incl = rd32(rh + 8, swap);
		if (incl > PCAP_MAX_REC) {
			err = -EINVAL;
			goto fail;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			np = realloc(pkts, (size_t)cap * sizeof(*pkts));
			if (!np) {
				err = -ENOMEM;
				goto fail;
			}
			pkts = np;
		}
		/* Exactly incl bytes (at least 1 for malloc), so that a reader
		 * overrunning a frame trips ASan. */
		pkts[n].data = malloc(incl ? incl : 1);
		if (!pkts[n].data) {
			err = -ENOMEM;
			goto fail;
		}
		pkts[n].len = incl;
		pkts[n].t = rd32(rh, swap) + rd32(rh + 4, swap) * frac_scale;
		n++;
		if (incl && fread(pkts[n - 1].data, 1, incl, f) != incl) {
			err = -EINVAL;
			goto fail;
		}
	}
	if (ferror(f)) {
		err = -EIO;
		goto fail;
	}
	fclose(f);
	*out = pkts;
	return n;

fail:
	mn_pcap_free(pkts, n);
	fclose(f);
	return err;
}
