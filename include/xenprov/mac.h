/*
 * xenprov/mac.h - Ethernet (IEEE 802 MAC-48) addresses: parsing, printing, the
 * multicast/local/zero tests that `config check` lints with, and generation of a random
 * address inside a prefix (Xen's OUI 00:16:3e, a site's own OUI, or a locally
 * administered address) from a random source the caller supplies.
 *
 * Code: src/lib/util/mac.c, but xp_mac_parse_xl (xl's own spelling) in src/lib/xl/mac-xl.c.
 *
 * Not here: where addresses come from in an xl config (xl-vif.h) or any I/O. There is no
 * global state; the random source is a callback.
 *
 * Two readers, because xl is more lenient than the documented syntax:
 *  - xp_mac_parse is the strict form of xl-network-configuration(5): six groups of two
 *    hex digits separated by ':' (or, as a courtesy, all by '-').
 *  - xp_mac_parse_xl reads an address exactly the way xl's parse_nic_config reads the
 *    value of `mac=` (six strtoul(..., 16) calls, each followed by any one separator
 *    character, trailing text ignored), so callers can tell "xl rejects this" from "xl
 *    accepts this but it is not the canonical form".
 *
 * Conventions (shared/DESIGN.md section 6): >= 0 success, -errno failure.
 */
#ifndef XENPROV_MAC_H
#define XENPROV_MAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xp_mac {
	uint8_t b[6];
};

/* Length of "xx:xx:xx:xx:xx:xx" without the NUL. */
#define XP_MAC_STRLEN 17

/* Xen's Organizationally Unique Identifier, the prefix libxl generates addresses in. */
#define XP_MAC_XEN_OUI_0 0x00
#define XP_MAC_XEN_OUI_1 0x16
#define XP_MAC_XEN_OUI_2 0x3e

/* Strict parse of "xx:xx:xx:xx:xx:xx" or "xx-xx-xx-xx-xx-xx" (one separator kind
 * throughout, exactly two hex digits per group, either case, nothing before or after).
 * Returns 0, or -EINVAL (out untouched). */
int xp_mac_parse(const char *s, struct xp_mac *out);

/* Reads s the way xl's `mac=` does. Returns:
 *   0        the strict form (xp_mac_parse would accept it too);
 *   1        xl accepts it but it is not the strict form (single-digit groups, other
 *            separators, "0x" prefixes, leading blanks or signs, text after the sixth
 *            group, groups that wrap to <= 0xff through xl's unsigned int truncation);
 *            out holds what xl would store;
 *  -EINVAL   xl rejects it ("Invalid parameter `mac'"): a group that is not a number or
 *            exceeds 0xff;
 *  -EBADMSG  fewer than six groups: xl would read past the end of the string (undefined
 *            behaviour there), so xenprov refuses it.
 * On failure *errpos (if not NULL) is the byte offset in s of the offending group and out
 * is untouched. */
int xp_mac_parse_xl(const char *s, struct xp_mac *out, size_t *errpos);

/* Parses a MAC prefix "xx[:xx...]" (or '-' separators) of 1-5 octets into out and its
 * length into *len. -EINVAL if malformed or the first octet has the multicast bit. */
int xp_mac_prefix_parse(const char *s, uint8_t out[5], size_t *len);

/* Writes lowercase "xx:xx:xx:xx:xx:xx" and a NUL into buf (XP_MAC_STRLEN + 1 bytes),
 * the form libxl prints. Returns buf. */
char *xp_mac_format(const struct xp_mac *m, char buf[XP_MAC_STRLEN + 1]);

/* Group (multicast/broadcast) bit: bit 0 of the first octet. A guest NIC must not have it. */
bool xp_mac_is_multicast(const struct xp_mac *m);
/* ff:ff:ff:ff:ff:ff. */
bool xp_mac_is_broadcast(const struct xp_mac *m);
/* 00:00:00:00:00:00, which libxl reads as "not set: generate one". */
bool xp_mac_is_zero(const struct xp_mac *m);
/* Locally administered bit: bit 1 of the first octet. */
bool xp_mac_is_local(const struct xp_mac *m);
/* In Xen's OUI 00:16:3e. */
bool xp_mac_is_xen_oui(const struct xp_mac *m);
/* memcmp order, for sorting and duplicate detection. */
int xp_mac_cmp(const struct xp_mac *a, const struct xp_mac *b);

/* A source of random bytes: fills buf with len bytes, returns 0 or -errno. Tests pass a
 * deterministic one; programs pass one over getrandom(2). */
typedef int (*xp_random_fn)(void *userdata, void *buf, size_t len);

/* Generates a unicast address that starts with the prefix_len bytes of prefix and whose
 * remaining bytes come from rnd.
 *  - prefix_len 0: a random locally administered unicast address (the strategy
 *    xl-network-configuration(5) recommends: first octet xxxxxx10).
 *  - prefix_len 1..5: the prefix is kept as given; its first octet must not have the
 *    multicast bit (-EINVAL otherwise).
 * prefix_len > 5 is -EINVAL. rnd's error is returned as is. Never produces the all-zero
 * address (which libxl would replace): on that one-in-2^k chance it draws again, up to a
 * bound, then returns -EAGAIN. */
int xp_mac_random(struct xp_mac *out, const uint8_t *prefix, size_t prefix_len, xp_random_fn rnd,
		  void *userdata);
/* xp_mac_random with Xen's OUI 00:16:3e, the way libxl picks addresses. */
int xp_mac_random_xen(struct xp_mac *out, xp_random_fn rnd, void *userdata);

#endif
