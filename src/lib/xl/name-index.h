/*
 * name-index.h - an open-addressing hash index from byte strings to small integers
 * (ids the caller chose), for the xl config code: setting names, vdevs and MACs. The
 * index keeps no keys, only their hashes and ids; the caller keeps the keys and says
 * whether a candidate id matches. Lookups and inserts cost O(1) on average, so that
 * files with hundreds of thousands of names stay linear.
 *
 * Not here: ownership of the keys, deletion (nothing here needs it).
 */
#ifndef XP_XL_NAME_INDEX_H
#define XP_XL_NAME_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xp__nidx_slot {
	uint32_t id1; /* id + 1; 0 is an empty slot */
	uint32_t hash;
};

/* Zero-initialised is an empty index. */
struct xp__nidx {
	struct xp__nidx_slot *slot;
	size_t cap; /* a power of two, or 0 */
	size_t n;
};

/* Whether the key the caller keeps for id equals key[0..len). */
typedef bool (*xp__nidx_eq)(const void *ctx, uint32_t id, const void *key, size_t len);

uint32_t xp__nidx_hash(const void *key, size_t len);
/* The id stored for key, or UINT32_MAX. */
uint32_t xp__nidx_find(const struct xp__nidx *ix, const void *key, size_t len, xp__nidx_eq eq,
		       const void *ctx);
/* Adds id for key (which the caller knows is absent). id < UINT32_MAX. -ENOMEM or 0. */
int xp__nidx_add(struct xp__nidx *ix, const void *key, size_t len, uint32_t id);
void xp__nidx_release(struct xp__nidx *ix);

#endif
