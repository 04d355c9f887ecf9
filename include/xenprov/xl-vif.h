/*
 * xenprov/xl-vif.h - one `vif=` list item of an xl domain config, read the way xl reads
 * it (xl-network-configuration(5); tools/xl/xl_parse.c parse_nic_config;
 * tools/libs/util/libxlu_vif.c for rate=), written back canonically, and shown as the
 * JSON libxl_device_nic_to_json() would print.
 *
 * Not here: the config file around the spec (quoting, the list; see xl-config.h), MAC
 * syntax (mac.h), and the defaults libxl fills in later (bridge xenbr0, script
 * vif-bridge, a random 00:16:3e address...): a parsed spec holds what the spec says.
 *
 * The spec is a comma-separated list of KEY=VALUE tokens and the flags `trusted` and
 * `untrusted`. Like xl, xenprov splits on every ',' (empty tokens are skipped; a value can
 * never contain a comma), strips leading spaces (only spaces) from each token, keeps
 * everything else of the value verbatim (trailing blanks included), and lets the last of
 * repeated keys win.
 *
 * Diagnostics. Where xl (when it reads a domain config) prints a complaint and goes on,
 * xenprov adds a warning and goes on the same way: an unknown key or a token without
 * '=' (code "unknown-key"), `accel=` ("unsupported"), `netdev=` ("deprecated"),
 * `vlan=` ("newer-xen": Xen 4.19+; older xl ignore it), a repeated key ("duplicate-key"),
 * trailing blanks in a value ("trailing-space"), a MAC or number xl reads but that is not
 * in canonical form ("mac-form", "number-form"), multicast/zero MACs ("mac-multicast",
 * "mac-zero"). Where xl fails, xenprov adds an error: bad `rate=` ("bad-rate"), bad
 * `devid=`/`mtu=` ("bad-number"), and also bad `type=` and `mac=` ("bad-type",
 * "bad-mac"), which xl network-attach rejects but xl create only complains about (and
 * then uses a half-filled MAC). Every diagnostic carries the column of its token or
 * value (1-based, bytes) and the offending text.
 *
 * Input is bounded: a spec longer than XP_VIF_SPEC_MAX bytes is refused with -E2BIG.
 */
#ifndef XENPROV_XL_VIF_H
#define XENPROV_XL_VIF_H

#include <stdint.h>

#include "xenprov/mac.h"
#include "xenprov/util.h"

#define XP_VIF_SPEC_MAX 4096

/* libxl_nic_type, same numbers. */
enum xp_nic_type {
	XP_NIC_TYPE_UNKNOWN = 0,   /* not given: libxl decides (ioemu for HVM) */
	XP_NIC_TYPE_VIF_IOEMU = 1, /* type=ioemu */
	XP_NIC_TYPE_VIF = 2,	   /* type=vif */
};

/* libxl_defbool, as the trusted/untrusted flags set it. */
enum xp_tristate {
	XP_TRI_DEFAULT = 0,
	XP_TRI_TRUE,
	XP_TRI_FALSE,
};

/* libxl_device_nic's fields (Xen 4.17, plus vlan from 4.19), with libxl's names and
 * defaults. Strings are owned, NULL when not given ("" when given empty). */
struct xp_vif {
	uint32_t backend_domid; /* never set by a spec; 0 */
	char *backend_domname;	/* backend= */
	int devid;		/* devid=; -1 when not given (xl create then uses the list index) */
	int mtu;		/* mtu=; 0 when not given */
	char *vlan;		/* vlan= (Xen 4.19+), kept verbatim */
	char *model;		/* model= */
	struct xp_mac mac;	/* mac=; all zero when not given */
	char *ip;		/* ip= */
	char *bridge;		/* bridge= */
	char *ifname;		/* vifname= */
	char *script;		/* script= */
	enum xp_nic_type nictype;	  /* type= */
	uint64_t rate_bytes_per_interval; /* rate=; both 0 when not given */
	uint32_t rate_interval_usecs;
	char *gatewaydev;	 /* gatewaydev= (or the deprecated netdev=) */
	char *coloft_forwarddev; /* forwarddev= */
	char *colo_sock_mirror_id;
	char *colo_sock_mirror_ip;
	char *colo_sock_mirror_port;
	char *colo_sock_compare_pri_in_id;
	char *colo_sock_compare_pri_in_ip;
	char *colo_sock_compare_pri_in_port;
	char *colo_sock_compare_sec_in_id;
	char *colo_sock_compare_sec_in_ip;
	char *colo_sock_compare_sec_in_port;
	char *colo_sock_compare_notify_id;
	char *colo_sock_compare_notify_ip;
	char *colo_sock_compare_notify_port;
	char *colo_sock_redirector0_id;
	char *colo_sock_redirector0_ip;
	char *colo_sock_redirector0_port;
	char *colo_sock_redirector1_id;
	char *colo_sock_redirector1_ip;
	char *colo_sock_redirector1_port;
	char *colo_sock_redirector2_id;
	char *colo_sock_redirector2_ip;
	char *colo_sock_redirector2_port;
	char *colo_filter_mirror_queue;
	char *colo_filter_mirror_outdev;
	char *colo_filter_redirector0_queue;
	char *colo_filter_redirector0_indev;
	char *colo_filter_redirector0_outdev;
	char *colo_filter_redirector1_queue;
	char *colo_filter_redirector1_indev;
	char *colo_filter_redirector1_outdev;
	char *colo_compare_pri_in;
	char *colo_compare_sec_in;
	char *colo_compare_out;
	char *colo_compare_notify_dev;
	char *colo_sock_sec_redirector0_id;
	char *colo_sock_sec_redirector0_ip;
	char *colo_sock_sec_redirector0_port;
	char *colo_sock_sec_redirector1_id;
	char *colo_sock_sec_redirector1_ip;
	char *colo_sock_sec_redirector1_port;
	char *colo_filter_sec_redirector0_queue;
	char *colo_filter_sec_redirector0_indev;
	char *colo_filter_sec_redirector0_outdev;
	char *colo_filter_sec_redirector1_queue;
	char *colo_filter_sec_redirector1_indev;
	char *colo_filter_sec_redirector1_outdev;
	char *colo_filter_sec_rewriter0_queue;
	char *colo_checkpoint_host;
	char *colo_checkpoint_port;
	enum xp_tristate trusted; /* trusted / untrusted */
};

/* Sets the defaults above (devid -1, everything else zero/NULL). */
void xp_vif_init(struct xp_vif *v);
/* Frees the strings and re-initialises. Accepts an initialised or released struct. */
void xp_vif_release(struct xp_vif *v);

/* Parses one spec into *out (initialised here; the caller releases it on success; on
 * failure it is left released). diags may be NULL; messages get line 1 and the spec's
 * column. Returns 0 (possibly with warnings), -EBADMSG if any error was reported, -E2BIG
 * over XP_VIF_SPEC_MAX, -EINVAL for NULL arguments, -ENOMEM. */
int xp_vif_parse(const char *spec, struct xp_vif *out, struct xp_diags *diags);

/* The same, for a spec found in a file: diagnostics name file (may be NULL), line, and
 * columns counted from col, the column of the spec's first byte. */
int xp_vif_parse_at(const char *spec, struct xp_vif *out, struct xp_diags *diags, const char *file,
		    unsigned line, unsigned col);

/* The rate= value, with exactly libxlutil's arithmetic (xlu_vif_parse_rate): RATE/s or
 * RATE/s@INTERVAL. RATE matches [0-9]+[GMK]?[Bb]/s (B bytes, b bits; G/M/K powers of
 * 1000), INTERVAL matches [0-9]+[mu]?s? (s, ms, us; no unit means seconds), 50ms when
 * absent. Numbers are read like strtoull(..., 0), so a leading 0 means octal. The number
 * must be 1..2^32-1 before the unit is applied; the interval must fit 32 bits in
 * microseconds; bytes_per_interval = bytes_per_sec * interval_usecs / 1000000.
 * Returns 0 and sets both outputs, or -EINVAL (no rate, not matching the patterns) or
 * -EOVERFLOW (zero, too large, or bytes_per_sec * interval_usecs over 64 bits), outputs
 * untouched. */
int xp_vif_parse_rate(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs);

/* xp_vif_parse_rate that also explains a failure: *why (static string, xl's wording:
 * "no rate specified", "invalid rate", "rate overflow", "invalid replenishment
 * interval", "replenishment interval overflow") and *errpos, the byte offset in rate of
 * the part at fault. Either may be NULL. */
int xp_vif_parse_rate_ex(const char *rate, uint64_t *bytes_per_interval, uint32_t *interval_usecs,
			 const char **why, size_t *errpos);

/* A rate= value that parses back to exactly these numbers, in the largest units that
 * do ("2MB/s" or "1MB/s@20ms"; "@50ms" is left out). Appends to out. Returns 0, or
 * -EINVAL if no rate string yields them (interval 0 with bytes set, or bytes beyond
 * what 32-bit rates reach). */
int xp_vif_format_rate(uint64_t bytes_per_interval, uint32_t interval_usecs, struct xp_buf *out);

/* Appends the canonical spec for v: keys in a fixed order (mac, bridge, type, model,
 * vifname, script, ip, gatewaydev, backend, rate, devid, mtu, vlan, forwarddev, colo_*,
 * trusted/untrusted), only those set, so that xp_vif_parse gives back an identical
 * struct (backend_domid aside, which no spec can set). A negative devid or mtu is written
 * as the unsigned 32-bit number xl wraps to it (xl cannot read "-1"; the reader warns
 * about such numbers). This is the spec itself, not an xl config string literal (the
 * config writer quotes it). Returns 0, -EINVAL if v holds what no spec can say (a ','
 * in a string, a nictype or trusted value out of range, an impossible rate), or the
 * buffer's -ENOMEM. */
int xp_vif_format(const struct xp_vif *v, struct xp_buf *out);

/* Appends v as libxl_device_nic_to_json() would print it, in compact form: libxl's field
 * names and order, fields at their default left out, nictype as "vif"/"vif_ioemu",
 * mac as "xx:xx:xx:xx:xx:xx", trusted as "True"/"False". Returns 0 or -ENOMEM. */
int xp_vif_to_json(const struct xp_vif *v, struct xp_buf *out);

/* Tests two parsed specs for equality, field by field. */
bool xp_vif_equal(const struct xp_vif *a, const struct xp_vif *b);

#endif
