/*
 * shim-crypt.c - libxcrypt loaded at the first call of one of its functions (util/dlib.h,
 * struct xp_dlshim), as libarchive is (util/shim-archive.c): only a root password given
 * to a profile is hashed (cmd/cmd-profile.c), so no other start of xenprov maps it.
 *
 * Not here: the hashing (cmd/cmd-profile.c).
 */
#include <crypt.h>
#include <pthread.h>

#include "util/dlib.h"

/* X(return type, name, (parameters), (arguments)) */
#define XP_CRYPT_FUNCS(X, XV)                                                                      \
	X(char *, crypt_r, (const char *a, const char *b, struct crypt_data *__restrict c),        \
	  (a, b, c))                                                                               \
	X(char *, crypt_gensalt_rn,                                                                \
	  (const char *a, unsigned long b, const char *c, int d, char *e, int f),                  \
	  (a, b, c, d, e, f))

static struct {
	XP_CRYPT_FUNCS(XP_DLSHIM_PTR, XP_DLSHIM_PTR)
} fn;

static const struct xp_dlsym syms[] = {XP_CRYPT_FUNCS(XP_DLSHIM_SYM, XP_DLSHIM_SYM)};

XP_DLSHIM_LIBRARY(XP_LIBXCRYPT_SONAME, "libcrypt1")

XP_CRYPT_FUNCS(XP_DLSHIM_RET, XP_DLSHIM_VOID)
