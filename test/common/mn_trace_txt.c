#include "mn_trace_txt.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	return 0;
}

static int parse_ip(const char *s, uint32_t *ip)
{
	unsigned a, b, c, d;

	if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return -1;
	*ip = a << 24 | b << 16 | c << 8 | d;
	return 0;
}

/* strtoull with base 0 stops at "(SYN)" and similar suffixes. */
static uint64_t num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int parse_sack(const char *v, uint64_t w[4])
{
	memset(w, 0, 4 * sizeof(w[0]));
	if (strcmp(v, "0") == 0)
		return 0;
	if (strncmp(v, "nonzero[", 8) != 0)
		return -1;
	v += 8;
	for (int i = 0; i < 4; i++) {
		char *end;

		w[i] = strtoull(v, &end, 16);
		if (end == v || (*end != ',' && *end != ']'))
			return -1;
		v = end + 1;
	}
	return 0;
}

static int parse_kv(struct mn_trace_line *l, const char *k, const char *v)
{
	if (!strcmp(k, "t")) l->t = strtod(v, NULL);
	else if (!strcmp(k, "len")) l->frame_len = (uint32_t)num(v);
	else if (!strcmp(k, "eth_dst")) return parse_mac(v, l->eth_dst);
	else if (!strcmp(k, "eth_src")) return parse_mac(v, l->eth_src);
	else if (!strcmp(k, "sha")) return parse_mac(v, l->sha);
	else if (!strcmp(k, "tha")) return parse_mac(v, l->tha);
	else if (!strcmp(k, "spa")) return parse_ip(v, &l->spa);
	else if (!strcmp(k, "tpa")) return parse_ip(v, &l->tpa);
	else if (!strcmp(k, "ip_ver_ihl")) l->ver_ihl = (uint8_t)num(v);
	else if (!strcmp(k, "tos")) l->tos = (uint8_t)num(v);
	else if (!strcmp(k, "tot_len")) l->tot_len = (uint16_t)num(v);
	else if (!strcmp(k, "id")) l->ip_id = (uint16_t)num(v);
	else if (!strcmp(k, "DF")) l->df = (uint8_t)num(v);
	else if (!strcmp(k, "MF")) l->mf = (uint8_t)num(v);
	else if (!strcmp(k, "frag_off")) l->frag_off = (uint16_t)num(v);
	else if (!strcmp(k, "ttl")) l->ttl = (uint8_t)num(v);
	else if (!strcmp(k, "proto")) l->proto = (uint8_t)num(v);
	else if (!strcmp(k, "ip_csum")) l->ip_csum = (uint16_t)num(v);
	else if (!strcmp(k, "udp_len")) l->udp_len = (uint16_t)num(v);
	else if (!strcmp(k, "udp_csum")) l->udp_csum = (uint16_t)num(v);
	else if (!strcmp(k, "magic")) l->magic = (uint16_t)num(v);
	else if (!strcmp(k, "net_flags")) l->net_flags = (uint8_t)num(v);
	else if (!strcmp(k, "msg_flags")) l->msg_flags = (uint8_t)num(v);
	else if (!strcmp(k, "seqno")) l->seqno = (uint32_t)num(v);
	else if (!strcmp(k, "ackno")) l->ackno = (uint32_t)num(v);
	else if (!strcmp(k, "sack_count")) l->sack_count = (uint16_t)num(v);
	else if (!strcmp(k, "sack_bitmap")) return parse_sack(v, l->sack_words);
	else if (!strcmp(k, "timestamp1")) l->timestamp1 = num(v);
	else if (!strcmp(k, "payload_len")) l->payload_len = (uint32_t)num(v);
	/* htype, ptype, hlen, plen: fixed for Ethernet/IPv4 ARP */
	return 0;
}

/* Parses one frame line (modified in place by strtok). */
static int parse_line(char *s, struct mn_trace_line *l)
{
	char *save = NULL, *tok;
	const char *prev = "";
	int n = 0;

	memset(l, 0, sizeof(*l));
	l->dir = MN_TRACE_DIR_UNKNOWN;
	for (tok = strtok_r(s, " \n", &save); tok; prev = tok, tok = strtok_r(NULL, " \n", &save), n++) {
		char *eq = strchr(tok, '=');

		if (n == 0) {
			l->idx = atoi(tok);
		} else if (!strcmp(tok, "A->B")) {
			l->dir = MN_TRACE_A_TO_B;
		} else if (!strcmp(tok, "B->A")) {
			l->dir = MN_TRACE_B_TO_A;
		} else if (!strcmp(tok, "ARP")) {
			l->is_arp = 1;
		} else if (!strcmp(tok, "request") && !strcmp(prev, "ARP")) {
			l->arp_op = 1;
		} else if (!strcmp(tok, "reply") && !strcmp(prev, "ARP")) {
			l->arp_op = 2;
		} else if (!strcmp(tok, "IPv4")) {
			l->is_ipv4 = 1;
		} else if (!strcmp(tok, "MACHNET")) {
			l->is_machnet = 1;
		} else if (!strncmp(tok, "[LOST", 5)) {
			l->lost = 1;
		} else if (eq) {
			*eq = '\0';
			if (parse_kv(l, tok, eq + 1))
				return -1;
		} else if (strstr(tok, "->")) {
			char *arrow = strstr(tok, "->");

			*arrow = '\0';
			if (!strcmp(prev, "UDP")) {
				l->src_port = (uint16_t)num(tok);
				l->dst_port = (uint16_t)num(arrow + 2);
			} else if (parse_ip(tok, &l->src_ip) || parse_ip(arrow + 2, &l->dst_ip)) {
				return -1;
			}
		}
	}
	return n > 2 ? 0 : -1;
}

int mn_trace_load(const char *path, struct mn_trace_line **out)
{
	struct mn_trace_line *lines = NULL, *nl;
	int n = 0, cap = 0, err = 0;
	char buf[4096];
	FILE *f;

	*out = NULL;
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(buf, sizeof(buf), f)) {
		if (!isdigit((unsigned char)buf[0]))
			continue;	/* comment, hex dump or summary */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			nl = realloc(lines, (size_t)cap * sizeof(*lines));
			if (!nl) {
				err = -ENOMEM;
				goto fail;
			}
			lines = nl;
		}
		if (parse_line(buf, &lines[n])) {
			err = -EINVAL;
			goto fail;
		}
		n++;
	}
	fclose(f);
	*out = lines;
	return n;
fail:
	free(lines);
	fclose(f);
	return err;
}
