/*
 * oracle.h - what the oracle tests share: Xen's libxlutil parser opened with what it
 * reports kept in memory, to compare with xenprov's diagnostics or show on a mismatch.
 * Header-only; include after cmocka.h and libxlutil.h.
 */
#ifndef XP_ORACLE_H
#define XP_ORACLE_H

#include <stdio.h>

/* A libxlutil parser (cfg) and its report, the text it wrote so far (report, len). */
struct oracle_xlu {
	XLU_Config *cfg;
	FILE *f;
	char *report;
	size_t len;
};

/* Opens o's parser for the config called name; fails the test if it cannot. */
static inline XLU_Config *oracle_xlu_open(struct oracle_xlu *o, const char *name)
{
	o->report = NULL;
	o->len = 0;
	o->f = open_memstream(&o->report, &o->len);
	assert_non_null(o->f);
	o->cfg = xlu_cfg_init(o->f, name);
	assert_non_null(o->cfg);
	return o->cfg;
}

/* What the parser has reported so far ("" for nothing); valid until it reports more. */
static inline const char *oracle_xlu_said(struct oracle_xlu *o)
{
	fflush(o->f);
	return o->len ? o->report : "";
}

/* Closes o's parser; its report (heap) is the caller's to free. */
static inline char *oracle_xlu_close(struct oracle_xlu *o)
{
	xlu_cfg_destroy(o->cfg);
	fclose(o->f);
	return o->report;
}

#endif
