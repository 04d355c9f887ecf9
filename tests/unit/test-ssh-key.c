/*
 * test-ssh-key.c - unit tests for SSH public key lines and the --ssh-key argument
 * (inventory/ssh-key.c): real keys made by ssh-keygen (ed25519, rsa, ecdsa) and an
 * sk- key blob made by hand, each malformed form refused; the argument as a key line,
 * as a file of keys (comments, blank lines, CRLF), and every error with its diagnostic.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/inventory.h"

#define ED                                                                                   \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6siXBvibcrFrvnj7p "   \
	"ed@test"
#define RSA                                                                                  \
	"ssh-rsa "                                                                           \
	"AAAAB3NzaC1yc2EAAAADAQABAAAAgQC363NH1vXJRFM6NmimkoyzBThxlpcWo2KU9NVPsS2enMxhlNGovxUk" \
	"yOuvKHHJc9e6r/0CVmx0WPk03FJXpmHCSA60u8el329WexJodYwIQEjkKtyi+jwXAgeVFa8EgPqcUGmRLHAU" \
	"dXrl96SMrlCgQ2pGy2jN+0EVqjgTotnhJw== rsa@test"
#define EC                                                                                   \
	"ecdsa-sha2-nistp384 "                                                               \
	"AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBNAsI+3QR7jVp9uRaEPFhsJhtt8zljgF" \
	"tL2b5EwovezDfOYSYDzIhcbvyTLle5mzI++XFDf0u3AVLjsw8XgAcSssih9gzACDiVxtEXro2LfuKEwFGC9i" \
	"edyzA15C8TVcrw== ec@test"
#define SK                                                                                   \
	"sk-ssh-ed25519@openssh.com "                                                        \
	"AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhsc" \
	"HR4fAAAADnNzaDo= sk@test"

static int check(const char *s)
{
	return xp_ssh_key_check(s, strlen(s));
}

static void test_check_good(void **state)
{
	(void)state;
	assert_int_equal(check(ED), 0);
	assert_int_equal(check(RSA), 0);
	assert_int_equal(check(EC), 0);
	assert_int_equal(check(SK), 0);
	/* no comment */
	assert_int_equal(check("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6"
			       "siXBvibcrFrvnj7p"),
			 0);
	/* only len bytes count: the line may go on */
	assert_int_equal(xp_ssh_key_check(ED "\nrubbish", strlen(ED)), 0);
}

static void test_check_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "",
	    "ssh-ed25519",
	    "ssh-ed25519 ",
	    "ssh-dss AAAAB3NzaC1kc3MAAACBAP",		   /* DSA: not taken */
	    "ssh-ed25519x AAAAC3NzaC1lZDI1NTE5AAAAIKiK", /* unknown type */
	    "ssh-ed25519 AAAA x",			   /* blob too short */
	    "ssh-ed25519 AAAAB3NzaC1yc2F4eHh4 mismatch",  /* blob of ssh-rsa */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKi! x", /* not base64 */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKi x",  /* length not a multiple of 4 */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK==iKAA x", /* padding inside */
	    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKiK/h2GYqBgjLlLC+3hboiqYEb6siXBvibcrFrvnj7p "
	    "a\tb", /* control character */
	    "from=\"10.0.0.1\" " ED, /* options are not taken */
	    "# " ED,
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (check(bad[i]) != -EINVAL)
			fail_msg("accepted: '%s'", bad[i]);
	}
	/* a newline inside the checked length */
	assert_int_equal(xp_ssh_key_check(ED "\n" ED, strlen(ED) * 2 + 1), -EINVAL);
}

XP_TEST_SCRATCH("ssh-key")

static const char *put(const char *name, const char *text)
{
	const char *path = xp_test_path(tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Runs xp_ssh_key_arg; returns its result, *out and the first diagnostic's text. */
static int arg(const char *a, char **out, char *msg, size_t cap, unsigned *line)
{
	struct xp_diags d;
	xp_diags_init(&d);
	int r = xp_ssh_key_arg(a, out, &d);
	msg[0] = 0;
	*line = 0;
	if (d.n) {
		snprintf(msg, cap, "%s", d.v[0].msg);
		*line = d.v[0].line;
	}
	assert_true(r == 0 ? d.n == 0 : d.n == 1);
	xp_diags_release(&d);
	return r;
}

static void test_arg_line(void **state)
{
	(void)state;
	char *out, msg[512];
	unsigned line;
	assert_int_equal(arg(ED, &out, msg, sizeof(msg), &line), 0);
	assert_string_equal(out, ED);
	free(out);
	/* surrounding blanks trimmed */
	assert_int_equal(arg(SK "  \r\n", &out, msg, sizeof(msg), &line), 0);
	assert_string_equal(out, SK);
	free(out);
	/* looks like a key, is not one */
	assert_int_equal(arg("ssh-rsa AAAA bad", &out, msg, sizeof(msg), &line), -EINVAL);
	assert_null(out);
	assert_string_equal(msg, "ssh-key: not an SSH public key (a known type followed by the "
				 "key's base64 blob of that type)");
	/* neither a file nor a key */
	assert_int_equal(arg("/no/such/key.pub", &out, msg, sizeof(msg), &line), -EINVAL);
	assert_string_equal(
	    msg, "ssh-key: '/no/such/key.pub' is neither an existing file nor an SSH public "
		 "key line");
	assert_int_equal(arg("AAAAC3NzaC1lZDI1NTE5", &out, msg, sizeof(msg), &line), -EINVAL);
	assert_non_null(strstr(msg, "is neither an existing file"));
}

static void test_arg_file(void **state)
{
	(void)state;
	char *out, msg[512];
	unsigned line;
	const char *p = put("one.pub", ED "\n");
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), 0);
	assert_string_equal(out, ED);
	free(out);
	/* several keys, comments, blank lines and CRLF: the keys, one a line */
	p = put("keys", "# admins\r\n\r\n  " RSA "  \r\n" EC "\n\n# end\n" SK);
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), 0);
	assert_string_equal(out, RSA "\n" EC "\n" SK);
	free(out);
	/* a bad line: its number, and not its text (it could be a secret) */
	p = put("bad", "# c\n" ED "\nCorrectHorse secret\n");
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EINVAL);
	assert_null(out);
	assert_string_equal(msg, "ssh-key: line 3 is not an SSH public key");
	assert_int_equal(line, 3);
	/* no key at all */
	p = put("empty", "# nothing\n\n");
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EINVAL);
	assert_string_equal(msg, "ssh-key: the file holds no key");
	p = put("zero", "");
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EINVAL);
	assert_string_equal(msg, "ssh-key: the file holds no key");
	/* binary */
	p = put("bin", "");
	FILE *f = fopen(p, "w");
	fwrite(ED "\0x", 1, sizeof(ED) + 1, f);
	fclose(f);
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EINVAL);
	assert_string_equal(msg, "ssh-key: not a text file of SSH keys");
	/* a directory, and an unreadable file */
	assert_int_equal(arg(tmpdir, &out, msg, sizeof(msg), &line), -EISDIR);
	assert_non_null(strstr(msg, "cannot read the key file: Is a directory"));
	if (geteuid() != 0) {
		p = put("secret", ED "\n");
		chmod(p, 0);
		assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EACCES);
		assert_non_null(strstr(msg, "cannot read the key file"));
	}
	/* too big */
	p = put("big", "");
	assert_int_equal(truncate(p, (2 << 20)), 0);
	assert_int_equal(arg(p, &out, msg, sizeof(msg), &line), -EINVAL);
	assert_non_null(strstr(msg, "too big for a key file"));
}

/* profile values: one or more key lines, each checked */
static void test_profile_value(void **state)
{
	(void)state;
	struct xp_diags d;
	xp_diags_init(&d);
	char *out = NULL;
	assert_int_equal(xp_profile_check("ssh-key", ED "\n" RSA, &out, &d), 0);
	assert_string_equal(out, ED "\n" RSA);
	free(out);
	out = NULL;
	assert_int_equal(xp_profile_check("ssh-key", ED "\n", &out, &d), -EINVAL);
	assert_int_equal(xp_profile_check("ssh-key", ED "\nnot a key", &out, &d), -EINVAL);
	assert_int_equal(xp_profile_check("ssh-key", "ssh-rsa AAAA x", &out, &d), -EINVAL);
	assert_int_equal(d.n, 3);
	assert_string_equal(d.v[0].msg, "ssh-key: not an SSH public key");
	xp_diags_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_check_good), cmocka_unit_test(test_check_bad),
	    cmocka_unit_test(test_arg_line),   cmocka_unit_test(test_arg_file),
	    cmocka_unit_test(test_profile_value),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
