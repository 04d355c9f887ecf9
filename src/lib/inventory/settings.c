/*
 * settings.c - ordered key/value lists (profile values, per-guest overrides).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/inventory.h"

void xp_settings_release(struct xp_settings *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].value);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

const char *xp_settings_get(const struct xp_settings *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0)
			return s->v[i].value;
	return NULL;
}

bool xp_settings_equal(const struct xp_settings *a, const struct xp_settings *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i].key, b->v[i].key) || strcmp(a->v[i].value, b->v[i].value))
			return false;
	return true;
}

int xp_settings_set(struct xp_settings *s, const char *key, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0) {
			free(s->v[i].value);
			s->v[i].value = v;
			return 0;
		}
	if (xp_grow(&s->v, &s->cap, s->n, sizeof(*s->v), 16) < 0) {
		free(v);
		return -ENOMEM;
	}
	char *k = strdup(key);
	if (!k) {
		free(v);
		return -ENOMEM;
	}
	s->v[s->n++] = (struct xp_kv){k, v};
	return 0;
}

int xp_settings_unset(struct xp_settings *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].key, key) == 0) {
			free(s->v[i].key);
			free(s->v[i].value);
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(s->v[0]));
			s->n--;
			return 0;
		}
	return -ENOENT;
}
