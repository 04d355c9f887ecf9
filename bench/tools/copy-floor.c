/*
 * copy-floor.c - xp-copy-floor DIR FILE...: the floor of a local boot's time, what any
 * bootloader that must write the kernel and initrd pays: each FILE (already extracted,
 * in the page cache) copied into a new file of DIR the way xenprov-pxeboot copies them
 * out of an image (an unnamed O_TMPFILE, xp_copy_reserve and xp_copy_range:
 * fallocate, then copy_file_range, else sendfile, in the kernel; then linkat to
 * DIR/floor.N), in a process as small as one can be (libc only). Prints the names it
 * made. Used by bench/bootloader.sh; not installed.
 *
 * Not here: reading an image, a filesystem or a boot config: that is exactly what the
 * floor leaves out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/copy.h"

int main(int argc, char **argv)
{
	if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs("usage: xp-copy-floor DIR FILE...\n", argc < 3 ? stderr : stdout);
		return argc < 3 ? 2 : 0;
	}
	for (int i = 2; i < argc; i++) {
		int src = open(argv[i], O_RDONLY | O_CLOEXEC);
		if (src < 0) {
			fprintf(stderr, "xp-copy-floor: cannot open '%s': %s\n", argv[i],
				strerror(errno));
			return 1;
		}
		int dst = open(argv[1], O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		struct stat st;
		int r =
		    dst < 0 || fstat(src, &st) < 0 ? -errno : xp_copy_reserve(dst, 0, st.st_size);
		if (r == 0)
			r = xp_copy_range(src, 0, dst, 0, st.st_size, 0);
		char proc[64], name[4096];
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dst);
		snprintf(name, sizeof(name), "%s/floor.%d", argv[1], i - 1);
		if (r == 0 && linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) < 0)
			r = -errno;
		if (r < 0) {
			fprintf(stderr, "xp-copy-floor: cannot copy '%s' into '%s': %s\n", argv[i],
				argv[1], strerror(-r));
			return 1;
		}
		puts(name);
		close(dst);
		close(src);
	}
	return 0;
}
