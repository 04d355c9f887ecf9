/*
 * dlib.c - a shared library loaded at run time and its functions resolved (util/dlib.h):
 * the one loop libcurl's, libpq's and libmicrohttpd's loaders share.
 *
 * Not here: when each is loaded and the diagnostics (the callers).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/dlib.h"

int xp_dlib_load(const char *soname, const struct xp_dlsym *syms, size_t n, char *err,
		 size_t errlen)
{
	void *so = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		const char *m = dlerror();
		snprintf(err, errlen, "%s", m ? m : soname);
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		void *f = dlsym(so, syms[i].name);
		if (!f) {
			snprintf(err, errlen, "%s has no %s", soname, syms[i].name);
			dlclose(so);
			return -ENOENT;
		}
		/* POSIX: a function's address from dlsym; memcpy, as ISO C has no
		 * conversion from void * to a function pointer */
		memcpy(syms[i].to, &f, sizeof(f));
	}
	return 0;
}

void xp_dlib_need(const struct xp_dlshim *lib)
{
	char err[512];
	if (xp_dlib_load(lib->soname, lib->syms, lib->n, err, sizeof(err)) == 0)
		return;
	/* no stdio lock games: the message is one write, then the process ends at once
	 * (other threads may be inside anything; nothing half-written is committed by
	 * ending, as by a kill) */
	char msg[1024];
	int len = snprintf(msg, sizeof(msg),
			   "xenprov: error: cannot load %s, which this command needs: %s\n"
			   "  hint: apt-get install %s\n",
			   lib->soname, err, lib->package);
	if (len > 0)
		(void)!write(STDERR_FILENO, msg,
			     (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1);
	_exit(127);
}
