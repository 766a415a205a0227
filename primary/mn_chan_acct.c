/* mn_chan_acct: the accounting half of mn_chan (see mn_chan.h): receive
 * accounts per flow, and the release of sent buffers from their channel's
 * share. Only the transport uses it; the channels' own code marks and
 * unmarks segments where they pass (mn_chan.c). */
#include "mn_chan.h"

#include <errno.h>
#include <stdlib.h>

int mn_chan_acct_init(struct mn_chan_engine *e, uint32_t n, uint32_t tx_chan_pkts)
{
	e->seg_acct = calloc(e->map.cap, sizeof(*e->seg_acct));
	e->acct = calloc(n, sizeof(*e->acct));
	if (e->seg_acct == NULL || e->acct == NULL || n == 0 || n == UINT32_MAX) {
		free(e->seg_acct);
		free(e->acct);
		e->seg_acct = NULL;
		e->acct = NULL;
		return -ENOMEM;
	}
	e->n_acct = n;
	e->tx_chan_pkts = tx_chan_pkts;
	return 0;
}

void mn_chan_acct_open(struct mn_chan_engine *e, uint32_t id)
{
	if (id != 0 && id < e->n_acct)
		e->acct[id] = (struct mn_chan_acct){ 0, (uint16_t)(e->acct[id].gen + 1) };
}

void mn_chan_tx_release(struct mn_chan_engine *e, const void *buf)
{
	int ix;

	if (e->seg_acct == NULL)
		return;
	ix = mn_objmap_find(&e->map, buf);
	if (ix >= 0 && (e->seg_acct[ix] & MN_CHAN_TX_MARK))
		mn_chan_unaccount(e, (uint32_t)ix);
}
