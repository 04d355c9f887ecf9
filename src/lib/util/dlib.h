/*
 * dlib.h - a shared library loaded at run time (dlopen) and its functions resolved, for
 * the libraries most commands never use and that would otherwise be linked into every
 * start of xenprov with their own dependencies: libcurl (util/http-client.c), libpq
 * (inventory/db-pgsql.c) and libmicrohttpd (net/http.c). Each caller keeps a struct of
 * function pointers typed by the library's own header (`__typeof__(fn) *`) and loads it
 * once a process (pthread_once).
 *
 * Not part of the public API. Not here: when to load (the callers, at first use), what
 * to tell the user to install (the callers' diagnostics).
 */
#ifndef XP_UTIL_DLIB_H
#define XP_UTIL_DLIB_H

#include <stddef.h>

/* One function to resolve: its name and where its address goes (a pointer to one of
 * the caller's function pointers). */
struct xp_dlsym {
	const char *name;
	void *to;
};

/* The entry for function fn into ptr, which must be of fn's type (`__typeof__(fn) *`):
 * another is a compiler warning (a pointer type mismatch), so that a name cannot be
 * paired with another function's pointer. */
#define XP_DLSYM(fn, ptr)                                                                          \
	{                                                                                          \
		.name = #fn, .to = 1 ? &(ptr) : (__typeof__(fn) **)0                               \
	}

/* Loads soname (RTLD_NOW | RTLD_LOCAL; it stays loaded) and stores the address of each
 * of syms[0..n) in its .to. Returns 0, or -ENOENT with err (errlen bytes) saying why
 * (the loader's message, or which function the library lacks): the pointers are not
 * to be used then. */
int xp_dlib_load(const char *soname, const struct xp_dlsym *syms, size_t n, char *err,
		 size_t errlen);

#endif
