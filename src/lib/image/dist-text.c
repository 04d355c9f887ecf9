/*
 * dist-text.c - the text that images of distributions are made from: accepted
 * distributions and package names, the host's Debian mirror in its apt sources, a
 * suite's release date from its InRelease file, and the canonical name of such an image
 * for the cache. Pure functions over bytes (dist-text.h), so that the unit tests and
 * fuzz/fuzz-release.c and fuzz/fuzz-apt-sources.c call them as they are.
 *
 * Formats followed: sources.list(5) (the one-line style and deb822), deb822(5) for the
 * paragraphs of Release files, RFC 4880 section 7 for the clearsigned InRelease
 * (armor headers, dash-escaping), RFC 2822 section 3.3 for the date, which Debian's
 * archive writes as "Sat, 11 Jul 2026 10:16:37 UTC".
 *
 * Not here: fetching, running mmdebstrap, building (image-dist.c), the manifest
 * (dist-manifest.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/dist-text.h"

static const struct {
	const char *spec, *suite;
} dists[] = {
    {"debian:bookworm", "bookworm"},
    {"debian:trixie", "trixie"},
};

const char *xp_dist_suite(const char *spec)
{
	if (!spec)
		return NULL;
	for (size_t i = 0; i < sizeof(dists) / sizeof(dists[0]); i++)
		if (strcmp(spec, dists[i].spec) == 0)
			return dists[i].suite;
	return NULL;
}

/* ---- package names --------------------------------------------------------------- */

static bool lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool xp_dist_pkg_valid(const char *name, size_t len)
{
	if (len < 2 || len > XP_DIST_PKG_MAX || !lower_or_digit(name[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!lower_or_digit(name[i]) && name[i] != '+' && name[i] != '-' && name[i] != '.')
			return false;
	return true;
}

int xp_dist_pkgs_add(const char *list, const char *what, char ***v, size_t *n,
		     struct xp_diags *d)
{
	const char *p = list;
	for (;;) {
		size_t len = strcspn(p, ",");
		if (!xp_dist_pkg_valid(p, len)) {
			static const char hint[] = "Debian package names: lowercase letters, "
						   "digits, '+', '-', '.', separated by commas";
			if (d && len)
				xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, what, NULL, hint,
					     "%s: '%.*s' is not a package name", what,
					     (int)(len > 200 ? 200 : len), p);
			else if (d)
				xp_diags_add(d, XP_SEV_ERROR, NULL, 0, 0, what, NULL, hint,
					     "%s: an empty package name in '%.200s'", what, list);
			return -EINVAL;
		}
		char **nv = realloc(*v, (*n + 1) * sizeof(**v));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		if (!(nv[*n] = strndup(p, len)))
			return -ENOMEM;
		(*n)++;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void xp_dist_pkgs_sort(char **v, size_t *n)
{
	if (*n < 2)
		return;
	qsort(v, *n, sizeof(*v), cmp_str);
	size_t w = 1;
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(v[i], v[w - 1]) == 0)
			free(v[i]);
		else
			v[w++] = v[i];
	}
	*n = w;
}

void xp_dist_pkgs_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- mirrors --------------------------------------------------------------------- */

static bool uri_scheme_ok(const char *u, size_t len)
{
	return (len > 7 && strncmp(u, "http://", 7) == 0) ||
	       (len > 8 && strncmp(u, "https://", 8) == 0) ||
	       (len > 6 && strncmp(u, "file:/", 6) == 0);
}

int xp_dist_mirror_norm(const char *uri, char **out)
{
	*out = NULL;
	size_t len = strlen(uri);
	if (len > XP_DIST_URI_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)uri[i] <= ' ' || uri[i] == 0x7f)
			return -EINVAL;
	while (len > 0 && uri[len - 1] == '/')
		len--;
	if (!uri_scheme_ok(uri, len))
		return -EINVAL;
	*out = strndup(uri, len);
	return *out ? 0 : -ENOMEM;
}

/* Is the suite one of Debian's archive, not its security archive? A release codename or
 * alias, alone or with the suffix of one of its companion suites. */
static bool debian_suite(const char *s, size_t len)
{
	static const char *const names[] = {
	    "buzz",    "rex",	  "bo",		 "hamm",	 "slink",	"potato",
	    "woody",   "sarge",	  "etch",	 "lenny",	 "squeeze",	"wheezy",
	    "jessie",  "stretch", "buster",	 "bullseye",	 "bookworm",	"trixie",
	    "forky",   "duke",	  "sid",	 "unstable",	 "testing",	"stable",
	    "oldstable", "oldoldstable", "experimental", "rc-buggy", NULL};
	static const char *const suffixes[] = {"", "-updates", "-backports", "-backports-sloppy",
					       "-proposed-updates", NULL};
	for (const char *const *n = names; *n; n++) {
		size_t nl = strlen(*n);
		if (len < nl || strncmp(s, *n, nl) != 0)
			continue;
		for (const char *const *x = suffixes; *x; x++)
			if (len - nl == strlen(*x) && strncmp(s + nl, *x, len - nl) == 0)
				return true;
	}
	return false;
}

/* The length of the word at s[0, n): up to a blank or the end (s need not hold a NUL). */
static size_t word_len(const char *s, size_t n)
{
	size_t w = 0;
	while (w < n && s[w] != ' ' && s[w] != '\t')
		w++;
	return w;
}

/* A candidate entry: its type list, URI list and suite list (blank-separated, as
 * deb822 writes several; none holds a NUL). 1 and the first URI in *uri if it is a
 * Debian mirror, 0 if not, -ENOMEM. */
static int entry_mirror(const char *types, size_t tlen, const char *uris, size_t ulen,
			const char *suites, size_t slen, char **uri)
{
	bool deb = false;
	for (size_t i = 0; i < tlen;) {
		size_t w = word_len(types + i, tlen - i);
		deb |= w == 3 && strncmp(types + i, "deb", 3) == 0;
		i += w ? w : 1;
	}
	if (!deb)
		return 0;
	bool debian = false;
	for (size_t i = 0; i < slen;) {
		size_t w = word_len(suites + i, slen - i);
		debian |= w && debian_suite(suites + i, w);
		i += w ? w : 1;
	}
	if (!debian)
		return 0;
	for (size_t i = 0; i < ulen;) {
		size_t w = word_len(uris + i, ulen - i);
		if (w) {
			char *u = strndup(uris + i, w), *norm;
			if (!u)
				return -ENOMEM;
			int r = xp_dist_mirror_norm(u, &norm);
			free(u);
			if (r == -ENOMEM)
				return r;
			if (r == 0) {
				size_t nl = strlen(norm);
				/* the security archive carries the same suite names elsewhere */
				if (nl >= 16 && strcmp(norm + nl - 16, "/debian-security") == 0) {
					free(norm);
				} else {
					*uri = norm;
					return 1;
				}
			}
		}
		i += w ? w : 1;
	}
	return 0;
}

/* The next line of text[*pos..len): its start and length (without the newline); false
 * at the end. */
static bool next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *n)
{
	if (*pos >= len)
		return false;
	const char *s = text + *pos, *nl = memchr(s, '\n', len - *pos);
	*line = s;
	*n = nl ? (size_t)(nl - s) : len - *pos;
	*pos += *n + (nl != NULL);
	if (*n && s[*n - 1] == '\r')
		(*n)--;
	return true;
}

static size_t skip_blank(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

static size_t word_end(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	return i;
}

/* sources.list(5), one-line style: "deb [ options ] uri suite [component...]". */
static int oneline_mirror(const char *text, size_t len, char **uri)
{
	size_t pos = 0, n;
	const char *l;
	while (next_line(text, len, &pos, &l, &n)) {
		const char *hash = memchr(l, '#', n);
		if (hash)
			n = (size_t)(hash - l);
		size_t i = skip_blank(l, 0, n);
		if (i == n)
			continue;
		size_t te = word_end(l, i, n);
		const char *type = l + i;
		size_t tlen = te - i;
		i = skip_blank(l, te, n);
		if (i < n && l[i] == '[') {
			const char *close = memchr(l + i, ']', n - i);
			if (!close)
				return -EBADMSG;
			i = skip_blank(l, (size_t)(close - l) + 1, n);
		}
		size_t ue = word_end(l, i, n);
		const char *u = l + i;
		size_t ulen = ue - i;
		i = skip_blank(l, ue, n);
		size_t se = word_end(l, i, n);
		if (ulen == 0 || se == i)
			return -EBADMSG;
		int r = entry_mirror(type, tlen, u, ulen, l + i, se - i, uri);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	return 0;
}

/* One deb822 field's value (continuation lines joined by a space) for the paragraph at
 * text[start, end): its case-insensitive name. Into b; false if absent. */
static bool deb822_field(const char *text, size_t start, size_t end, const char *name,
			 struct xp_buf *b)
{
	xp_buf_truncate(b, 0);
	size_t pos = start, n, nl = strlen(name);
	const char *l;
	bool in = false, found = false;
	while (pos < end && next_line(text, end, &pos, &l, &n)) {
		if (n && l[0] == '#')
			continue;
		if (n && (l[0] == ' ' || l[0] == '\t')) {
			if (in) {
				xp_buf_addc(b, ' ');
				xp_buf_add(b, l, n);
			}
			continue;
		}
		in = n > nl && l[nl] == ':' && strncasecmp(l, name, nl) == 0 && !found;
		if (in) {
			found = true;
			xp_buf_add(b, l + nl + 1, n - nl - 1);
		}
	}
	return found;
}

static void trim(const char **s, size_t *n)
{
	while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* sources.list(5), deb822 style: paragraphs of Types, URIs, Suites (Enabled: no skips
 * one). A paragraph without Types or URIs or Suites is an error, as apt says. */
static int deb822_mirror(const char *text, size_t len, char **uri)
{
	struct xp_buf types = XP_BUF_INIT, uris = XP_BUF_INIT, suites = XP_BUF_INIT,
		      en = XP_BUF_INIT;
	size_t pos = 0;
	int r = 0;
	while (r == 0 && pos < len) {
		/* a paragraph: up to a line of only blanks (comment lines are no separator) */
		size_t start = pos, end = pos, n;
		const char *l;
		bool content = false;
		while (next_line(text, len, &pos, &l, &n)) {
			size_t i = skip_blank(l, 0, n);
			if (i == n) {
				if (content)
					break;
				start = pos;
				continue;
			}
			if (l[0] != '#')
				content = true;
			end = pos;
		}
		if (!content)
			continue;
		bool ht = deb822_field(text, start, end, "Types", &types),
		     hu = deb822_field(text, start, end, "URIs", &uris),
		     hs = deb822_field(text, start, end, "Suites", &suites);
		if (xp_buf_error(&types) || xp_buf_error(&uris) || xp_buf_error(&suites)) {
			r = -ENOMEM;
			break;
		}
		if (!ht || !hu || !hs) {
			r = -EBADMSG;
			break;
		}
		if (deb822_field(text, start, end, "Enabled", &en)) {
			const char *v = xp_buf_str(&en);
			size_t vn = en.len;
			trim(&v, &vn);
			if (vn == 2 && strncasecmp(v, "no", 2) == 0)
				continue;
		}
		const char *t = xp_buf_str(&types), *u = xp_buf_str(&uris), *s = xp_buf_str(&suites);
		size_t tn = types.len, un = uris.len, sn = suites.len;
		trim(&t, &tn);
		trim(&u, &un);
		trim(&s, &sn);
		r = entry_mirror(t, tn, u, un, s, sn, uri);
		if (r > 0)
			r = 0;
		if (*uri)
			break;
	}
	xp_buf_release(&types);
	xp_buf_release(&uris);
	xp_buf_release(&suites);
	xp_buf_release(&en);
	return r;
}

int xp_apt_sources_mirror(const char *text, size_t len, bool deb822, char **uri)
{
	*uri = NULL;
	if (memchr(text, '\0', len))
		return -EBADMSG;
	int r = deb822 ? deb822_mirror(text, len, uri) : oneline_mirror(text, len, uri);
	if (r < 0) {
		free(*uri);
		*uri = NULL;
	}
	return r;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One sources file into *uri if it names a mirror: 0 (also when unreadable: a warning). */
static int mirror_of_file(const char *path, bool deb822, char **uri, struct xp_diags *d)
{
	char *data = NULL;
	size_t len = 0;
	int r = xp_read_file(path, 1u << 20, &data, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -ENOMEM)
		return r;
	if (r == 0)
		r = xp_apt_sources_mirror(data, len, deb822, uri);
	free(data);
	if (r == -ENOMEM)
		return r;
	if (r < 0 && d)
		xp_diags_add(d, XP_SEV_WARNING, path, 0, 0, "apt-sources", NULL, NULL,
			     "cannot read the apt sources: %s", strerror(-r));
	return 0;
}

int xp_apt_mirror_find(const char *etc_apt, char **uri, struct xp_diags *d)
{
	*uri = NULL;
	char *path = NULL;
	if (asprintf(&path, "%s/sources.list", etc_apt) < 0)
		return -ENOMEM;
	int r = mirror_of_file(path, false, uri, d);
	free(path);
	if (r < 0 || *uri)
		return r;
	char *dir = NULL;
	if (asprintf(&dir, "%s/sources.list.d", etc_apt) < 0)
		return -ENOMEM;
	DIR *dh = opendir(dir);
	if (!dh) {
		free(dir);
		return 0;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	/* apt's own rule (apt-pkg/init.cc, sources.list(5)): files ending in .list or
	 * .sources whose names are letters, digits, '_', '-' and '.' */
	while (r == 0 && (e = readdir(dh))) {
		size_t nl = strlen(e->d_name);
		bool list = nl > 5 && strcmp(e->d_name + nl - 5, ".list") == 0,
		     src = nl > 8 && strcmp(e->d_name + nl - 8, ".sources") == 0;
		if (!list && !src)
			continue;
		bool ok = true;
		for (const char *c = e->d_name; *c; c++)
			ok &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.';
		if (!ok)
			continue;
		r = xp_grow(&names, &cap, n, sizeof(*names), 16);
		if (r == 0 && !(names[n++] = strdup(e->d_name)))
			r = -ENOMEM;
	}
	closedir(dh);
	if (r == 0 && n)
		qsort(names, n, sizeof(*names), cmp_name);
	for (size_t i = 0; r == 0 && i < n && !*uri; i++) {
		size_t nl = strlen(names[i]);
		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			r = -ENOMEM;
			break;
		}
		r = mirror_of_file(path, strcmp(names[i] + nl - 8, ".sources") == 0, uri, d);
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return r;
}

/* ---- Release dates --------------------------------------------------------------- */

static int release_fail(struct xp_diags *d, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int release_fail(struct xp_diags *d, const char *name, const char *fmt, ...)
{
	if (d) {
		va_list ap;
		va_start(ap, fmt);
		xp_diags_addv(d, XP_SEV_ERROR, name, 0, 0, "release", NULL, NULL, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static bool digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return n > 0;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int y, int m)
{
	static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : dm[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the civil-from-days inverse). */
static int64_t days_from_civil(int64_t y, int m, int dd)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + dd - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *dd)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = yoe + era * 400;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*dd = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

/* "[Day, ]D Mon YYYY HH:MM:SS ZONE" (RFC 2822 3.3, single spaces as Debian writes it;
 * ZONE UTC, GMT or +hhmm/-hhmm) into ISO 8601 UTC. */
static bool parse_date(const char *s, size_t n, char iso[21])
{
	static const char *const days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	size_t i = 0;
	if (n >= 5 && s[3] == ',') {
		bool ok = false;
		for (int k = 0; k < 7; k++)
			ok |= strncmp(s, days[k], 3) == 0;
		if (!ok || s[4] != ' ')
			return false;
		i = 5;
	}
	int day, mon = 0, year, hh, mm, ss;
	size_t dl = 0;
	while (i + dl < n && s[i + dl] >= '0' && s[i + dl] <= '9')
		dl++;
	if (dl < 1 || dl > 2 || !digits(s + i, dl, &day))
		return false;
	i += dl;
	if (n - i < 5 || s[i] != ' ' || s[i + 4] != ' ')
		return false;
	for (int k = 0; k < 12; k++)
		if (strncmp(s + i + 1, months[k], 3) == 0)
			mon = k + 1;
	if (!mon)
		return false;
	i += 5;
	if (n - i < 14 || !digits(s + i, 4, &year) || s[i + 4] != ' ' ||
	    !digits(s + i + 5, 2, &hh) || s[i + 7] != ':' || !digits(s + i + 8, 2, &mm) ||
	    s[i + 10] != ':' || !digits(s + i + 11, 2, &ss) || s[i + 13] != ' ')
		return false;
	i += 14;
	int off = 0;
	const char *z = s + i;
	size_t zn = n - i;
	if ((zn == 3 && (strncmp(z, "UTC", 3) == 0 || strncmp(z, "GMT", 3) == 0)))
		off = 0;
	else if (zn == 5 && (z[0] == '+' || z[0] == '-')) {
		int oh, om;
		if (!digits(z + 1, 2, &oh) || !digits(z + 3, 2, &om) || oh > 23 || om > 59)
			return false;
		off = (oh * 60 + om) * (z[0] == '-' ? -1 : 1);
	} else
		return false;
	if (year < 1970 || day < 1 || day > days_in(year, mon) || hh > 23 || mm > 59 || ss > 60)
		return false;
	/* to UTC; a leap second is kept as :60 only where no offset moves it */
	int64_t mins = days_from_civil(year, mon, day) * 1440 + hh * 60 + mm - off;
	if (mins < 0)
		return false;
	int y, m, dd;
	civil_from_days(mins / 1440, &y, &m, &dd);
	if (y > 9999)
		return false;
	snprintf(iso, 21, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, dd, (int)(mins % 1440 / 60),
		 (int)(mins % 60), ss);
	return true;
}

/* The fields of the first paragraph of a Release text (deb822(5)): Date, Suite,
 * Codename. */
struct release_fields {
	const char *date, *suite, *codename;
	size_t date_n, suite_n, codename_n;
	bool dup_date;
};

static bool field_is(const char *l, size_t n, const char *name, const char **v, size_t *vn)
{
	size_t nl = strlen(name);
	if (n <= nl || l[nl] != ':' || strncasecmp(l, name, nl) != 0)
		return false;
	*v = l + nl + 1;
	*vn = n - nl - 1;
	trim(v, vn);
	return true;
}

/* Is l a field's first line: NAME ":" with NAME of printable ASCII but ':' (deb822(5):
 * no leading '-' or '#', no spaces)? */
static bool field_line(const char *l, size_t n)
{
	if (n == 0 || l[0] == '-' || l[0] == '#')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (l[i] == ':')
			return i > 0;
		if ((unsigned char)l[i] <= ' ' || (unsigned char)l[i] >= 0x7f)
			return false;
	}
	return false;
}

int xp_release_date(const char *text, size_t len, const char *suite, const char *name,
		    char iso[21], struct xp_diags *d)
{
	iso[0] = 0;
	if (len > XP_RELEASE_MAX)
		return xp_diags_fail(d, -EFBIG, name, "release", NULL,
				     "larger than %u MiB: not a Release file", XP_RELEASE_MAX >> 20);
	if (memchr(text, '\0', len))
		return release_fail(d, name, "holds a NUL byte: not a Release file");
	size_t pos = 0, n;
	const char *l;
	bool signed_ = false;
	static const char begin[] = "-----BEGIN PGP SIGNED MESSAGE-----";
	/* RFC 4880 7: the armor line, armor headers ("Hash: ..."), an empty line, then the
	 * dash-escaped text up to the signature's armor */
	if (len >= sizeof(begin) - 1 && strncmp(text, begin, sizeof(begin) - 1) == 0) {
		signed_ = true;
		next_line(text, len, &pos, &l, &n);
		if (n != sizeof(begin) - 1)
			return release_fail(d, name, "a clearsigned text with a malformed first line");
		for (;;) {
			if (!next_line(text, len, &pos, &l, &n))
				return release_fail(d, name, "a clearsigned text without its text");
			if (n == 0)
				break;
			if (!field_line(l, n))
				return release_fail(d, name,
						    "a clearsigned text with a malformed armor header");
		}
	}
	struct release_fields f = {0};
	bool in_para = false, ended = false, sig = false;
	while (next_line(text, len, &pos, &l, &n)) {
		if (signed_) {
			if (n >= 5 && strncmp(l, "-----", 5) == 0) {
				if (n == 29 && strncmp(l, "-----BEGIN PGP SIGNATURE-----", 29) == 0) {
					sig = true;
					break;
				}
				return release_fail(d, name, "an unexpected armor line in the text");
			}
			if (n >= 2 && l[0] == '-' && l[1] == ' ') {
				l += 2;
				n -= 2;
			}
		}
		if (ended)
			continue;
		if (skip_blank(l, 0, n) == n) {
			/* deb822: a blank line ends a paragraph; leading ones come before it */
			ended = in_para;
			continue;
		}
		if (l[0] == ' ' || l[0] == '\t') {
			if (!in_para)
				return release_fail(d, name, "a continuation line before any field");
			continue;
		}
		if (!field_line(l, n))
			return release_fail(d, name, "a line that is not a field: '%.*s'",
					    (int)(n > 80 ? 80 : n), l);
		in_para = true;
		const char *v;
		size_t vn;
		if (field_is(l, n, "Date", &v, &vn)) {
			f.dup_date |= f.date != NULL;
			f.date = v;
			f.date_n = vn;
		} else if (field_is(l, n, "Suite", &v, &vn) && !f.suite) {
			f.suite = v;
			f.suite_n = vn;
		} else if (field_is(l, n, "Codename", &v, &vn) && !f.codename) {
			f.codename = v;
			f.codename_n = vn;
		}
	}
	if (signed_ && !sig)
		return release_fail(d, name, "a clearsigned text without its signature");
	if (!in_para)
		return release_fail(d, name, "no Release paragraph");
	if (f.dup_date)
		return release_fail(d, name, "the Date field is given twice");
	if (!f.date)
		return release_fail(d, name, "no Date field");
	size_t sl = strlen(suite);
	if (!(f.codename && f.codename_n == sl && strncmp(f.codename, suite, sl) == 0) &&
	    !(f.suite && f.suite_n == sl && strncmp(f.suite, suite, sl) == 0))
		return release_fail(d, name, "the Release of '%.*s', not of '%s'",
				    (int)(f.codename ? (f.codename_n > 64 ? 64 : f.codename_n)
						     : (f.suite_n > 64 ? 64 : f.suite_n)),
				    f.codename ? f.codename : f.suite ? f.suite : "", suite);
	if (!parse_date(f.date, f.date_n, iso)) {
		iso[0] = 0;
		return release_fail(d, name, "not a date: '%.*s'", (int)(f.date_n > 80 ? 80 : f.date_n),
				    f.date);
	}
	return 0;
}

/* ---- the cache's name of an image --------------------------------------------------- */

int xp_dist_identity(struct xp_buf *b, const char *spec, const char *variant,
		     char *const *pkgs, size_t npkgs, const char *mirror, const char *date)
{
	/* bump v1 when the way an image is made from these changes what it holds (the
	 * mmdebstrap command line) */
	xp_buf_addf(b, "xenprov-dist-v1\ndist=%s\nvariant=%s\npackages=", spec, variant);
	for (size_t i = 0; i < npkgs; i++)
		xp_buf_addf(b, "%s%s", i ? "," : "", pkgs[i]);
	xp_buf_addf(b, "\nmirror=%s\nrelease=%s\n", mirror, date);
	return xp_buf_error(b);
}
