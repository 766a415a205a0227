/* mn_mgfmt: msg_gen's message layouts, Machnet's and ours, on one wire.
 *
 * Machnet's msg_gen (microsoft/machnet src/apps/msg_gen/main.cc) sends and
 * answers messages whose first 8 bytes are the client's window slot (a
 * uint64_t in host order, app_hdr_t); every other byte i of a request or a
 * response is (uint8_t)i. Its server reads only the slot: it answers with
 * the slot and its own pattern, --msg_size bytes long. Its client accepts a
 * response whose slot is below its window; with --verify it checks bytes
 * 8.. against the pattern.
 *
 * Ours is a superset that a Machnet peer passes through untouched:
 *   [0..8)   window slot, as Machnet's
 *   [8..16)  MN_MGFMT_MAGIC (Machnet's pattern there is 08 09 .. 0f)
 *   [16..24) sequence number (per client thread, unique)
 *   [24..)   with --verify: byte i = (uint8_t)(seq * 131 + i)
 * Our server answers a request that carries the magic by echoing it (and
 * the sequence's pattern beyond the request's length), so our client checks
 * every byte; any other request gets Machnet's answer. Our client tells the
 * two answers apart by bytes 8..: the magic, or Machnet's pattern.
 *
 * Pure functions of their arguments, no allocation: unit-testable.
 */
#ifndef MN_MGFMT_H
#define MN_MGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MN_MGFMT_SLOT_LEN 8	/* Machnet's app_hdr_t */
#define MN_MGFMT_HEAD 24	/* ours: slot, magic, sequence */
#define MN_MGFMT_MIN_MACHNET 9	/* Machnet's msg_gen wants msg_size > 8 */
#define MN_MGFMT_MAGIC "MNMP-MG1"	/* 8 bytes, no NUL on the wire */

enum mn_mgfmt_kind {
	MN_MGFMT_UNKNOWN = 0,	/* neither layout */
	MN_MGFMT_MACHNET,	/* Machnet's: slot, then (uint8_t)i */
	MN_MGFMT_OURS,		/* ours: slot, magic, sequence, pattern */
};

/* What one response says, as the client checks it. */
struct mn_mgfmt_reply {
	enum mn_mgfmt_kind kind;
	uint64_t slot;
	uint64_t seq;		/* OURS only */
};

/* A short name of the layout ("machnet", "mp", "unknown"). */
const char *mn_mgfmt_name(enum mn_mgfmt_kind k);

/* Machnet's pattern, byte i = (uint8_t)i, over p[from..to). */
void mn_mgfmt_fill_machnet(uint8_t *p, size_t from, size_t to);
/* Our sequence pattern, byte i = (uint8_t)(seq * 131 + i), over p[from..to). */
void mn_mgfmt_fill_seq(uint8_t *p, size_t from, size_t to, uint64_t seq);
/* Whether p[from..to) holds the pattern. */
bool mn_mgfmt_is_machnet(const uint8_t *p, size_t from, size_t to);
bool mn_mgfmt_is_seq(const uint8_t *p, size_t from, size_t to, uint64_t seq);

/* Writes a client request of len bytes into buf. kind OURS: slot, magic,
 * sequence, and with pattern the sequence's pattern after them; a len under
 * MN_MGFMT_HEAD carries what fits, which a server takes for Machnet's
 * layout. kind MACHNET: the slot, and with pattern Machnet's pattern after
 * it (Machnet's client fills its buffer once and then writes only the slot:
 * a caller that prepared buf once passes false). Without pattern the bytes
 * after the head are left as they are. */
void mn_mgfmt_request(uint8_t *buf, size_t len, enum mn_mgfmt_kind kind, uint64_t slot,
		      uint64_t seq, bool pattern);

/* The layout of a request as a server sees it: OURS when it carries the
 * whole head with the magic, MACHNET when it has at least the slot,
 * UNKNOWN when it is shorter than a slot. */
enum mn_mgfmt_kind mn_mgfmt_classify_request(const uint8_t *req, size_t len);

/* Turns the request in buf (req_len bytes; buf holds at least resp_len)
 * into our answer of resp_len bytes: the request's bytes kept, the
 * sequence's pattern after them. For a request of kind OURS. */
void mn_mgfmt_answer_ours(uint8_t *buf, size_t req_len, size_t resp_len);

/* Machnet's answer: resp (resp_len bytes, prepared once with
 * mn_mgfmt_fill_machnet from MN_MGFMT_SLOT_LEN) gets the request's slot;
 * a request shorter than a slot gives its bytes and zeros, as far as they
 * go. */
void mn_mgfmt_answer_machnet(uint8_t *resp, const uint8_t *req, size_t req_len);

/* Reads a response: its slot, its layout (the magic: OURS; Machnet's
 * pattern in bytes 8..24, or as far as the response goes: MACHNET;
 * otherwise, or shorter than MN_MGFMT_MIN_MACHNET: UNKNOWN) and for OURS
 * the sequence. Checks no pattern beyond the head; see
 * mn_mgfmt_verify_reply. */
void mn_mgfmt_parse_reply(const uint8_t *buf, size_t len, struct mn_mgfmt_reply *r);

/* Whether every byte of a parsed response after its head is the pattern its
 * layout promises: Machnet's from byte 8, or the sequence's from 24. */
bool mn_mgfmt_verify_reply(const uint8_t *buf, size_t len, const struct mn_mgfmt_reply *r);

#endif
