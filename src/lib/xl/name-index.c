/*
 * name-index.c - the open-addressing hash index of name-index.h: linear probing,
 * kept at most half full, FNV-1a hashes (stored, so growing needs no keys).
 */
#include <errno.h>
#include <stdlib.h>

#include "xl/name-index.h"

uint32_t xp__nidx_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

uint32_t xp__nidx_find(const struct xp__nidx *ix, const void *key, size_t len, xp__nidx_eq eq,
		       const void *ctx)
{
	if (!ix->cap)
		return UINT32_MAX;
	uint32_t h = xp__nidx_hash(key, len);
	size_t mask = ix->cap - 1;
	for (size_t k = h & mask; ix->slot[k].id1; k = (k + 1) & mask)
		if (ix->slot[k].hash == h && eq(ctx, ix->slot[k].id1 - 1, key, len))
			return ix->slot[k].id1 - 1;
	return UINT32_MAX;
}

static void place(struct xp__nidx_slot *slot, size_t cap, struct xp__nidx_slot s)
{
	size_t k = s.hash & (cap - 1);
	while (slot[k].id1)
		k = (k + 1) & (cap - 1);
	slot[k] = s;
}

int xp__nidx_add(struct xp__nidx *ix, const void *key, size_t len, uint32_t id)
{
	if (2 * (ix->n + 1) > ix->cap) {
		size_t ncap = ix->cap ? ix->cap * 2 : 64;
		struct xp__nidx_slot *ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t k = 0; k < ix->cap; k++)
			if (ix->slot[k].id1)
				place(ns, ncap, ix->slot[k]);
		free(ix->slot);
		ix->slot = ns;
		ix->cap = ncap;
	}
	place(ix->slot, ix->cap, (struct xp__nidx_slot){.id1 = id + 1, .hash = xp__nidx_hash(key, len)});
	ix->n++;
	return 0;
}

void xp__nidx_release(struct xp__nidx *ix)
{
	free(ix->slot);
	ix->slot = NULL;
	ix->cap = ix->n = 0;
}
