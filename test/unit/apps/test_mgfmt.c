/* Unit tests of msg_gen's layouts (mn_mgfmt): Machnet's msg_gen requests and
 * answers, built here byte by byte as its main.cc does (an 8-byte window
 * slot over a buffer whose byte i is (uint8_t)i), are recognised and
 * answered as it expects; ours are echoed and verified on every byte; and
 * responses in neither layout are told apart. */
#include <stdint.h>
#include <string.h>

#include "mn_cunit.h"
#include "mn_mgfmt.h"

#define BIG 3000	/* past several 256-byte pattern periods */

/* Machnet's client or server buffer: its pattern everywhere, then the slot. */
static void machnet_msg(uint8_t *p, size_t len, uint64_t slot)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)i;
	memcpy(p, &slot, 8);
}

/* Machnet's client check of a response: slot below its window, and with
 * --verify every byte from 8 equal to its pattern. */
static int machnet_client_accepts(const uint8_t *p, size_t len, uint64_t window)
{
	uint64_t slot;

	memcpy(&slot, p, 8);
	if (slot >= window)
		return 0;
	for (size_t i = 8; i < len; i++)
		if (p[i] != (uint8_t)i)
			return 0;
	return 1;
}

static void test_classify_requests(void)
{
	static uint8_t b[BIG];

	machnet_msg(b, 64, 5);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, 64), MN_MGFMT_MACHNET);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, 9), MN_MGFMT_MACHNET);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, 8), MN_MGFMT_MACHNET);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, 7), MN_MGFMT_UNKNOWN);
	mn_mgfmt_request(b, BIG, MN_MGFMT_OURS, 3, 77, true);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, BIG), MN_MGFMT_OURS);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, MN_MGFMT_HEAD), MN_MGFMT_OURS);
	/* A head cut short is not ours: the server answers it as Machnet's. */
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(b, MN_MGFMT_HEAD - 1), MN_MGFMT_MACHNET);
	/* Our client in Machnet's layout sends exactly Machnet's request. */
	{
		static uint8_t m[BIG];

		memset(b, 0xee, sizeof(b));
		mn_mgfmt_request(b, BIG, MN_MGFMT_MACHNET, 9, 1234, true);
		machnet_msg(m, BIG, 9);
		CU_ASSERT_EQUAL(memcmp(b, m, BIG), 0);
		/* Later requests write only the slot over the pattern. */
		mn_mgfmt_request(b, BIG, MN_MGFMT_MACHNET, 2, 1235, false);
		machnet_msg(m, BIG, 2);
		CU_ASSERT_EQUAL(memcmp(b, m, BIG), 0);
	}
}

static void test_machnet_answer(void)
{
	static uint8_t req[BIG], resp[BIG];
	struct mn_mgfmt_reply r;

	/* Our server answering Machnet's client (response longer than request). */
	machnet_msg(req, 100, 6);
	mn_mgfmt_fill_machnet(resp, 0, BIG);
	mn_mgfmt_answer_machnet(resp, req, 100);
	CU_ASSERT(machnet_client_accepts(resp, BIG, 8));
	CU_ASSERT_FALSE(machnet_client_accepts(resp, BIG, 6));	/* slot 6 kept */
	/* Our client reading Machnet's server's answer. */
	mn_mgfmt_parse_reply(resp, BIG, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_MACHNET);
	CU_ASSERT_EQUAL(r.slot, 6);
	CU_ASSERT(mn_mgfmt_verify_reply(resp, BIG, &r));
	resp[2999] ^= 1;
	CU_ASSERT_FALSE(mn_mgfmt_verify_reply(resp, BIG, &r));
	resp[2999] ^= 1;
	/* Machnet's server answering our request: only the slot comes back. */
	mn_mgfmt_request(req, 512, MN_MGFMT_OURS, 4, 99, true);
	mn_mgfmt_answer_machnet(resp, req, 512);
	mn_mgfmt_parse_reply(resp, 512, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_MACHNET);
	CU_ASSERT_EQUAL(r.slot, 4);
	CU_ASSERT(mn_mgfmt_verify_reply(resp, 512, &r));
	/* Machnet's smallest messages (9 bytes) are still recognised. */
	mn_mgfmt_parse_reply(resp, 9, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_MACHNET);
	mn_mgfmt_parse_reply(resp, 8, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_UNKNOWN);
	/* A request shorter than a slot: its bytes, then zeros. */
	{
		const uint8_t tiny[3] = { 1, 2, 3 };
		uint64_t slot;

		mn_mgfmt_answer_machnet(resp, tiny, sizeof(tiny));
		memcpy(&slot, resp, 8);
		CU_ASSERT_EQUAL(slot, 0x030201u);
	}
}

static void test_ours_echo(void)
{
	static uint8_t buf[BIG];
	struct mn_mgfmt_reply r;

	/* Response as long as the request: the echo itself. */
	mn_mgfmt_request(buf, 1024, MN_MGFMT_OURS, 31, 1000001, true);
	CU_ASSERT_EQUAL(mn_mgfmt_classify_request(buf, 1024), MN_MGFMT_OURS);
	mn_mgfmt_answer_ours(buf, 1024, 1024);
	mn_mgfmt_parse_reply(buf, 1024, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_OURS);
	CU_ASSERT_EQUAL(r.slot, 31);
	CU_ASSERT_EQUAL(r.seq, 1000001);
	CU_ASSERT(mn_mgfmt_verify_reply(buf, 1024, &r));
	/* Every byte after the head counts. */
	for (size_t i = MN_MGFMT_HEAD; i < 1024; i += 97) {
		buf[i] ^= 0x40;
		CU_ASSERT_FALSE(mn_mgfmt_verify_reply(buf, 1024, &r));
		buf[i] ^= 0x40;
	}
	/* A longer response: the sequence's pattern continues after the request. */
	mn_mgfmt_request(buf, 100, MN_MGFMT_OURS, 2, 5, true);
	mn_mgfmt_answer_ours(buf, 100, BIG);
	mn_mgfmt_parse_reply(buf, BIG, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_OURS);
	CU_ASSERT(mn_mgfmt_verify_reply(buf, BIG, &r));
	/* The pattern depends on the sequence: a reply of another seq fails. */
	r.seq = 6;
	CU_ASSERT_FALSE(mn_mgfmt_verify_reply(buf, BIG, &r));
	/* A corrupted magic is no longer ours, and not Machnet's either. */
	buf[10] ^= 1;
	mn_mgfmt_parse_reply(buf, BIG, &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_UNKNOWN);
}

static void test_unknown_replies(void)
{
	static uint8_t b[256];
	struct mn_mgfmt_reply r;
	uint64_t seq = 7;
	uint32_t slot = 3, thread = 0;

	memset(b, 0, sizeof(b));
	mn_mgfmt_parse_reply(b, sizeof(b), &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_UNKNOWN);
	CU_ASSERT_FALSE(mn_mgfmt_verify_reply(b, sizeof(b), &r));
	/* msg_gen's earlier head (seq, slot, thread): neither layout. */
	memcpy(b, &seq, 8);
	memcpy(b + 8, &slot, 4);
	memcpy(b + 12, &thread, 4);
	mn_mgfmt_fill_seq(b, 16, sizeof(b), seq);
	mn_mgfmt_parse_reply(b, sizeof(b), &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_UNKNOWN);
	/* Machnet's pattern broken inside bytes 8..23 (what tells it apart). */
	machnet_msg(b, sizeof(b), 1);
	b[20] = 0;
	mn_mgfmt_parse_reply(b, sizeof(b), &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_UNKNOWN);
	/* ... but past byte 23 it is Machnet's layout with a bad byte. */
	machnet_msg(b, sizeof(b), 1);
	b[200] = 0;
	mn_mgfmt_parse_reply(b, sizeof(b), &r);
	CU_ASSERT_EQUAL(r.kind, MN_MGFMT_MACHNET);
	CU_ASSERT_FALSE(mn_mgfmt_verify_reply(b, sizeof(b), &r));
	CU_ASSERT_STRING_EQUAL(mn_mgfmt_name(MN_MGFMT_UNKNOWN), "unknown");
	CU_ASSERT_STRING_EQUAL(mn_mgfmt_name(MN_MGFMT_MACHNET), "machnet");
	CU_ASSERT_STRING_EQUAL(mn_mgfmt_name(MN_MGFMT_OURS), "mp");
}

int main(void)
{
	static const struct mn_cu_test tests[] = {
		{ "classify_requests", test_classify_requests },
		{ "machnet_answer", test_machnet_answer },
		{ "ours_echo", test_ours_echo },
		{ "unknown_replies", test_unknown_replies },
	};

	return mn_cu_run("mgfmt", tests, sizeof(tests) / sizeof(tests[0]));
}
