/* mn_mgfmt: how the two msg_gen layouts are written, told apart and checked.
 * The slot and the sequence are copied with memcpy (host order, as
 * Machnet's struct is), never through a cast: buffers need not be aligned. */
#include "mn_mgfmt.h"

#include <string.h>

#define SEQ_OFF 16

const char *mn_mgfmt_name(enum mn_mgfmt_kind k)
{
	switch (k) {
	case MN_MGFMT_MACHNET: return "machnet";
	case MN_MGFMT_OURS: return "mp";
	default: return "unknown";
	}
}

void mn_mgfmt_fill_machnet(uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		p[i] = (uint8_t)i;
}

void mn_mgfmt_fill_seq(uint8_t *p, size_t from, size_t to, uint64_t seq)
{
	uint8_t x = (uint8_t)(seq * 131u);

	for (size_t i = from; i < to; i++)
		p[i] = (uint8_t)(x + (uint8_t)i);
}

bool mn_mgfmt_is_machnet(const uint8_t *p, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (p[i] != (uint8_t)i)
			return false;
	return true;
}

bool mn_mgfmt_is_seq(const uint8_t *p, size_t from, size_t to, uint64_t seq)
{
	uint8_t x = (uint8_t)(seq * 131u);

	for (size_t i = from; i < to; i++)
		if (p[i] != (uint8_t)(x + (uint8_t)i))
			return false;
	return true;
}

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

void mn_mgfmt_request(uint8_t *buf, size_t len, enum mn_mgfmt_kind kind, uint64_t slot,
		      uint64_t seq, bool pattern)
{
	uint8_t head[MN_MGFMT_HEAD];

	memcpy(head, &slot, MN_MGFMT_SLOT_LEN);
	if (kind != MN_MGFMT_OURS) {
		memcpy(buf, head, min_sz(len, MN_MGFMT_SLOT_LEN));
		if (pattern)
			mn_mgfmt_fill_machnet(buf, MN_MGFMT_SLOT_LEN, len);
		return;
	}
	memcpy(head + MN_MGFMT_SLOT_LEN, MN_MGFMT_MAGIC, 8);
	memcpy(head + SEQ_OFF, &seq, 8);
	memcpy(buf, head, min_sz(len, MN_MGFMT_HEAD));
	if (pattern)
		mn_mgfmt_fill_seq(buf, MN_MGFMT_HEAD, len, seq);
}

enum mn_mgfmt_kind mn_mgfmt_classify_request(const uint8_t *req, size_t len)
{
	if (len >= MN_MGFMT_HEAD && memcmp(req + MN_MGFMT_SLOT_LEN, MN_MGFMT_MAGIC, 8) == 0)
		return MN_MGFMT_OURS;
	return len >= MN_MGFMT_SLOT_LEN ? MN_MGFMT_MACHNET : MN_MGFMT_UNKNOWN;
}

void mn_mgfmt_answer_ours(uint8_t *buf, size_t req_len, size_t resp_len)
{
	uint64_t seq;

	if (resp_len <= req_len || req_len < MN_MGFMT_HEAD)
		return;
	memcpy(&seq, buf + SEQ_OFF, 8);
	mn_mgfmt_fill_seq(buf, req_len, resp_len, seq);
}

void mn_mgfmt_answer_machnet(uint8_t *resp, const uint8_t *req, size_t req_len)
{
	uint8_t slot[MN_MGFMT_SLOT_LEN] = { 0 };

	memcpy(slot, req, min_sz(req_len, MN_MGFMT_SLOT_LEN));
	memcpy(resp, slot, MN_MGFMT_SLOT_LEN);
}

void mn_mgfmt_parse_reply(const uint8_t *buf, size_t len, struct mn_mgfmt_reply *r)
{
	r->kind = MN_MGFMT_UNKNOWN;
	r->slot = 0;
	r->seq = 0;
	if (len < MN_MGFMT_MIN_MACHNET)
		return;
	memcpy(&r->slot, buf, MN_MGFMT_SLOT_LEN);
	if (len >= MN_MGFMT_HEAD && memcmp(buf + MN_MGFMT_SLOT_LEN, MN_MGFMT_MAGIC, 8) == 0) {
		r->kind = MN_MGFMT_OURS;
		memcpy(&r->seq, buf + SEQ_OFF, 8);
		return;
	}
	/* Machnet's pattern over what would be our magic and sequence: 16
	 * bytes (fewer in a short response) that our head never holds. */
	if (mn_mgfmt_is_machnet(buf, MN_MGFMT_SLOT_LEN, min_sz(len, MN_MGFMT_HEAD)))
		r->kind = MN_MGFMT_MACHNET;
}

bool mn_mgfmt_verify_reply(const uint8_t *buf, size_t len, const struct mn_mgfmt_reply *r)
{
	switch (r->kind) {
	case MN_MGFMT_MACHNET:
		return mn_mgfmt_is_machnet(buf, MN_MGFMT_SLOT_LEN, len);
	case MN_MGFMT_OURS:
		return mn_mgfmt_is_seq(buf, MN_MGFMT_HEAD, len, r->seq);
	default:
		return false;
	}
}
