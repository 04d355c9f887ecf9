/*
 * alloc.c - MAC and IPv4 addresses for guests: random MACs in Xen's OUI 00:16:3e (or a
 * configured prefix) that no other domain has, and the lowest free address of a
 * profile's ip-pool. The inventory's domains table is the record of what is taken; the
 * callers run these inside the transaction that inserts the domain (BEGIN IMMEDIATE
 * serialises writers), and the UNIQUE constraints on domains.mac and domains.ip make a
 * double allocation impossible even for a caller that forgets. A deploy plans its
 * guests' addresses up front instead (xp_ip_pool_pick_many), so that they follow the
 * guests' names whatever order its workers finish in.
 *
 * Not here: creating the domain row (domain.c), the MAC generator itself (xl/mac.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/deploy.h"
#include "xenprov/domain.h"

/* ---- IPv4 pools ------------------------------------------------------------------------ */

static int parse_cidr(const char *s, uint32_t *net, unsigned *bits)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = s ? strchr(s, '/') : NULL;
	if (!slash || (size_t)(slash - s) >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	char *end;
	unsigned long b = strtoul(slash + 1, &end, 10);
	if (*end || end == slash + 1 || slash[1] == '-' || slash[1] == '+' || b < 8 || b > 30)
		return -EINVAL;
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return -EINVAL;
	uint32_t mask = ~0u << (32 - b);
	*net = ntohl(a.s_addr) & mask;
	*bits = (unsigned)b;
	return 0;
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -EINVAL;
	*out = ntohl(a.s_addr);
	return 0;
}

static void fmt_ip(uint32_t h, char out[16])
{
	struct in_addr a = {.s_addr = htonl(h)};
	inet_ntop(AF_INET, &a, out, 16);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

int xp_ip_pool_pick(const char *pool, const char *gateway, const char *const *used, size_t nused,
		    char out[16], unsigned *prefix_len)
{
	uint32_t net, gw = 0;
	unsigned bits;
	if (parse_cidr(pool, &net, &bits) < 0)
		return -EINVAL;
	if (gateway && parse_ip(gateway, &gw) < 0)
		return -EINVAL;
	uint32_t *u = NULL;
	size_t nu = 0;
	if (nused) {
		u = malloc(nused * sizeof(*u));
		if (!u)
			return -ENOMEM;
		for (size_t i = 0; i < nused; i++)
			if (parse_ip(used[i], &u[nu]) == 0)
				nu++;
		qsort(u, nu, sizeof(*u), cmp_u32);
	}
	uint32_t bcast = net | ~(~0u << (32 - bits));
	size_t j = 0;
	int r = -ENOSPC;
	/* network and broadcast are never guests' (RFC 919, RFC 922); the prefixes are at
	 * most /30, so there is at least one host address */
	for (uint32_t a = net + 1; a < bcast; a++) {
		while (j < nu && u[j] < a)
			j++;
		if ((j < nu && u[j] == a) || (gateway && a == gw))
			continue;
		fmt_ip(a, out);
		*prefix_len = bits;
		r = 0;
		break;
	}
	free(u);
	return r;
}

/* One pool of xp_ip_pool_pick_many: a bit per address, set where it is taken. */
struct pool_map {
	uint32_t net, size; /* first address, number of addresses */
	uint8_t *taken;
	uint32_t cursor; /* every address below it is taken */
};

static void map_take(struct pool_map *m, uint32_t a)
{
	if (a - m->net < m->size)
		m->taken[(a - m->net) >> 3] |= (uint8_t)(1u << ((a - m->net) & 7));
}

static bool map_taken(const struct pool_map *m, uint32_t i)
{
	return m->taken[i >> 3] & (1u << (i & 7));
}

/* The comma-separated addresses of list, parsed (the unparsable skipped) into a (at
 * most max); their number. */
static size_t parse_list(const char *list, uint32_t *a, size_t max)
{
	size_t n = 0;
	for (const char *p = list; p && *p && n < max;) {
		size_t len = strcspn(p, ",");
		char ip[INET_ADDRSTRLEN];
		if (len < sizeof(ip)) {
			memcpy(ip, p, len);
			ip[len] = 0;
			n += parse_ip(ip, &a[n]) == 0;
		}
		p += len + (p[len] == ',');
	}
	return n;
}

int xp_ip_pool_pick_many(struct xp_ip_want *want, size_t n, const char *const *used, size_t nused)
{
	struct pool_map *maps = NULL;
	size_t nmaps = 0, cap = 0, npicked = 0;
	uint32_t *u = malloc((nused + n + 1) * sizeof(*u)); /* used, then the picks */
	int r = u ? 0 : -ENOMEM;
	size_t nu = 0;
	for (size_t i = 0; r == 0 && i < nused; i++)
		nu += parse_ip(used[i], &u[nu]) == 0;
	for (size_t k = 0; r == 0 && k < n; k++) {
		struct xp_ip_want *w = &want[k];
		w->ip[0] = 0;
		w->prefix = 0;
		w->r = 0;
		uint32_t net, gw = 0, resv[8];
		unsigned bits;
		if (!w->pool)
			continue;
		if (parse_cidr(w->pool, &net, &bits) < 0 ||
		    (w->gateway && parse_ip(w->gateway, &gw) < 0)) {
			w->r = -EINVAL;
			continue;
		}
		size_t nresv = parse_list(w->reserved, resv, 8);
		struct pool_map *m = NULL;
		for (size_t i = 0; i < nmaps && !m; i++)
			if (maps[i].net == net && maps[i].size == 1u << (32 - bits))
				m = &maps[i];
		if (!m) {
			if ((r = xp_grow(&maps, &cap, nmaps, sizeof(*maps), 4)) < 0)
				break;
			m = &maps[nmaps];
			*m = (struct pool_map){.net = net, .size = 1u << (32 - bits)};
			if (!(m->taken = calloc((m->size + 7) / 8, 1))) {
				r = -ENOMEM;
				break;
			}
			nmaps++;
			/* network and broadcast are never guests' (RFC 919, RFC 922) */
			map_take(m, net);
			map_take(m, net + m->size - 1);
			for (size_t i = 0; i < nu + npicked; i++)
				map_take(m, u[i]);
		}
		while (m->cursor < m->size && map_taken(m, m->cursor))
			m->cursor++;
		uint32_t i = m->cursor;
		for (; i < m->size; i++) {
			if (map_taken(m, i) || (w->gateway && net + i == gw))
				continue;
			bool skip = false;
			for (size_t j = 0; j < nresv && !skip; j++)
				skip = resv[j] == net + i;
			if (!skip)
				break;
		}
		if (i == m->size) {
			w->r = -ENOSPC;
			continue;
		}
		/* taken in every pool that holds it (pools of different guests may overlap) */
		u[nu + npicked++] = net + i;
		for (size_t j = 0; j < nmaps; j++)
			map_take(&maps[j], net + i);
		fmt_ip(net + i, w->ip);
		w->prefix = bits;
	}
	for (size_t i = 0; i < nmaps; i++)
		free(maps[i].taken);
	free(maps);
	free(u);
	return r;
}

static int ip_err(struct xp_diags *d, const char *spec, const char *hint, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int ip_err(struct xp_diags *d, const char *spec, const char *hint, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		xp_diags_addv(d, XP_SEV_ERROR, NULL, 0, 0, "ip", spec, hint, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int xp_ip_check(const char *spec, const char *pool, const char *gateway, char out[16],
		unsigned *prefix_len, struct xp_diags *d)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash = strchr(spec, '/');
	size_t alen = slash ? (size_t)(slash - spec) : strlen(spec);
	if (alen >= sizeof(ip))
		return ip_err(d, spec, "e.g. 10.0.0.5 or 10.0.0.5/24",
			      "'%s' is not an IPv4 address", spec);
	memcpy(ip, spec, alen);
	ip[alen] = 0;
	uint32_t a;
	if (parse_ip(ip, &a) < 0)
		return ip_err(d, spec, "e.g. 10.0.0.5 or 10.0.0.5/24",
			      "'%s' is not an IPv4 address", spec);
	unsigned given = 0;
	if (slash) {
		char *end;
		unsigned long b = strtoul(slash + 1, &end, 10);
		if (*end || end == slash + 1 || slash[1] == '-' || slash[1] == '+' || b < 1 ||
		    b > 32)
			return ip_err(d, spec, NULL, "'%s': the prefix length must be 1-32", spec);
		given = (unsigned)b;
	}
	uint32_t net;
	unsigned bits;
	if (pool && parse_cidr(pool, &net, &bits) == 0 && (a & (~0u << (32 - bits))) == net) {
		uint32_t bcast = net | ~(~0u << (32 - bits)), gw;
		if (a == net)
			return ip_err(d, spec, NULL, "%s is the network address of %s", ip, pool);
		if (a == bcast)
			return ip_err(d, spec, NULL, "%s is the broadcast address of %s", ip, pool);
		if (gateway && parse_ip(gateway, &gw) == 0 && gw == a)
			return ip_err(d, spec, NULL, "%s is the gateway", ip);
		if (given && given != bits)
			return ip_err(d, spec, NULL, "%s is in the ip-pool %s, whose prefix is /%u",
				      ip, pool, bits);
		given = bits;
	}
	if (!given)
		return ip_err(d, spec, "give ADDRESS/PREFIX, e.g. 192.168.1.10/24",
			      "%s is outside the profile's ip-pool (or it has none): the prefix "
			      "length is unknown",
			      ip);
	fmt_ip(a, out);
	*prefix_len = given;
	return 0;
}

/* ---- against the inventory -------------------------------------------------------------- */

int xp_domain_alloc_mac(struct xp_inv *inv, const uint8_t *prefix, size_t prefix_len,
			xp_random_fn rnd, void *ud, char out[XP_MAC_STRLEN + 1])
{
	static const uint8_t xen[3] = {XP_MAC_XEN_OUI_0, XP_MAC_XEN_OUI_1, XP_MAC_XEN_OUI_2};
	if (!prefix || !prefix_len) {
		prefix = xen;
		prefix_len = sizeof(xen);
	}
	if (!rnd)
		rnd = xp_getrandom;
	/* 2^24 addresses in an OUI: a collision is rare until a site has millions of
	 * guests; with a 5-octet prefix (256 addresses) the retries matter */
	for (int i = 0; i < 64; i++) {
		struct xp_mac m;
		int r = xp_mac_random(&m, prefix, prefix_len, rnd, ud);
		if (r < 0)
			return r;
		xp_mac_format(&m, out);
		r = xp_domain_mac_taken(inv, out);
		if (r <= 0)
			return r;
	}
	return -EAGAIN;
}

int xp_domain_alloc_ip(struct xp_inv *inv, const char *pool, const char *gateway,
		       const char *reserved, char out[16], unsigned *prefix_len)
{
	char **used;
	size_t n;
	int r = xp_domain_ips(inv, &used, &n);
	if (r < 0)
		return r;
	size_t cap = n;
	/* addresses the profile gives to other hosts (its DNS servers) are not for guests */
	char *copy = reserved ? strdup(reserved) : NULL, *save = NULL;
	if (reserved && !copy)
		r = -ENOMEM;
	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && r == 0;
	     t = strtok_r(NULL, ",", &save)) {
		if ((r = xp_grow(&used, &cap, n, sizeof(*used), 64)) < 0)
			break;
		if (!(used[n] = strdup(t)))
			r = -ENOMEM;
		else
			n++;
	}
	free(copy);
	if (r == 0)
		r = xp_ip_pool_pick(pool, gateway, (const char *const *)used, n, out, prefix_len);
	xp_strv_free(used, n);
	return r;
}
