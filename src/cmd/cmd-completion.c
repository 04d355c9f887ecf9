/*
 * cmd-completion.c - `xenprov completion`: shell completion made from the command table
 * (main.c's xp_commands and every verb's usage text), so it cannot drift from the
 * commands. Hidden from `xenprov --help`; the build writes the bash script with it
 * (build/.../completion/xenprov) and the zsh one (completion/_xenprov: the same script,
 * which zsh runs through its bash completion emulation, bashcompinit), and `cmake
 * --install` installs them.
 *
 * What a verb takes is read from its usage text, the one source of its -h: each line of
 * its option list ("  -j, --jobs N   ...", "  --storage file|reflink|qcow2|lvm") names
 * options and their argument; an argument written "a|b|c" (lower case) completes to
 * those words, FILE/PATH/IMAGE to file names, DIR to directories, and the options
 * naming records (--profile, --parent, --distro, --system, --autoinstall) to the
 * names in the inventory, which the script asks `xenprov completion names KIND` for:
 * quick (one SQLite read), and silent when there is no inventory or it cannot be read.
 *
 * Not here: the usage text of each verb (its own file), the inventory (inventory.h).
 */
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

#include "cli-inventory.h"
#include "cli.h"

/* ---- the usage text, read --------------------------------------------------------------- */

#define MAX_OPTS 160

struct comp_opt {
	char name[48]; /* "--storage", "-j" */
	char spec[160]; /* "" a flag; else what its argument completes to (see arg_spec) */
	bool arg;
};

struct comp_opts {
	struct comp_opt v[MAX_OPTS];
	size_t n;
};

/* Options whose argument names a record in the inventory. */
static const struct {
	const char *opt, *kind;
} record_opts[] = {
	{"--profile", "profile"}, {"--parent", "profile"},	   {"--distro", "distro"},
	{"--system", "system"},	  {"--autoinstall", "template"}, {"--template", "template"},
};

static bool lower_word(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			return false;
	return true;
}

/* "a|b|c" (every alternative a lower-case word) as "choices:a b c"; else false. */
static bool choices(const char *tok, size_t len, char *out, size_t outlen)
{
	if (!memchr(tok, '|', len))
		return false;
	size_t o = snprintf(out, outlen, "choices:");
	for (size_t i = 0; i < len;) {
		size_t w = strcspn(tok + i, "|");
		if (w > len - i)
			w = len - i;
		if (!lower_word(tok + i, w) || o + w + 2 > outlen)
			return false;
		if (i)
			out[o++] = ' ';
		memcpy(out + o, tok + i, w);
		o += w;
		out[o] = 0;
		i += w + 1;
	}
	return true;
}

/* What a placeholder ("FILE", "DIR|ISO", "ROOTFS.tar", "KEY|FILE") names: "file" if
 * one of its alternatives is a file, else "dir" for a directory, else "" (nothing). */
static const char *placeholder_kind(const char *tok, size_t len)
{
	static const char *const files[] = {"FILE", "PATH", "IMAGE", "ISO", "OUT", "DISK", "CFG"};
	bool dir = false;
	for (size_t i = 0; i < len;) {
		size_t w = strcspn(tok + i, "|:");
		if (w > len - i)
			w = len - i;
		for (size_t k = 0; k < sizeof(files) / sizeof(files[0]); k++)
			if (strlen(files[k]) == w && strncmp(tok + i, files[k], w) == 0)
				return "file";
		if (w >= 6 && strncmp(tok + i, "ROOTFS", 6) == 0)
			return "file";
		dir = dir || (w == 3 && strncmp(tok + i, "DIR", 3) == 0);
		if (tok[i + w] == ':')
			break; /* "LOCAL:GUESTDIR": only the first part is on this host */
		i += w + 1;
	}
	return dir ? "dir" : "";
}

/* What an argument placeholder completes to: words, "file", "dir", or "" (nothing). */
static void arg_spec(const char *opt, const char *tok, size_t len, char *out, size_t outlen)
{
	for (size_t i = 0; i < sizeof(record_opts) / sizeof(record_opts[0]); i++)
		if (strcmp(opt, record_opts[i].opt) == 0) {
			snprintf(out, outlen, "%s", record_opts[i].kind);
			return;
		}
	if (choices(tok, len, out, outlen))
		return;
	snprintf(out, outlen, "%s", placeholder_kind(tok, len));
}

static struct comp_opt *add_opt(struct comp_opts *o, const char *name, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (strlen(o->v[i].name) == len && strncmp(o->v[i].name, name, len) == 0)
			return &o->v[i];
	if (o->n == MAX_OPTS || len >= sizeof(o->v[0].name))
		return NULL;
	struct comp_opt *r = &o->v[o->n++];
	memcpy(r->name, name, len);
	r->name[len] = 0;
	r->spec[0] = 0;
	r->arg = false;
	return r;
}

/* One line's option part ("-j, --jobs N", "--storage file|reflink|qcow2|lvm",
 * "[,mac-prefix=P], --swap-disk SIZE"): the options it names and their arguments. */
static void parse_option_part(struct comp_opts *o, const char *p, size_t len)
{
	struct comp_opt *alias = NULL; /* "-j," waiting for its long name */
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '-' || (i && p[i - 1] != ' ' && p[i - 1] != ','))
			continue;
		size_t s = i, e = i + 1;
		if (e < len && p[e] == '-') {
			e++;
			while (e < len && (islower((unsigned char)p[e]) || isdigit((unsigned char)p[e]) ||
					   p[e] == '-'))
				e++;
			if (e == s + 2 || (e < len && (isupper((unsigned char)p[e]) || p[e] == '.')))
				continue; /* "--KEY VALUE", "--config.NAME VALUE": any key, no name */
		} else if (e < len && isalpha((unsigned char)p[e])) {
			e++;
			if (e < len && p[e] != ' ' && p[e] != ',')
				continue;
		} else {
			continue;
		}
		struct comp_opt *c = add_opt(o, p + s, e - s);
		i = e;
		if (!c)
			continue;
		/* an argument's placeholder: upper case ("N", "SIZE|auto", "debian:SUITE") or
		 * choices ("on|off"); a lower-case word after one space is the description */
		size_t a = e + 1, b = a;
		bool placeholder = false;
		if (a < len && (p[e] == ' ' || p[e] == '=') && !strchr("-[|", p[a])) {
			b = a + strcspn(p + a, " ,[");
			if (b > len)
				b = len;
			for (size_t k = a; k < b; k++)
				placeholder = placeholder || isupper((unsigned char)p[k]) || p[k] == '|';
		}
		if (placeholder) {
			c->arg = true;
			arg_spec(c->name, p + a, b - a, c->spec, sizeof(c->spec));
			if (alias && c->name[1] == '-') {
				alias->arg = true;
				snprintf(alias->spec, sizeof(alias->spec), "%s", c->spec);
			}
			alias = NULL;
		} else if (e < len && p[e] == ',' && c->name[1] != '-') {
			alias = c;
		} else {
			alias = NULL;
		}
	}
}

/* The options of one usage text: every line of its option lists. */
static void parse_usage(struct comp_opts *o, const char *usage)
{
	for (const char *l = usage; *l; l += strcspn(l, "\n"), l += *l == '\n') {
		size_t len = strcspn(l, "\n"), ind = strspn(l, " ");
		/* options start a line indented by 2 to 8 (descriptions and synopsis
		 * continuations are deeper); "[,x=Y], --opt ARG" continues an option part */
		if (ind < 2 || ind > 8 || ind >= len || (l[ind] != '-' && l[ind] != '['))
			continue;
		const char *part = l + ind, *gap = strstr(part, "  ");
		size_t plen = len - ind;
		if (gap && (size_t)(gap - part) < plen)
			plen = gap - part;
		parse_option_part(o, part, plen);
	}
	add_opt(o, "-h", 2);
	add_opt(o, "--help", 6);
}

/* What the operands of CMD [VERB] complete to: the records a command's verbs name, the
 * settings' keys, else what its synopsis says ("[distros|profiles|...]", FILE, IMAGE). */
static void operand_spec(const struct xp_command *c, const struct xp_verb *v, char *out,
			 size_t outlen)
{
	static const char *const records[] = {"profile", "distro", "system", "template", "domain"};
	const char *verb = v ? v->name : NULL;
	out[0] = 0;
	if (verb && strcmp(c->name, "settings") == 0) {
		if (strcmp(verb, "set") == 0 || strcmp(verb, "unset") == 0)
			snprintf(out, outlen, "setting");
		return;
	}
	for (size_t i = 0; verb && i < sizeof(records) / sizeof(records[0]); i++) {
		if (strcmp(c->name, records[i]) != 0)
			continue;
		/* every verb names records but those that make them or take none */
		if (strcmp(verb, "add") && strcmp(verb, "create") && strcmp(verb, "import") &&
		    strcmp(verb, "list"))
			snprintf(out, outlen, "%s", records[i]);
		return;
	}
	/* the synopsis, the first line: "Usage: xenprov CMD [VERB] TOKENS..." */
	const char *u = v ? v->usage : c->usage;
	size_t len = strcspn(u, "\n");
	bool after_opt = false;
	for (size_t i = 0; i < len;) {
		i += strspn(u + i, " ");
		size_t n = strcspn(u + i, " \n");
		if (n > len - i)
			n = len - i;
		const char *t = u + i;
		size_t tn = n;
		i += n;
		bool closed = tn && strchr("])", t[tn - 1]); /* "[--json]": no argument follows */
		while (tn && (*t == '[' || *t == '(')) {
			t++;
			tn--;
		}
		while (tn && strchr("])|.", t[tn - 1]))
			tn--;
		if (tn && *t == '-') {
			after_opt = !closed;
			continue;
		}
		if (after_opt && tn && isupper((unsigned char)*t)) {
			after_opt = false; /* the option's own argument */
			continue;
		}
		after_opt = false;
		if (choices(t, tn, out, outlen))
			return;
		if (*placeholder_kind(t, tn)) {
			snprintf(out, outlen, "%s", placeholder_kind(t, tn));
			return;
		}
	}
}

/* ---- the bash script -------------------------------------------------------------------- */

/* The part that does not depend on the table: completion of the line being typed from
 * the arrays the generated part declares (-g: bash-completion sources this file inside a
 * function, where a plain declare would make them local; entries as NAME+=(['KEY']=V),
 * the one form whose quotes bash and zsh both remove). */
static const char bash_body[] =
	"# _xenprov_read: COMPREPLY, standard input's lines (no mapfile: zsh runs this too)\n"
	"_xenprov_read()\n"
	"{\n"
	"\tlocal l\n"
	"\tCOMPREPLY=()\n"
	"\twhile IFS= read -r l; do COMPREPLY+=(\"$l\"); done\n"
	"}\n"
	"\n"
	"# _xenprov_values SPEC: COMPREPLY for $cur from what SPEC says (see the arrays)\n"
	"_xenprov_values()\n"
	"{\n"
	"\tlocal spec=$1 names\n"
	"\tcase $spec in\n"
	"\tchoices:*) _xenprov_read < <(compgen -W \"${spec#choices:}\" -- \"$cur\") ;;\n"
	"\tfile)\n"
	"\t\tcompopt -o filenames 2>/dev/null\n"
	"\t\t_xenprov_read < <(compgen -f -- \"$cur\") ;;\n"
	"\tdir)\n"
	"\t\tcompopt -o filenames 2>/dev/null\n"
	"\t\t_xenprov_read < <(compgen -d -- \"$cur\") ;;\n"
	"\tsetting) _xenprov_read < <(compgen -W \"$_xenprov_settings\" -- \"$cur\") ;;\n"
	"\tprofile | distro | system | template | domain)\n"
	"\t\t# the inventory's names: quick, and nothing at all when it cannot be read\n"
	"\t\tnames=$(timeout 2 \"$prog\" completion names \"$spec\" ${sd:+--state-dir \"$sd\"} \\\n"
	"\t\t\t2>/dev/null </dev/null)\n"
	"\t\t_xenprov_read < <(compgen -W \"$names\" -- \"$cur\") ;;\n"
	"\tesac\n"
	"}\n"
	"\n"
	"_xenprov()\n"
	"{\n"
	"\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev= opt prog=${COMP_WORDS[0]}\n"
	"\tlocal cmd= verb= first= sd= key ak i w nops=0\n"
	"\tCOMPREPLY=()\n"
	"\t((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}\n"
	"\t[[ ${prog##*/} == xenprov-pxeboot ]] && cmd=pxeboot\n"
	"\t# what is typed before the word: command, verb, operands; options and their values\n"
	"\t# skipped (\"--opt=value\" comes as three words: '=' breaks words)\n"
	"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	"\t\tw=${COMP_WORDS[i]}\n"
	"\t\tif [[ $w == --state-dir ]]; then\n"
	"\t\t\t[[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))\n"
	"\t\t\t((i + 1 < COMP_CWORD)) && sd=${COMP_WORDS[i + 1]}\n"
	"\t\t\t((i++))\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tif [[ -z $cmd ]]; then\n"
	"\t\t\t[[ $w == -* ]] || cmd=$w\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tif [[ $w == -* ]]; then\n"
	"\t\t\tkey=$cmd${verb:+ $verb}\n"
	"\t\t\tak=\"$key $w\"\n"
	"\t\t\tif [[ -n ${_xenprov_arg[$ak]+set} ]]; then\n"
	"\t\t\t\t[[ ${COMP_WORDS[i + 1]} == = ]] && ((i++))\n"
	"\t\t\t\t((i++))\n"
	"\t\t\tfi\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\tif [[ -z $verb && $nops -eq 0 && \" ${_xenprov_verbs[$cmd]} \" == *\" $w \"* ]]; then\n"
	"\t\t\tverb=$w\n"
	"\t\t\tcontinue\n"
	"\t\tfi\n"
	"\t\t((nops++ == 0)) && first=$w\n"
	"\tdone\n"
	"\topt=$prev\n"
	"\tif [[ $cur == = ]]; then\n"
	"\t\tcur=\n"
	"\telif [[ $prev == = ]] && ((COMP_CWORD > 1)); then\n"
	"\t\topt=${COMP_WORDS[COMP_CWORD - 2]}\n"
	"\tfi\n"
	"\tif [[ -z $cmd ]]; then\n"
	"\t\t_xenprov_read < <(compgen -W \"$_xenprov_commands help --version --help\" -- \"$cur\")\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cmd == help ]]; then\n"
	"\t\tif ((nops == 0)); then\n"
	"\t\t\t_xenprov_read < <(compgen -W \"$_xenprov_commands\" -- \"$cur\")\n"
	"\t\telif ((nops == 1)); then\n"
	"\t\t\t_xenprov_read < <(compgen -W \"${_xenprov_verbs[$first]}\" -- \"$cur\")\n"
	"\t\tfi\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tkey=$cmd${verb:+ $verb}\n"
	"\tak=\"$key $opt\" # a variable: zsh keeps quotes written in a subscript\n"
	"\tif [[ $opt == -* && -n ${_xenprov_arg[$ak]+set} ]]; then\n"
	"\t\t_xenprov_values \"${_xenprov_arg[$ak]}\"\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ $cur == -* ]]; then\n"
	"\t\t_xenprov_read < <(compgen -W \"${_xenprov_opts[$key]}\" -- \"$cur\")\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tif [[ -z $verb && $nops -eq 0 && -n ${_xenprov_verbs[$cmd]} ]]; then\n"
	"\t\t_xenprov_read < <(compgen -W \"${_xenprov_verbs[$cmd]}\" -- \"$cur\")\n"
	"\t\treturn\n"
	"\tfi\n"
	"\tlocal spec=${_xenprov_operand[$key]}\n"
	"\t[[ $spec == setting && $nops -gt 0 ]] && return\n"
	"\t[[ -n $spec ]] && _xenprov_values \"$spec\"\n"
	"\treturn 0\n"
	"}\n"
	"complete -F _xenprov xenprov xenprov-pxeboot\n";

/* A verb taking "--KEY VALUE", any profile setting (domain create): every key of the
 * profile table, its value completed as `profile add`'s usage says for its option. */
static void add_profile_keys(struct comp_opts *o)
{
	static struct comp_opts add; /* static: large */
	add.n = 0;
	const struct xp_verb *v = cli_find_verb(&cmd_profile, "add");
	if (v)
		parse_usage(&add, v->usage);
	for (size_t i = 0; xp_profile_keys[i].key; i++) {
		char name[48];
		int len = snprintf(name, sizeof(name), "--%s", xp_profile_keys[i].key);
		if (len <= 0 || (size_t)len >= sizeof(name) || !lower_word(name + 2, len - 2))
			continue; /* "config.NAME": a placeholder, not a key */
		struct comp_opt *c = add_opt(o, name, len);
		if (!c || c->arg)
			continue;
		c->arg = true;
		const struct comp_opt *a = NULL;
		for (size_t k = 0; k < add.n && !a; k++)
			if (strcmp(add.v[k].name, name) == 0)
				a = &add.v[k];
		if (a)
			snprintf(c->spec, sizeof(c->spec), "%s", a->spec);
		else
			arg_spec(name, xp_profile_keys[i].arg, strlen(xp_profile_keys[i].arg), c->spec,
				 sizeof(c->spec));
	}
}

static void put_opts(const char *key, const char *usage)
{
	static struct comp_opts o; /* static: large */
	o.n = 0;
	parse_usage(&o, usage);
	if (strstr(usage, "\n  --KEY VALUE "))
		add_profile_keys(&o);
	printf("_xenprov_opts+=(['%s']='", key);
	for (size_t i = 0; i < o.n; i++)
		printf("%s%s", i ? " " : "", o.v[i].name);
	printf("')\n");
	for (size_t i = 0; i < o.n; i++)
		if (o.v[i].arg)
			printf("_xenprov_arg+=(['%s %s']='%s')\n", key, o.v[i].name, o.v[i].spec);
}

static void put_operand(const char *key, const struct xp_command *c, const struct xp_verb *v)
{
	char spec[160];
	operand_spec(c, v, spec, sizeof(spec));
	if (spec[0])
		printf("_xenprov_operand+=(['%s']='%s')\n", key, spec);
}

/* The script for bash, or for zsh: the same, run by zsh's bash completion emulation
 * (bashcompinit), as an autoloaded completion function (#compdef) that loads it and
 * completes the first time. */
static int put_script(int argc, char **argv, bool zsh)
{
	struct cli_opts co = {.operand = ""};
	int rc = cli_parse_flags(argc, argv, zsh ? "completion zsh" : "completion bash", "", NULL,
				 &co);
	if (rc)
		return rc;
	if (zsh)
		printf("#compdef xenprov xenprov-pxeboot\n"
		       "# zsh completion for xenprov: its bash completion, run by zsh's bashcompinit.\n"
		       "# Generated by 'xenprov completion zsh' from its command table and usage\n"
		       "# texts: do not edit, regenerate.\n\n"
		       "autoload -U +X bashcompinit && bashcompinit\n");
	else
		printf("# bash completion for xenprov -*- shell-script -*-\n"
		       "# Generated by 'xenprov completion bash' from its command table and usage\n"
		       "# texts: do not edit, regenerate.\n\n");
	printf("declare -gA _xenprov_verbs _xenprov_opts _xenprov_arg _xenprov_operand\n");
	printf("_xenprov_commands='");
	bool sp = false;
	for (const struct xp_command *const *c = xp_commands; *c; c++)
		if (!(*c)->hidden) {
			printf("%s%s", sp ? " " : "", (*c)->name);
			sp = true;
		}
	printf("'\n_xenprov_settings='");
	for (size_t i = 0; xp_server_keys[i].key; i++)
		printf("%s%s", i ? " " : "", xp_server_keys[i].key);
	printf(" pool.'\n");
	for (const struct xp_command *const *cp = xp_commands; *cp; cp++) {
		const struct xp_command *c = *cp;
		if (c->hidden)
			continue;
		if (c->verbs) {
			printf("_xenprov_verbs+=(['%s']='", c->name);
			for (const struct xp_verb *const *v = c->verbs; *v; v++)
				printf("%s%s", v == c->verbs ? "" : " ", (*v)->name);
			printf("')\n");
			char key[96];
			for (const struct xp_verb *const *v = c->verbs; *v; v++) {
				snprintf(key, sizeof(key), "%s %s", c->name, (*v)->name);
				put_opts(key, (*v)->usage);
				put_operand(key, c, *v);
			}
		}
		/* a command without verbs, or one that also runs without one (deploy) */
		put_opts(c->name, c->verbs && !c->run ? "" : c->usage);
		if (!c->verbs)
			put_operand(c->name, c, NULL);
	}
	fputs("\n", stdout);
	fputs(bash_body, stdout);
	if (zsh) /* this first time: complete now (complete -F has set the later ones) */
		fputs("_bash_complete -F _xenprov\n", stdout);
	return cli_flush();
}

static int run_bash(int argc, char **argv)
{
	return put_script(argc, argv, false);
}

static int run_zsh(int argc, char **argv)
{
	return put_script(argc, argv, true);
}



/* ---- names from the inventory ----------------------------------------------------------- */

/* Prints the names of KIND, one a line. Silent whatever happens (the shell is in the
 * middle of a command line): exit 1 without a word when there is no inventory, it
 * cannot be read, or KIND is unknown; nothing is ever created. */
static int run_names(int argc, char **argv)
{
	struct cli_opts co = {.takes = CLI_STATE_DIR, .operand = "KIND"};
	int rc = cli_parse_flags(argc, argv, "completion names", "", NULL, &co);
	if (rc)
		return rc;
	const char *kind = argv[optind];
	static const struct {
		const char *kind;
		int (*list)(struct xp_inv *inv, char ***names, size_t *n);
	} kinds[] = {
		{"profile", xp_profile_list},
		{"distro", xp_distro_list},
		{"system", xp_system_list},
		{"template", xp_template_list},
		{"domain", NULL},
	};
	size_t k = 0;
	while (k < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[k].kind, kind) != 0)
		k++;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return XP_EXIT_FAIL;
	char *dir = NULL, *db = NULL;
	if (co.state_dir)
		dir = strdup(co.state_dir);
	else if (xp_state_dir_default(&dir) < 0)
		dir = NULL;
	struct stat st;
	/* no inventory: no names, and none made (xp_inv_open would create one); one on
	 * PostgreSQL is there or not, nothing is made in the state directory */
	char *loc = NULL;
	bool pg = dir && xp_inv_location(dir, NULL, &loc) == 0 && xp_inv_location_pgsql(loc);
	free(loc);
	if (!dir || (!pg && (asprintf(&db, "%s/inventory.db", dir) < 0 || stat(db, &st) != 0 ||
			     !S_ISREG(st.st_mode)))) {
		free(dir);
		free(db);
		return XP_EXIT_FAIL;
	}
	free(db);
	struct xp_inv *inv = NULL;
	int r = xp_inv_open(dir, &inv);
	free(dir);
	if (r < 0)
		return XP_EXIT_FAIL;
	if (kinds[k].list) {
		char **names = NULL;
		size_t n = 0;
		r = kinds[k].list(inv, &names, &n);
		for (size_t i = 0; r >= 0 && i < n; i++)
			printf("%s\n", names[i]);
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
	} else {
		struct xp_domain *v = NULL;
		size_t n = 0;
		r = xp_domain_list(inv, &v, &n);
		for (size_t i = 0; r >= 0 && i < n; i++)
			printf("%s\n", v[i].name);
		if (r >= 0)
			xp_domain_list_free(v, n);
	}
	xp_inv_close(inv);
	return r < 0 ? XP_EXIT_FAIL : cli_flush();
}

static const struct xp_verb completion_bash = {
    .name = "bash",
    .summary = "the bash completion script, made from the command table",
    .usage = "Usage: xenprov completion bash\n"
	     "\n"
	     "Prints the bash completion script: the commands, their verbs and every verb's\n"
	     "options, as their usage texts list them, with their values where the usage\n"
	     "names them (choices, files, directories, the inventory's names). Installed as\n"
	     "/usr/share/bash-completion/completions/xenprov; to try it: . <(xenprov\n"
	     "completion bash).\n"
	     "\n"
	     "  -h, --help  this help\n",
    .run = run_bash,
};

static const struct xp_verb completion_names = {
    .name = "names",
    .summary = "the names of one kind of record in the inventory, for the script",
    .usage = "Usage: xenprov completion names [--state-dir DIR] KIND\n"
	     "\n"
	     "Prints the names of KIND (profile, distro, system, template, domain) in the\n"
	     "inventory, one a line. Silent on every failure (exit 1): no inventory (none is\n"
	     "made), one that cannot be read, an unknown KIND.\n"
	     "\n" CLI_STATE_DIR_HELP "  -h, --help  this help\n",
    .run = run_names,
};

static const struct xp_verb completion_zsh = {
    .name = "zsh",
    .summary = "the zsh completion script: the bash one, through bashcompinit",
    .usage = "Usage: xenprov completion zsh\n"
	     "\n"
	     "Prints the zsh completion function _xenprov: the bash completion script (the\n"
	     "same tables), run by zsh's bash completion emulation (bashcompinit). Installed\n"
	     "as /usr/share/zsh/vendor-completions/_xenprov, which compinit finds.\n"
	     "\n"
	     "  -h, --help  this help\n",
    .run = run_zsh,
};

static const struct xp_verb *const completion_verbs[] = {&completion_bash, &completion_zsh,
							  &completion_names, NULL};

const struct xp_command cmd_completion = {
    .name = "completion",
    .summary = "shell completion, made from the command table",
    .usage = "Usage: xenprov completion VERB\n"
	     "\n"
	     "Shell completion for xenprov, made from its own command table and usage texts,\n"
	     "so that it completes exactly what this xenprov takes (see xenprov(1)).\n",
    .verbs = completion_verbs,
    .hidden = true,
};
