/*
 * ssh-key.c - SSH public keys for root's authorized_keys: one key line checked (its
 * type, and that its base64 blob is an SSH key of that type), and the --ssh-key argument
 * of the commands resolved: either a key line itself or the path of a file of them
 * (id_*.pub, authorized_keys style).
 *
 * A key line is "TYPE BASE64 [COMMENT]" (sshd(8) "AUTHORIZED_KEYS FILE FORMAT", without
 * the options field); the blob starts with the type as an SSH string, a uint32 length
 * then the bytes (RFC 4253 section 6.6, RFC 4251 section 5).
 *
 * Not here: writing the keys into a guest (image/guest-edit.c), profile values
 * (profile.c, which calls xp_ssh_key_check for ssh-key).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xenprov/inventory.h"

static const char *const key_types[] = {
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    NULL,
};

/* Decodes the base64 text s[0..n) (RFC 4648 section 4, strictly: xp_base64_decode) and
 * copies its first bytes (up to cap) to out: how many, or -1 if s is not base64. */
static long b64_head(const char *s, size_t n, unsigned char *out, size_t cap)
{
	if (n == 0)
		return -1;
	unsigned char *all = malloc(XP_BASE64_DECODED_MAX(n));
	ssize_t got = all ? xp_base64_decode(s, n, all) : -1;
	long r = got < 0 ? -1 : got > (ssize_t)cap ? (long)cap : (long)got;
	if (r > 0)
		memcpy(out, all, (size_t)r);
	free(all);
	return r;
}

int xp_ssh_key_check(const char *line, size_t len)
{
	const char *end = line + len, *sp = memchr(line, ' ', len);
	for (const char *p = line; p < end; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	if (!sp)
		return -EINVAL;
	size_t tlen = (size_t)(sp - line);
	bool known = false;
	for (const char *const *t = key_types; *t; t++)
		known |= strlen(*t) == tlen && strncmp(*t, line, tlen) == 0;
	if (!known)
		return -EINVAL;
	const char *blob = sp + 1, *bend = memchr(blob, ' ', (size_t)(end - blob));
	if (!bend)
		bend = end;
	unsigned char head[64];
	long n = b64_head(blob, (size_t)(bend - blob), head, sizeof(head));
	if (n < 4 + (long)tlen)
		return -EINVAL;
	unsigned long slen = (unsigned long)head[0] << 24 | (unsigned long)head[1] << 16 |
			     (unsigned long)head[2] << 8 | head[3];
	if (slen != tlen || memcmp(head + 4, line, tlen) != 0)
		return -EINVAL;
	return 0;
}

/* Appends the key lines of text (blank lines and '#' comments skipped, each line's
 * surrounding blanks trimmed) to out, one per line; -EINVAL at the first line that is
 * not a key (*bad_line: its 1-based number), -ENOENT if there is none. */
static int key_lines(char *text, struct xp_buf *out, unsigned *bad_line)
{
	unsigned lineno = 0, keys = 0;
	char *save = NULL;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		lineno++;
		size_t n = strlen(l);
		while (n > 0 && strchr(" \t\r", l[n - 1]))
			l[--n] = 0;
		l += strspn(l, " \t");
		if (!*l || *l == '#')
			continue;
		if (xp_ssh_key_check(l, strlen(l)) < 0) {
			*bad_line = lineno;
			return -EINVAL;
		}
		xp_buf_addf(out, "%s%s", keys ? "\n" : "", l);
		keys++;
	}
	return keys ? 0 : -ENOENT;
}

#define KEY_FORMS                                                                            \
	"an SSH public key line (\"ssh-ed25519 AAAA... comment\", ecdsa-sha2-..., ssh-rsa, " \
	"sk-...) or the path of a file of them (id_ed25519.pub)"

int xp_ssh_key_arg(const char *arg, char **out, struct xp_diags *d)
{
	*out = NULL;
	struct xp_buf b = XP_BUF_INIT;
	int r;
	/* a key line: begins with a key type and a blank */
	bool looks_like_key = false;
	for (const char *const *t = key_types; *t; t++)
		looks_like_key |=
		    strncmp(arg, *t, strlen(*t)) == 0 && (arg[strlen(*t)] == ' ');
	struct stat st;
	if (looks_like_key || stat(arg, &st) < 0) {
		if (!looks_like_key) {
			xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "ssh-key", NULL, KEY_FORMS,
				     "ssh-key: '%.200s%s' is neither an existing file nor an SSH "
				     "public key line",
				     arg, strlen(arg) > 200 ? "..." : "");
			return -EINVAL;
		}
		char *copy = strdup(arg);
		if (!copy)
			return -ENOMEM;
		unsigned line = 0;
		r = key_lines(copy, &b, &line);
		free(copy);
		if (r < 0) {
			xp_buf_release(&b);
			xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, "ssh-key", NULL, KEY_FORMS,
				     "ssh-key: not an SSH public key (a known type followed by "
				     "the key's base64 blob of that type)");
			return -EINVAL;
		}
	} else {
		char *data = NULL;
		size_t len = 0;
		r = S_ISDIR(st.st_mode) ? -EISDIR : xp_read_file(arg, 1 << 20, &data, &len);
		if (r < 0) {
			xp_diags_add(d, XP_SEV_ERROR, arg, 0, 0, "ssh-key", NULL, NULL,
				     "ssh-key: cannot read the key file: %s",
				     r == -EFBIG ? "too big for a key file" : strerror(-r));
			return r == -EFBIG ? -EINVAL : r;
		}
		unsigned line = 0;
		r = memchr(data, 0, len) ? -EINVAL : key_lines(data, &b, &line);
		free(data);
		if (r < 0) {
			xp_buf_release(&b);
			if (r == -ENOENT)
				xp_diags_add(d, XP_SEV_ERROR, arg, 0, 0, "ssh-key", NULL, KEY_FORMS,
					     "ssh-key: the file holds no key");
			else if (line)
				xp_diags_add(d, XP_SEV_ERROR, arg, line, 0, "ssh-key", NULL,
					     KEY_FORMS,
					     "ssh-key: line %u is not an SSH public key", line);
			else
				xp_diags_add(d, XP_SEV_ERROR, arg, 0, 0, "ssh-key", NULL,
					     KEY_FORMS, "ssh-key: not a text file of SSH keys");
			return -EINVAL;
		}
	}
	if (xp_buf_error(&b)) {
		xp_buf_release(&b);
		return -ENOMEM;
	}
	*out = strdup(xp_buf_str(&b));
	xp_buf_release(&b);
	return *out ? 0 : -ENOMEM;
}
