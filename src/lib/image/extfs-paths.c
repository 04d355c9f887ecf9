/*
 * extfs-paths.c - archive path normalisation and the path -> node table of the
 * filesystem being built from a tar stream.
 *
 * Not here: anything touching libext2fs (extfs-build.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/extfs-internal.h"

int xp_path_normalize(char *path)
{
	if (path[0] == '/')
		return -EPERM;
	/* Walk the components, writing the kept ones back at w. depth counts them so that
	 * ".." can pop one; going below zero climbs out of the root. */
	char *r = path, *w = path;
	int depth = 0;
	while (*r) {
		char *end = strchr(r, '/');
		size_t len = end ? (size_t)(end - r) : strlen(r);
		if (len == 0 || (len == 1 && r[0] == '.')) {
			/* empty or "." component */
		} else if (len == 2 && r[0] == '.' && r[1] == '.') {
			if (depth == 0)
				return -EPERM;
			depth--;
			/* drop the last kept component */
			while (w > path && w[-1] != '/')
				w--;
			if (w > path)
				w--;
		} else {
			if (len > 255)
				return -ENAMETOOLONG;
			if (w > path)
				*w++ = '/';
			memmove(w, r, len);
			w += len;
			depth++;
		}
		r += len;
		if (*r == '/')
			r++;
	}
	*w = '\0';
	return 0;
}

static uint64_t hash_path(const char *s, size_t len)
{
	/* FNV-1a, 64 bit */
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void xp_tree_init(struct xp_tree *t)
{
	memset(t, 0, sizeof(*t));
}

void xp_tree_release(struct xp_tree *t)
{
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slots[i]) {
			free(t->slots[i]->path);
			free(t->slots[i]);
		}
	}
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

struct xp_node *xp_tree_get(const struct xp_tree *t, const char *path, size_t len)
{
	if (!t->cap)
		return NULL;
	size_t mask = t->cap - 1;
	for (size_t i = hash_path(path, len) & mask;; i = (i + 1) & mask) {
		struct xp_node *n = t->slots[i];
		if (!n)
			return NULL;
		if (strncmp(n->path, path, len) == 0 && n->path[len] == '\0')
			return n;
	}
}

static void put(struct xp_node **slots, size_t cap, struct xp_node *n)
{
	size_t mask = cap - 1;
	size_t i = hash_path(n->path, strlen(n->path)) & mask;
	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = n;
}

int xp_tree_add(struct xp_tree *t, const char *path, size_t len, struct xp_node *parent,
		struct xp_node **ret)
{
	if ((t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct xp_node **ns = calloc(ncap, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i])
				put(ns, ncap, t->slots[i]);
		free(t->slots);
		t->slots = ns;
		t->cap = ncap;
	}
	struct xp_node *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->path = strndup(path, len);
	if (!n->path) {
		free(n);
		return -ENOMEM;
	}
	const char *slash = strrchr(n->path, '/');
	n->name = slash ? slash + 1 : n->path;
	n->parent = parent;
	put(t->slots, t->cap, n);
	t->n++;
	*ret = n;
	return 0;
}

void xp_tree_link(struct xp_node *dir, struct xp_node *child)
{
	if (dir->last_child)
		dir->last_child->next_sibling = child;
	else
		dir->first_child = child;
	dir->last_child = child;
	/* ext2 directory record: 8-byte header + name, 4-byte aligned */
	dir->child_bytes += (8 + strlen(child->name) + 3) & ~(uint64_t)3;
}
