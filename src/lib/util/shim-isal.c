/*
 * shim-isal.c - ISA-L loaded at the first call of one of its functions (util/dlib.h,
 * struct xp_dlshim), as libarchive is (util/shim-archive.c): only a tar.gz read uses its
 * inflate (image/archive-src.c), so no other start of xenprov maps it. Unlike the other
 * shims' libraries it is optional: xp_isal_available() loads it without ending the
 * process, and a reader without it leaves gzip to libarchive's own filter.
 *
 * Not here: the inflate itself (image/archive-src.c).
 */
#ifdef XP_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#include <pthread.h>
#include <stdbool.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)); XV: the same for a void function */
#define XP_ISAL_FUNCS(X, XV)                                                                       \
	XV(void, isal_inflate_init, (struct inflate_state * a), (a))                               \
	XV(void, isal_inflate_reset, (struct inflate_state * a), (a))                              \
	X(int, isal_inflate, (struct inflate_state * a), (a))

static struct {
	XP_ISAL_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
} fn;

static const struct xp_dlsym syms[] = {XP_ISAL_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM)};

static const struct xp_dlshim lib = {
    .soname = XP_LIBISAL_SONAME,
    .package = "libisal2",
    .syms = syms,
    .n = sizeof(syms) / sizeof(syms[0]),
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

static void load(void)
{
	char err[256];
	loaded = xp_dlib_load(lib.soname, lib.syms, lib.n, err, sizeof(err)) == 0;
}

bool xp_isal_available(void)
{
	pthread_once(&once, load);
	return loaded;
}

/* called only after xp_isal_available(): the fatal load is what is left otherwise */
#undef XP_DLSHIM_LOAD
#define XP_DLSHIM_LOAD()                                                                           \
	do {                                                                                       \
		if (!xp_isal_available())                                                          \
			xp_dlib_need(&lib);                                                        \
	} while (0)

XP_ISAL_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)
#endif
