/*
 * test-template.c - autoinstall templates (xenprov/template.h, inventory.h "autoinstall
 * templates"): the shipped templates parse; the variables (blended, every NIC's keys
 * present, SSH keys quoted for sh and JSON); the inventory's templates (add, update,
 * override and removal of a shipped one, refusals with line and column, usage); a
 * system's template and files, the password hash required; the boot arguments of each
 * OS family; the cloud-init seed volume, read back with libarchive.
 *
 * Each test works in a scratch directory of its own under XP_TEST_TMP.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "testlib.h"

#include "xenprov/mustache.h"
#include "xenprov/template.h"

static xp_test_pathbuf state;
static struct xp_inv *inv;

XP_TEST_SCRATCH_WITH("template", open_inv, close_inv)

static int open_inv(void)
{
	xp_test_paths(tmpdir, state, "state", NULL);
	return xp_inv_open(state, &inv);
}

static int close_inv(void)
{
	xp_inv_close(inv);
	inv = NULL;
	return 0;
}

static const char *KEY =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk4Yd5cwq9YcyEPeE4sPTt+SL6iT3IpKSxh1SRYV3XZ it's me";

static void test_shipped_parse(void **st)
{
	(void)st;
	size_t n = 0;
	for (const struct xp_shipped_template *t = xp_shipped_templates; t->name; t++, n++) {
		struct xp_diags d = {0};
		if (xp_mustache_check(t->text, strlen(t->text), t->name, NULL, NULL, &d) != 0)
			fail_msg("%s: %s", t->name, d.n ? d.v[0].msg : "?");
		assert_ptr_equal(xp_template_shipped(t->name), t);
		assert_true(xp_template_name_valid(t->name));
	}
	assert_int_equal(n, 5);
	assert_null(xp_template_shipped("nothing"));
}

static void test_vars(void **st)
{
	(void)st;
	struct xp_settings s = {0};
	assert_int_equal(xp_settings_set(&s, "ssh-key", KEY), 0);
	assert_int_equal(xp_settings_set(&s, "memory", "512"), 0);
	assert_int_equal(xp_settings_set(&s, "write", "/etc/secret:token"), 0);
	assert_int_equal(xp_settings_set(&s, "firstboot-command", "echo a\necho b"), 0);
	assert_int_equal(xp_settings_set(&s, "domain", "lab.test"), 0);
	assert_int_equal(xp_settings_set(&s, "gateway", "10.9.9.9"), 0);
	struct xp_template_nic nics[] = {
	    {.mac = "52:54:00:00:00:01", .ip = "10.0.0.5", .prefix = 24, .gateway = "10.0.0.1",
	     .default_route = true, .dns = "10.0.0.53,10.0.0.54", .domain = "lab.test"},
	    {.mac = "52:54:00:00:00:02", .dhcp = true},
	};
	struct xp_template_subject sub = {.name = "g1", .settings = &s, .nics = nics, .nnics = 2};
	json_t *v;
	assert_int_equal(xp_template_vars(&sub, &v), 0);
	char *text = json_dumps(v, JSON_SORT_KEYS);
	/* the machine's own over the profile's: the gateway is its NIC's */
	assert_string_equal(json_string_value(json_object_get(v, "gateway")), "10.0.0.1");
	assert_string_equal(json_string_value(json_object_get(v, "fqdn")), "g1.lab.test");
	assert_string_equal(json_string_value(json_object_get(v, "netmask")), "255.255.255.0");
	assert_int_equal(json_integer_value(json_object_get(v, "prefix")), 24);
	assert_true(json_is_true(json_object_get(v, "static")));
	assert_string_equal(json_string_value(json_object_get(v, "memory")), "512");
	assert_string_equal(json_string_value(json_object_get(v, "instance-id")),
			    "xenprov-g1-52-54-00-00-00-01");
	/* write is never given to a template; lists are lists */
	assert_null(json_object_get(v, "write"));
	assert_int_equal(json_array_size(json_object_get(v, "firstboot-command")), 2);
	assert_int_equal(json_array_size(json_object_get(v, "nameservers")), 2);
	/* the key in each quoted form */
	json_t *k = json_array_get(json_object_get(v, "ssh-keys"), 0);
	assert_string_equal(json_string_value(json_object_get(k, "key")), KEY);
	xp_test_assert_contains(json_string_value(json_object_get(k, "shell")), "it'\\''s me'");
	assert_int_equal(json_string_value(json_object_get(k, "json"))[0], '"');
	/* the second NIC has every key, so nothing of the first or the top falls through */
	json_t *n1 = json_array_get(json_object_get(v, "nics"), 1);
	assert_true(json_is_null(json_object_get(n1, "gateway")));
	assert_true(json_is_null(json_object_get(n1, "domain")));
	assert_true(json_is_false(json_object_get(n1, "default-route")));
	assert_true(json_is_true(json_object_get(n1, "dhcp")));
	assert_int_equal(json_integer_value(json_object_get(n1, "index")), 1);
	/* no password hash: null, never a default */
	assert_true(json_is_null(json_object_get(v, "root-password-hash")));
	free(text);
	json_decref(v);
	xp_settings_release(&s);
}

static void test_store(void **st)
{
	(void)st;
	struct xp_diags d = {0};
	const char *t1 = "Hello {{name}}\n{{> t2}}";
	/* a partial that is no template: a warning, the template stored */
	assert_int_equal(xp_template_add(inv, "t1", t1, strlen(t1), &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].severity, XP_SEV_WARNING);
	assert_string_equal(d.v[0].code, "partial");
	xp_diags_release(&d);
	assert_int_equal(xp_template_add(inv, "t1", t1, strlen(t1), &d), -EEXIST);
	assert_int_equal(xp_template_add(inv, "debian-preseed", t1, strlen(t1), &d), -EEXIST);
	xp_test_assert_contains(xp_inv_errmsg(inv), "xenprov ships");
	/* a syntax error: refused with its place, nothing stored */
	assert_int_equal(xp_template_add(inv, "bad", "x\n{{#a}}", 8, &d), -EINVAL);
	assert_string_equal(d.v[0].file, "bad");
	assert_int_equal(d.v[0].line, 2);
	assert_int_equal(d.v[0].col, 1);
	xp_diags_release(&d);
	assert_int_equal(xp_template_add(inv, "nul", "a\0b", 3, &d), -EINVAL);
	xp_diags_release(&d);
	assert_int_equal(xp_template_add(inv, "../x", "a", 1, &d), -EINVAL);
	xp_diags_release(&d);
	struct xp_template t;
	assert_int_equal(xp_template_get(inv, "bad", &t), -ENOENT);
	assert_int_equal(xp_template_update(inv, "nothing", "a", 1, &d), -ENOENT);
	/* a shipped one: got from xenprov, overridden by an update, back after removal */
	assert_int_equal(xp_template_get(inv, "redhat-kickstart", &t), 0);
	assert_true(t.shipped && !t.stored && t.created == 0);
	xp_template_release(&t);
	assert_int_equal(xp_template_update(inv, "redhat-kickstart", "mine", 4, &d), 0);
	assert_int_equal(xp_template_get(inv, "redhat-kickstart", &t), 0);
	assert_true(t.shipped && t.stored && t.created > 0);
	assert_string_equal(t.content, "mine");
	xp_template_release(&t);
	char **names;
	size_t n;
	assert_int_equal(xp_template_list(inv, &names, &n), 0);
	assert_int_equal(n, 6); /* five shipped, t1; redhat-kickstart once */
	assert_string_equal(names[0], "cloud-init-meta-data");
	assert_string_equal(names[5], "t1");
	xp_strv_free(names, n);
	assert_int_equal(xp_template_remove(inv, "redhat-kickstart"), 0);
	assert_int_equal(xp_template_get(inv, "redhat-kickstart", &t), 0);
	assert_false(t.stored);
	xp_template_release(&t);
	assert_int_equal(xp_template_remove(inv, "redhat-kickstart"), -EPERM);
	/* in use: a profile's autoinstall, a system's own */
	struct xp_profile p = {.name = "web"};
	assert_int_equal(xp_settings_set(&p.set, "autoinstall", "t1"), 0);
	assert_int_equal(xp_profile_add(inv, &p), 0);
	xp_settings_release(&p.set);
	assert_int_equal(xp_template_remove(inv, "t1"), -EBUSY);
	xp_test_assert_contains(xp_inv_errmsg(inv), "profile web names it");
	char **users;
	assert_int_equal(xp_template_users(inv, "t1", &users, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(users[0], "profile web");
	xp_strv_free(users, n);
	xp_diags_release(&d);
}

static void test_system_files(void **st)
{
	(void)st;
	struct xp_diags d = {0};
	const char *kernel = xp_test_write(tpath("k"), "kernel");
	struct xp_distro dist = {.name = "deb", .kernel = (char *)kernel, .os = "debian"};
	assert_int_equal(xp_distro_add(inv, &dist, 0, &d), 0);
	struct xp_distro bad = {.name = "bad", .kernel = (char *)kernel, .os = "beos"};
	assert_int_equal(xp_distro_add(inv, &bad, 0, &d), -EINVAL);
	xp_test_assert_contains(d.v[0].msg, "unknown OS family");
	xp_diags_release(&d);
	assert_int_equal(xp_server_setting_set(inv, "server", "10.0.0.1", NULL), 0);
	struct xp_profile p = {.name = "web"};
	xp_settings_set(&p.set, "distro", "deb");
	xp_settings_set(&p.set, "autoinstall", "debian-preseed");
	xp_settings_set(&p.set, "ssh-key", KEY);
	assert_int_equal(xp_profile_add(inv, &p), 0);
	struct xp_system s = {.name = "n1", .mac = "52:54:00:00:00:01", .profile = "web",
			      .netboot = true, .autoinstall = "none-such"};
	assert_int_equal(xp_system_add(inv, &s, &d), -ENOENT);
	xp_test_assert_contains(xp_inv_errmsg(inv), "no template 'none-such'");
	s.autoinstall = NULL;
	assert_int_equal(xp_system_add(inv, &s, &d), 0);
	struct xp_system got;
	assert_int_equal(xp_system_get(inv, "n1", &got), 0);
	char *name;
	assert_int_equal(xp_autoinstall_template_name(inv, &got, &name), 0);
	assert_string_equal(name, "debian-preseed"); /* its profile's */
	free(name);
	/* no hash: the preseed is not rendered */
	struct xp_buf out = XP_BUF_INIT;
	char *used;
	assert_int_equal(xp_autoinstall_render(inv, &got, XP_AUTOINSTALL_MAIN, "http://s", &out,
					       &used, &d),
			 -ENODATA);
	assert_string_equal(d.v[0].code, "required");
	assert_string_equal(d.v[0].file, "debian-preseed");
	assert_non_null(d.v[0].hint);
	assert_int_equal(out.len, 0);
	xp_diags_release(&d);
	xp_settings_set(&p.set, "root-password-hash", "$6$salt$hash");
	assert_int_equal(xp_profile_update(inv, &p), 0);
	assert_int_equal(xp_autoinstall_render(inv, &got, XP_AUTOINSTALL_MAIN, "http://s", &out,
					       &used, &d),
			 0);
	assert_string_equal(used, "debian-preseed");
	free(used);
	xp_test_assert_contains(xp_buf_str(&out), "password $6$salt$hash\n");
	xp_test_assert_contains(xp_buf_str(&out), "string n1\n");
	xp_buf_truncate(&out, 0);
	/* cloud-init's other files, and vendor-data, empty */
	assert_int_equal(xp_autoinstall_render(inv, &got, XP_AUTOINSTALL_META_DATA, NULL, &out, NULL,
					       &d),
			 0);
	assert_string_equal(xp_buf_str(&out),
			    "instance-id: xenprov-n1-52-54-00-00-00-01\nlocal-hostname: n1\n");
	xp_buf_truncate(&out, 0);
	assert_int_equal(xp_autoinstall_render(inv, &got, XP_AUTOINSTALL_VENDOR_DATA, NULL, &out,
					       NULL, &d),
			 0);
	assert_int_equal(out.len, 0);
	/* its own template wins */
	got.autoinstall = strdup("redhat-kickstart");
	assert_int_equal(xp_system_update(inv, &got, &d), 0);
	xp_system_release(&got);
	assert_int_equal(xp_system_get(inv, "n1", &got), 0);
	assert_string_equal(got.autoinstall, "redhat-kickstart");
	assert_int_equal(xp_autoinstall_render(inv, &got, XP_AUTOINSTALL_MAIN, NULL, &out, NULL, &d),
			 0);
	xp_test_assert_contains(xp_buf_str(&out), "rootpw --iscrypted $6$salt$hash\n");
	enum xp_autoinstall_file f;
	assert_int_equal(xp_autoinstall_file_parse("network-config", &f), 0);
	assert_int_equal(f, XP_AUTOINSTALL_NETWORK_CONFIG);
	assert_int_equal(xp_autoinstall_file_parse("passwd", &f), -ENOENT);
	xp_buf_release(&out);
	xp_system_release(&got);
	xp_settings_release(&p.set);
	xp_diags_release(&d);
}

static void test_boot_args(void **st)
{
	(void)st;
	static const char *const cases[][2] = {
	    {"debian", "auto=true priority=critical url=http://s/autoinstall/n"},
	    {"ubuntu", "autoinstall ds=nocloud;s=http://s/autoinstall/n/"},
	    {"redhat", "inst.ks=http://s/autoinstall/n"},
	    {"suse", "autoyast=http://s/autoinstall/n"},
	    {"beos", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xp_buf b = XP_BUF_INIT;
		xp_autoinstall_boot_args(cases[i][0], "http://s/autoinstall/n", &b);
		assert_string_equal(xp_buf_str(&b), cases[i][1]);
		xp_buf_release(&b);
	}
	struct xp_buf b = XP_BUF_INIT;
	xp_autoinstall_boot_args(NULL, "http://s/autoinstall/n", &b);
	xp_autoinstall_boot_args("debian", NULL, &b);
	assert_int_equal(b.len, 0);
	struct xp_settings s = {0};
	char base[64];
	xp_autoinstall_http_base(&s, 0, base, sizeof(base));
	assert_string_equal(base, "");
	xp_settings_set(&s, "server", "10.0.0.1");
	xp_autoinstall_http_base(&s, 0, base, sizeof(base));
	assert_string_equal(base, "http://10.0.0.1");
	xp_settings_set(&s, "http-port", "8080");
	xp_autoinstall_http_base(&s, 0, base, sizeof(base));
	assert_string_equal(base, "http://10.0.0.1:8080");
	xp_autoinstall_http_base(&s, 81, base, sizeof(base));
	assert_string_equal(base, "http://10.0.0.1:81");
	xp_settings_release(&s);
}

/* The files of the ISO 9660 volume at path, read with libarchive: "NAME=CONTENT;..." */
static char *iso_files(const char *path)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_iso9660(a);
	assert_int_equal(archive_read_open_filename(a, path, 10240), ARCHIVE_OK);
	struct xp_buf b = XP_BUF_INIT;
	struct archive_entry *e;
	while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
		char data[4096];
		la_ssize_t n = archive_read_data(a, data, sizeof(data));
		assert_true(n >= 0);
		xp_buf_addf(&b, "%s=%.*s;", archive_entry_pathname(e), (int)n, data);
	}
	archive_read_free(a);
	return xp_buf_steal(&b);
}

static void test_seed(void **st)
{
	(void)st;
	struct xp_diags d = {0};
	struct xp_settings s = {0};
	xp_settings_set(&s, "ssh-key", KEY);
	struct xp_template_nic nic = {.mac = "00:16:3e:00:00:01", .ip = "10.1.0.2", .prefix = 24,
				      .gateway = "10.1.0.1", .default_route = true};
	struct xp_template_subject sub = {.name = "g1", .settings = &s, .nics = &nic, .nnics = 1};
	struct xp_cloud_seed seed;
	assert_int_equal(xp_cloud_seed_render(inv, &sub, NULL, &seed, &d), 0);
	const char *path = tpath("g1.cidata.img");
	assert_int_equal(xp_cloud_seed_write(&seed, path, XP_CLOUD_SEED_SIZE, &d), 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, XP_CLOUD_SEED_SIZE);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char *files = iso_files(path);
	xp_test_assert_contains(files, "meta-data=instance-id: xenprov-g1-00-16-3e-00-00-01\n");
	xp_test_assert_contains(files, "network-config=version: 2\n");
	xp_test_assert_contains(files, "      - 10.1.0.2/24\n");
	xp_test_assert_contains(files, "user-data=#cloud-config\n");
	xp_test_assert_lacks(files, "chpasswd"); /* no hash: none made up */
	free(files);
	/* never over a file that exists; too small a volume */
	assert_int_equal(xp_cloud_seed_write(&seed, path, XP_CLOUD_SEED_SIZE, &d), -EEXIST);
	assert_int_equal(xp_cloud_seed_write(&seed, tpath("small"), 4096, &d), -EFBIG);
	assert_int_equal(access(tpath("small"), F_OK), -1);
	xp_cloud_seed_release(&seed);
	xp_diags_release(&d);
	/* a preseed is no user data */
	assert_int_equal(xp_settings_set(&s, "root-password-hash", "$6$a$b"), 0);
	assert_int_equal(xp_cloud_seed_render(inv, &sub, "debian-preseed", &seed, &d), -EINVAL);
	xp_test_assert_contains(d.v[0].msg, "is not cloud-init user data");
	xp_diags_release(&d);
	xp_settings_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shipped_parse),     cmocka_unit_test(test_vars),
	    xp_test_in_scratch(test_store),	      xp_test_in_scratch(test_system_files),
	    cmocka_unit_test(test_boot_args),	      xp_test_in_scratch(test_seed),
	};
	return xp_test_run_backends(tests, NULL);
}
