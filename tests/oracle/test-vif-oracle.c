/*
 * test-vif-oracle.c - xenprov's vif reading against Xen's own code (Debian libxen-dev):
 *  - xp_vif_parse_rate against libxlutil's xlu_vif_parse_rate on valid and invalid rate
 *    strings: same acceptance, same error class, same bytes_per_interval and
 *    interval_usecs;
 *  - xp_vif_to_json against libxl_device_nic_to_json on a libxl_device_nic filled from
 *    xenprov's parse: same field names, order and value spellings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <libxl.h>
#include <libxlutil.h>

#include "xenprov/xl-vif.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const rates[] = {
    /* valid, every unit */
    "1B/s",
    "1b/s",
    "7b/s",
    "8b/s",
    "9b/s@1s",
    "16000000b/s",
    "16000000b/s@50ms",
    "2000000B/s",
    "2000000B/s@50ms",
    "16Kb/s",
    "16Kb/s@50ms",
    "2KB/s",
    "2KB/s@50ms",
    "16Mb/s",
    "16Mb/s@50ms",
    "2MB/s",
    "2MB/s@50ms",
    "8Gb/s",
    "8Gb/s@50ms",
    "1GB/s",
    "1GB/s@50ms",
    "80Mb/s@1s",
    "10MB/s@1s",
    "1MB/s@20ms",
    "250KB/s",
    "10Mb/s",
    "1MB/s@20000us",
    "1MB/s@20000u",
    "1MB/s@20m",
    "1MB/s@2",
    "1MB/s@1us",
    "1B/s@4294967295us",
    "1B/s@4294967ms",
    "1B/s@4294s",
    "4294967295B/s",
    "4294967295b/s",
    "4294967295Kb/s",
    "4294967295GB/s@4us",
    "4294967295Gb/s@1s",
    "3Gb/s@7us",
    "12345B/s@33333us",
    "100Mb/s@100ms",
    /* octal and cut-short numbers (strtoull base 0) */
    "010B/s@1s",
    "019B/s@1s",
    "019Kb/s@1s",
    "0019b/s@1s",
    "07MB/s",
    "1B/s@010ms",
    "1MB/s@019ms",
    "1MB/s@08s",
    "0777GB/s@1us",
    /* invalid */
    "",
    "@",
    "@50ms",
    "foo",
    "10MB",
    "10MB/m",
    "10ZB",
    "10ZB/s",
    "10ZB/m",
    "10kB/s",
    "10MB/s ",
    " 10MB/s",
    "0x10B/s",
    "MB/s",
    "10MBs",
    "10MB//s",
    "10MB/S",
    "-1MB/s",
    "+1MB/s",
    "0B/s",
    "08B/s",
    "09Mb/s",
    "00B/s",
    "4294967296b/s",
    "4294967296Kb/s",
    "4294967296Mb/s",
    "4294967296Gb/s",
    "99999999999999999999999B/s",
    "184467440737095516160B/s",
    "10Mb/s@foo",
    "10Mb/s@10h",
    "10MB/s@foo",
    "10MB/s@10h",
    "10MB/s@",
    "10MB/s@50ms@1s",
    "10MB/s@ms",
    "10MB/s@5mus",
    "10MB/s@5sm",
    "10MB/s@ 5ms",
    "10MB/s@5ms ",
    "1B/s@0us",
    "1B/s@0",
    "1B/s@00ms",
    "1B/s@4294967296us",
    "1B/s@4294968ms",
    "1B/s@4295s",
    "1B/s@99999999999999999999999",
    "4294967295GB/s@5us",
    "4296MB/s@4294s",
    "4294967295GB/s@1s",
};

static void test_rates(void **state)
{
	(void)state;
	FILE *devnull = fopen("/dev/null", "w");
	assert_non_null(devnull);
	XLU_Config *cfg = xlu_cfg_init(devnull, "oracle");
	assert_non_null(cfg);
	size_t ok = 0, bad = 0;
	for (size_t i = 0; i < N(rates); i++) {
		libxl_device_nic nic;
		libxl_device_nic_init(&nic);
		nic.rate_bytes_per_interval = 11;
		nic.rate_interval_usecs = 22;
		/* libxlutil tests errno after strtoull without clearing it first. */
		errno = 0;
		int xr = xlu_vif_parse_rate(cfg, rates[i], &nic);
		uint64_t bpi = 11;
		uint32_t us = 22;
		int r = xp_vif_parse_rate(rates[i], &bpi, &us);
		print_message("rate '%s': xlu %d (%llu, %u), xenprov %d (%llu, %u)\n", rates[i], xr,
			      (unsigned long long)nic.rate_bytes_per_interval,
			      nic.rate_interval_usecs, r, (unsigned long long)bpi, us);
		assert_int_equal(r, -xr);
		assert_int_equal(bpi, nic.rate_bytes_per_interval);
		assert_int_equal(us, nic.rate_interval_usecs);
		if (r == 0)
			ok++;
		else
			bad++;
		libxl_device_nic_dispose(&nic);
	}
	print_message("%zu rates compared: %zu accepted, %zu rejected\n", N(rates), ok, bad);
	assert_true(N(rates) >= 60 && ok >= 30 && bad >= 30);
	xlu_cfg_destroy(cfg);
	fclose(devnull);
}

/* ---- JSON ------------------------------------------------------------------------- */

struct str_map {
	size_t xp, lx;
};

#define M(f)                                                                                       \
	{                                                                                          \
		offsetof(struct xp_vif, f), offsetof(libxl_device_nic, f)                          \
	}

static const struct str_map strings[] = {
    M(backend_domname),
    M(model),
    M(ip),
    M(bridge),
    M(ifname),
    M(script),
    M(gatewaydev),
    M(coloft_forwarddev),
    M(colo_sock_mirror_id),
    M(colo_sock_mirror_ip),
    M(colo_sock_mirror_port),
    M(colo_sock_compare_pri_in_id),
    M(colo_sock_compare_pri_in_ip),
    M(colo_sock_compare_pri_in_port),
    M(colo_sock_compare_sec_in_id),
    M(colo_sock_compare_sec_in_ip),
    M(colo_sock_compare_sec_in_port),
    M(colo_sock_compare_notify_id),
    M(colo_sock_compare_notify_ip),
    M(colo_sock_compare_notify_port),
    M(colo_sock_redirector0_id),
    M(colo_sock_redirector0_ip),
    M(colo_sock_redirector0_port),
    M(colo_sock_redirector1_id),
    M(colo_sock_redirector1_ip),
    M(colo_sock_redirector1_port),
    M(colo_sock_redirector2_id),
    M(colo_sock_redirector2_ip),
    M(colo_sock_redirector2_port),
    M(colo_filter_mirror_queue),
    M(colo_filter_mirror_outdev),
    M(colo_filter_redirector0_queue),
    M(colo_filter_redirector0_indev),
    M(colo_filter_redirector0_outdev),
    M(colo_filter_redirector1_queue),
    M(colo_filter_redirector1_indev),
    M(colo_filter_redirector1_outdev),
    M(colo_compare_pri_in),
    M(colo_compare_sec_in),
    M(colo_compare_out),
    M(colo_compare_notify_dev),
    M(colo_sock_sec_redirector0_id),
    M(colo_sock_sec_redirector0_ip),
    M(colo_sock_sec_redirector0_port),
    M(colo_sock_sec_redirector1_id),
    M(colo_sock_sec_redirector1_ip),
    M(colo_sock_sec_redirector1_port),
    M(colo_filter_sec_redirector0_queue),
    M(colo_filter_sec_redirector0_indev),
    M(colo_filter_sec_redirector0_outdev),
    M(colo_filter_sec_redirector1_queue),
    M(colo_filter_sec_redirector1_indev),
    M(colo_filter_sec_redirector1_outdev),
    M(colo_filter_sec_rewriter0_queue),
    M(colo_checkpoint_host),
    M(colo_checkpoint_port),
};

/* 56 strings + the 9 other fields = libxl_device_nic in Xen 4.17. */
_Static_assert(N(strings) == 56, "every libxl_device_nic string field is mapped");

static void to_libxl(const struct xp_vif *v, libxl_device_nic *nic)
{
	libxl_device_nic_init(nic);
	nic->backend_domid = v->backend_domid;
	nic->devid = v->devid;
	nic->mtu = v->mtu;
	memcpy(nic->mac, v->mac.b, 6);
	nic->nictype = (libxl_nic_type)v->nictype;
	nic->rate_bytes_per_interval = v->rate_bytes_per_interval;
	nic->rate_interval_usecs = v->rate_interval_usecs;
	if (v->trusted != XP_TRI_DEFAULT)
		libxl_defbool_set(&nic->trusted, v->trusted == XP_TRI_TRUE);
	for (size_t i = 0; i < N(strings); i++) {
		const char *s = *(char *const *)((const char *)v + strings[i].xp);
		char **dst = (char **)((char *)nic + strings[i].lx);
		if (s) {
			*dst = strdup(s);
			assert_non_null(*dst);
		}
	}
}

/* Compact, order-preserving text of a JSON document, for an exact comparison. */
static char *normalise(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	if (!j)
		fail_msg("not JSON (%s): %s", err.text, text);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	assert_non_null(s);
	return s;
}

static const char *const specs[] = {
    "",
    "mac=00:16:3E:74:3d:76,model=rtl8139,bridge=xenbr0",
    "mac=00:16:3e:5f:48:e4,bridge=xenbr1",
    "bridge=xenbr1,type=vif,vifname=web0,script=vif-route,ip=10.0.0.2 10.0.0.3,"
    "gatewaydev=eth0,backend=driverdom,devid=3,mtu=9000",
    "type=ioemu,model=e1000",
    "rate=10Mb/s",
    "rate=1MB/s@20ms,mac=02:00:00:00:00:01",
    "rate=1b/s",
    "trusted",
    "untrusted,bridge=",
    "devid=0",
    "devid=-5,mtu=4294967297",
    "mtu=1500",
    "netdev=eth9",
    "bridge=a\"b\\c/d\te",
    "ip=fe80::1,script=/etc/xen/scripts/vif-nat",
    "mac=ff:ff:ff:ff:ff:fe,vifname=vif-long-name",
    "forwarddev=eth1,colo_sock_mirror_id=m1,colo_sock_mirror_ip=10.1.1.1,"
    "colo_sock_mirror_port=9003,colo_sock_compare_pri_in_id=c1,"
    "colo_sock_compare_pri_in_ip=10.1.1.1,colo_sock_compare_pri_in_port=9004,"
    "colo_sock_compare_sec_in_id=c2,colo_sock_compare_sec_in_ip=10.1.1.1,"
    "colo_sock_compare_sec_in_port=9005,colo_sock_compare_notify_id=n,"
    "colo_sock_compare_notify_ip=10.1.1.1,colo_sock_compare_notify_port=9009",
    "colo_sock_redirector0_id=r0,colo_sock_redirector0_ip=10.1.1.1,"
    "colo_sock_redirector0_port=9006,colo_sock_redirector1_id=r1,"
    "colo_sock_redirector1_ip=10.1.1.1,colo_sock_redirector1_port=9007,"
    "colo_sock_redirector2_id=r2,colo_sock_redirector2_ip=10.1.1.1,"
    "colo_sock_redirector2_port=9008",
    "colo_filter_mirror_queue=tx,colo_filter_mirror_outdev=mirror0,"
    "colo_filter_redirector0_queue=rx,colo_filter_redirector0_indev=red0,"
    "colo_filter_redirector0_outdev=red1,colo_filter_redirector1_queue=tx,"
    "colo_filter_redirector1_indev=red1,colo_filter_redirector1_outdev=red0,"
    "colo_compare_pri_in=pri,colo_compare_sec_in=sec,colo_compare_out=out,"
    "colo_compare_notify_dev=nd",
    "colo_sock_sec_redirector0_id=s0,colo_sock_sec_redirector0_ip=10.2.2.2,"
    "colo_sock_sec_redirector0_port=9100,colo_sock_sec_redirector1_id=s1,"
    "colo_sock_sec_redirector1_ip=10.2.2.2,colo_sock_sec_redirector1_port=9101,"
    "colo_filter_sec_redirector0_queue=rx,colo_filter_sec_redirector0_indev=a,"
    "colo_filter_sec_redirector0_outdev=b,colo_filter_sec_redirector1_queue=tx,"
    "colo_filter_sec_redirector1_indev=c,colo_filter_sec_redirector1_outdev=d,"
    "colo_filter_sec_rewriter0_queue=all,colo_checkpoint_host=10.3.3.3,"
    "colo_checkpoint_port=9200",
    "mac=00:16:3e:00:00:01,bridge=xenbr0,type=vif,model=virtio-net,vifname=v0,"
    "script=vif-bridge,ip=192.0.2.10,gatewaydev=eth0,backend=0,rate=100Mb/s@100ms,"
    "devid=7,mtu=1400,trusted",
};

/* libxl's JSON of v (converted to a libxl_device_nic) and xenprov's are the same. */
static void assert_json_alike(const struct xp_vif *v, const char *what)
{
	libxl_device_nic nic;
	to_libxl(v, &nic);
	char *theirs = libxl_device_nic_to_json(NULL, &nic);
	assert_non_null(theirs);
	struct xp_buf mine = XP_BUF_INIT;
	assert_int_equal(xp_vif_to_json(v, &mine), 0);
	char *a = normalise(theirs), *b = normalise(xp_buf_str(&mine));
	print_message("%s\n  libxl:   %s\n  xenprov: %s\n", what, a, b);
	assert_string_equal(b, a);
	free(a);
	free(b);
	free(theirs);
	xp_buf_release(&mine);
	libxl_device_nic_dispose(&nic);
}

static void test_json(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(specs); i++) {
		struct xp_vif v;
		assert_int_equal(xp_vif_parse(specs[i], &v, NULL), 0);
		assert_json_alike(&v, specs[i]);
		xp_vif_release(&v);
	}
}

/* Fields xl's parser never sets, and values only a program sets, print alike too. */
static void test_json_programmatic(void **state)
{
	(void)state;
	struct xp_vif v;
	xp_vif_init(&v);
	v.backend_domid = 5;
	v.devid = 0;
	v.mtu = -1;
	v.nictype = XP_NIC_TYPE_VIF_IOEMU;
	v.rate_bytes_per_interval = UINT64_C(1) << 40;
	v.rate_interval_usecs = UINT32_MAX;
	v.ip = strdup("\x01\x1f");
	v.trusted = XP_TRI_FALSE;
	assert_json_alike(&v, "set by a program");
	xp_vif_release(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rates),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_json_programmatic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
