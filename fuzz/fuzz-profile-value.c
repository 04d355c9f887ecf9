/*
 * fuzz-profile-value.c - libFuzzer target for the profile's value checks
 * (xp_profile_check, inventory/profile.c) and the items of its list keys, the further
 * disks and NICs above all (xp_data_disk_parse, xp_nic_parse,
 * inventory/profile-devices.c), which deploy reads back when it makes a guest.
 *
 * The input is KEY '=' VALUE (a KEY of xp_profile_keys, config.NAME too; without '='
 * the first byte picks a list key and the rest is the value). Beyond "no crash", it
 * checks what the store and deploy rely on: a refusal always says why; an accepted
 * value normalises to itself (what is stored checks to itself); a list's stored items
 * read back (xp_profile_list_items), and a data-disk or nic item reads with its own
 * parser and writes out as stored; one item added with xp_profile_list_add is stored as
 * the check stores it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xenprov/inventory.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An item of a stored data-disk or nic value reads back and writes out as stored. */
static void device_item(const char *key, const char *item)
{
	char *copy = strdup(item);
	if (!copy)
		return;
	const char *why = NULL;
	struct xp_buf b = XP_BUF_INIT;
	if (strcmp(key, "data-disk") == 0) {
		struct xp_data_disk dd;
		if (xp_data_disk_parse(copy, &dd, &why) != 0 || xp_data_disk_format(&dd, &b) != 0)
			abort();
	} else {
		struct xp_nic_spec n;
		if (xp_nic_parse(copy, &n, &why) != 0 || xp_nic_format(&n, &b) != 0)
			abort();
	}
	if (strcmp(xp_buf_str(&b), item) != 0)
		abort();
	xp_buf_release(&b);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lists[] = {"data-disk", "nic", "copy-in", "write",
					    "firstboot-command"};
	if (size > 8192)
		return 0;
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (strlen(s) != size) { /* a NUL: no command line or JSON value holds one */
		free(s);
		return 0;
	}
	char *eq = strchr(s, '=');
	const char *key, *value;
	if (eq) {
		*eq = '\0';
		key = s;
		value = eq + 1;
	} else {
		key = size ? lists[(unsigned char)s[0] % 5] : lists[0];
		value = size ? s + 1 : s;
	}

	struct xp_diags d;
	xp_diags_init(&d);
	char *out = NULL;
	int r = xp_profile_check(key, value, &out, &d);
	if (r == 0) {
		char *again = NULL;
		if (xp_profile_check(key, out, &again, NULL) != 0 || strcmp(again, out) != 0)
			abort();
		free(again);
		if (xp_profile_key_list(key)) {
			char **items;
			size_t n;
			if (xp_profile_list_items(key, out, &items, &n) != 0)
				abort();
			for (size_t i = 0; i < n; i++)
				if (strcmp(key, "data-disk") == 0 || strcmp(key, "nic") == 0)
					device_item(key, items[i]);
			/* the first item, added alone, is stored as the check stored it */
			if (n) {
				struct xp_settings st = {0};
				if (xp_profile_list_add(&st, key, items[0], NULL) != 0)
					abort();
				const char *one = xp_settings_get(&st, key);
				size_t len = strcspn(out, "\n");
				if (strlen(one) != len || strncmp(one, out, len) != 0)
					abort();
				xp_settings_release(&st);
			}
			xp_profile_list_free(items, n);
		}
		free(out);
	} else if (r != -ENOMEM && d.n == 0) {
		abort(); /* a refusal always says why */
	}
	xp_diags_release(&d);
	free(s);
	return 0;
}
