/*
 * dlib.h - a shared library loaded at run time (dlopen) and its functions resolved, for
 * the libraries most commands never use and that would otherwise be linked into every
 * start of xenprov with their own dependencies: libcurl (util/http-client.c), libpq
 * (inventory/db-pgsql.c), libmicrohttpd (net/http.c) and libcrypto (util/sha256.c, where
 * the CPU has no SHA extensions), each caller with a struct of function pointers typed
 * by the library's own header (`__typeof__(fn) *`), loaded once a process
 * (pthread_once); and, behind shims that keep their callers' code as it is (plain
 * calls by the library's names), libarchive, ISA-L, libxcrypt, libext2fs, libfdisk and
 * SQLite (util/shim-*.c).
 *
 * Not part of the public API. Not here: when to load (the callers, at first use), what
 * to tell the user to install (the callers' diagnostics; a shim's library names its
 * package in its struct xp_dlshim, and xp_dlib_need says it).
 */
#ifndef XP_UTIL_DLIB_H
#define XP_UTIL_DLIB_H

#include <stdbool.h>
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

/* A library loaded behind a shim (util/shim-*.c): xenprov's own definitions of the
 * library's functions, by the same names and types (the library's header declares them,
 * so the compiler checks each), which load it at the first call and forward to it. For
 * libraries a command cannot do without once it needs them (libarchive for a tarball,
 * libxcrypt for a password hash) but most starts of xenprov never touch: linked, their
 * files would be mapped and relocated at every start (libarchive brings libxml2, ICU and
 * libstdc++: ~20 ms of a start with the page cache cold). */
struct xp_dlshim {
	const char *soname;  /* as CMake read it from the library built against */
	const char *package; /* the Debian package that has it, for the diagnostic */
	const struct xp_dlsym *syms;
	size_t n;
};

/* Loads lib and resolves every function, or ends the process (status 127, as a shell
 * for a program it cannot run) with a diagnostic naming the library and its package:
 * what the dynamic loader does at start for a linked library that is missing, only at
 * the first use and for the commands that need it. For a shim's pthread_once. */
void xp_dlib_need(const struct xp_dlshim *lib);

/* The parts of a shim, from an X-macro list of the functions it forwards, each
 * X(return type, name, (parameters), (arguments)); functions returning void go in the
 * list's second column (XV). A shim file defines `fn` (XP_DLSHIM_PTR of each), `syms`
 * (XP_DLSHIM_SYM of each), its library (XP_DLSHIM_LIBRARY), then the functions
 * (XP_DLSHIM_RET, XP_DLSHIM_VOID). The definitions are weak: a test program may define one of the
 * functions itself to inject a failure (unit/test-partition.c, which reaches the real
 * one with dlsym(RTLD_NEXT): it links the library). */
/* The library of a shim (after its `syms`): `lib`, and its load once a process, fatal
 * (xp_dlib_need), which XP_DLSHIM_LOAD() runs. */
#define XP_DLSHIM_LIBRARY(soname_, package_)                                                       \
	static const struct xp_dlshim lib = {                                                      \
	    .soname = (soname_),                                                                   \
	    .package = (package_),                                                                 \
	    .syms = syms,                                                                          \
	    .n = sizeof(syms) / sizeof(syms[0]),                                                   \
	};                                                                                         \
	static pthread_once_t once = PTHREAD_ONCE_INIT;                                            \
	static void load(void)                                                                     \
	{                                                                                          \
		xp_dlib_need(&lib);                                                                \
	}
#define XP_DLSHIM_LOAD() pthread_once(&once, load)

#define XP_DLSHIM_PTR(r, name, params, args) __typeof__(name) *name;
#define XP_DLSHIM_SYM(r, name, params, args) XP_DLSYM(name, fn.name),
#define XP_DLSHIM_RET(r, name, params, args)                                                       \
	__attribute__((weak)) r name params                                                        \
	{                                                                                          \
		XP_DLSHIM_LOAD();                                                                  \
		return fn.name args;                                                               \
	}
#define XP_DLSHIM_VOID(r, name, params, args)                                                      \
	__attribute__((weak)) void name params                                                     \
	{                                                                                          \
		XP_DLSHIM_LOAD();                                                                  \
		fn.name args;                                                                      \
	}

/* The shimmed libraries' sonames: CMake reads each from the library built against
 * (readelf -d); these if it could not. */
#ifndef XP_LIBARCHIVE_SONAME
#define XP_LIBARCHIVE_SONAME "libarchive.so.13"
#endif
#ifndef XP_LIBISAL_SONAME
#define XP_LIBISAL_SONAME "libisal.so.2"
#endif
#ifndef XP_LIBXCRYPT_SONAME
#define XP_LIBXCRYPT_SONAME "libcrypt.so.1"
#endif
#ifndef XP_LIBEXT2FS_SONAME
#define XP_LIBEXT2FS_SONAME "libext2fs.so.2"
#endif
#ifndef XP_LIBFDISK_SONAME
#define XP_LIBFDISK_SONAME "libfdisk.so.1"
#endif
#ifndef XP_LIBSQLITE3_SONAME
#define XP_LIBSQLITE3_SONAME "libsqlite3.so.0"
#endif
/* not a shim: util/sha256.c's libcrypto, loaded where the CPU has no SHA extensions */
#ifndef XP_LIBCRYPTO_SONAME
#define XP_LIBCRYPTO_SONAME "libcrypto.so.3"
#endif

/* Whether ISA-L could be loaded (util/shim-isal.c; loaded then, once a process, never
 * fatally): a tar.gz is inflated by it, else by libarchive's gzip filter. */
bool xp_isal_available(void);

/* libext2fs's unix_io_manager, a variable of the library (util/shim-ext2fs.c), loaded
 * with it: for `unix_io_manager` in xenprov's code. */
struct struct_io_manager;
struct struct_io_manager *xp_unix_io_manager(void);

/* Loads soname (RTLD_NOW | RTLD_LOCAL; it stays loaded) and stores the address of each
 * of syms[0..n) in its .to. Returns 0, or -ENOENT with err (errlen bytes) saying why
 * (the loader's message, or which function the library lacks): the pointers are not
 * to be used then. */
int xp_dlib_load(const char *soname, const struct xp_dlsym *syms, size_t n, char *err,
		 size_t errlen);

#endif
