/*
 * shipped.c - the autoinstall templates xenprov ships (xenprov/template.h): a Debian
 * preseed, a Red Hat kickstart and cloud-init's NoCloud files (user-data, meta-data,
 * network-config version 2). None holds a password: the preseed and the kickstart
 * interpolate root-password-hash, which the renderer requires (rendering them for a
 * profile without one is an error, never a default); cloud-init's user-data sets it
 * only when it is given, and otherwise leaves root's password locked, SSH keys the
 * way in.
 *
 * Values that are not plain words go in their quoted forms (a key's "shell" and
 * "json"): preseed's late_command is run by sh, and a JSON string is a YAML scalar.
 *
 * Not here: storing templates (inventory/templates.c), the variables (vars.c).
 */
#include <string.h>

#include "xenprov/template.h"

static const char debian_preseed[] =
    "{{! xenprov's Debian preseed (debian-installer, bookworm). Copy it and change what\n"
    "    you need: xenprov template show debian-preseed > my.cfg }}\n"
    "# {{name}}: rendered by xenprov from template debian-preseed\n"
    "d-i debian-installer/locale string en_US.UTF-8\n"
    "d-i keyboard-configuration/xkb-keymap select us\n"
    "d-i netcfg/choose_interface select auto\n"
    "d-i netcfg/get_hostname string {{hostname}}\n"
    "d-i netcfg/get_domain string {{domain}}\n"
    "d-i netcfg/hostname string {{hostname}}\n"
    "d-i mirror/country string manual\n"
    "d-i mirror/http/hostname string deb.debian.org\n"
    "d-i mirror/http/directory string /debian\n"
    "d-i mirror/http/proxy string\n"
    "d-i passwd/root-login boolean true\n"
    "d-i passwd/make-user boolean false\n"
    "d-i passwd/root-password-crypted password {{{root-password-hash}}}\n"
    "d-i clock-setup/utc boolean true\n"
    "d-i time/zone string {{#timezone}}{{.}}{{/timezone}}{{^timezone}}Etc/UTC{{/timezone}}\n"
    "d-i clock-setup/ntp boolean true\n"
    "d-i partman-auto/method string regular\n"
    "d-i partman-auto/choose_recipe select atomic\n"
    "d-i partman-partitioning/confirm_write_new_label boolean true\n"
    "d-i partman/choose_partition select finish\n"
    "d-i partman/confirm boolean true\n"
    "d-i partman/confirm_nooverwrite boolean true\n"
    "tasksel tasksel/first multiselect standard, ssh-server\n"
    "d-i pkgsel/upgrade select none\n"
    "popularity-contest popularity-contest/participate boolean false\n"
    "d-i grub-installer/only_debian boolean true\n"
    "d-i grub-installer/bootdev string default\n"
    "{{#has-ssh-keys}}\n"
    "d-i preseed/late_command string mkdir -p -m 700 /target/root/.ssh;"
    "{{#ssh-keys}} echo {{{shell}}} >>/target/root/.ssh/authorized_keys;{{/ssh-keys}}"
    " chmod 600 /target/root/.ssh/authorized_keys\n"
    "{{/has-ssh-keys}}\n"
    "d-i finish-install/reboot_in_progress note\n";

static const char redhat_kickstart[] =
    "{{! xenprov's kickstart (Anaconda: RHEL, Fedora, Rocky, Alma). Copy it and change\n"
    "    what you need: xenprov template show redhat-kickstart > my.ks }}\n"
    "# {{name}}: rendered by xenprov from template redhat-kickstart\n"
    "text\n"
    "lang en_US.UTF-8\n"
    "keyboard us\n"
    "timezone {{#timezone}}{{.}}{{/timezone}}{{^timezone}}Etc/UTC{{/timezone}} --utc\n"
    "network --bootproto=dhcp --hostname={{fqdn}} --activate\n"
    "rootpw --iscrypted {{{root-password-hash}}}\n"
    "{{#ssh-keys}}\n"
    "sshkey --username=root {{{json}}}\n"
    "{{/ssh-keys}}\n"
    "zerombr\n"
    "clearpart --all --initlabel\n"
    "autopart\n"
    "bootloader\n"
    "reboot\n"
    "\n"
    "%packages\n"
    "@^minimal-environment\n"
    "openssh-server\n"
    "%end\n";

static const char cloud_user_data[] =
    "#cloud-config\n"
    "# {{name}}: rendered by xenprov from template cloud-init-user-data\n"
    "hostname: {{hostname}}\n"
    "fqdn: {{fqdn}}\n"
    "users: []\n"
    "disable_root: false\n"
    "ssh_pwauth: false\n"
    "{{#has-ssh-keys}}\n"
    "ssh_authorized_keys:\n"
    "{{#ssh-keys}}\n"
    "  - {{{json}}}\n"
    "{{/ssh-keys}}\n"
    "{{/has-ssh-keys}}\n"
    "{{#root-password-hash}}\n"
    "chpasswd:\n"
    "  expire: false\n"
    "  users:\n"
    "    - name: root\n"
    "      password: \"{{{.}}}\"\n"
    "      type: hash\n"
    "{{/root-password-hash}}\n"
    "{{#timezone}}\n"
    "timezone: {{.}}\n"
    "{{/timezone}}\n";

static const char cloud_meta_data[] = "instance-id: {{instance-id}}\n"
				      "local-hostname: {{hostname}}\n";

static const char cloud_network_config[] =
    "version: 2\n"
    "ethernets:\n"
    "{{#nics}}\n"
    "  nic{{index}}:\n"
    "    match:\n"
    "      macaddress: \"{{mac}}\"\n"
    "{{#dhcp}}\n"
    "    dhcp4: true\n"
    "{{^default-route}}\n"
    "    dhcp4-overrides:\n"
    "      use-routes: false\n"
    "{{/default-route}}\n"
    "{{/dhcp}}\n"
    "{{#static}}\n"
    "    dhcp4: false\n"
    "    addresses:\n"
    "      - {{ip}}/{{prefix}}\n"
    "{{#gateway}}\n"
    "    routes:\n"
    "      - to: default\n"
    "        via: {{.}}\n"
    "{{/gateway}}\n"
    "{{#has-nameservers}}\n"
    "    nameservers:\n"
    "      addresses:\n"
    "{{#nameservers}}\n"
    "        - {{.}}\n"
    "{{/nameservers}}\n"
    "{{#domain}}\n"
    "      search:\n"
    "        - {{.}}\n"
    "{{/domain}}\n"
    "{{/has-nameservers}}\n"
    "{{/static}}\n"
    "{{/nics}}\n";

const struct xp_shipped_template xp_shipped_templates[] = {
    {XP_TEMPLATE_CLOUD_META_DATA, "cloud-init NoCloud meta-data: instance-id, host name",
     cloud_meta_data},
    {XP_TEMPLATE_CLOUD_NETWORK_CONFIG,
     "cloud-init NoCloud network-config (version 2): every NIC by its MAC", cloud_network_config},
    {XP_TEMPLATE_CLOUD_USER_DATA,
     "cloud-init NoCloud user-data: host name, root's SSH keys, password hash if set",
     cloud_user_data},
    {"debian-preseed", "Debian installer preseed: whole disk, root's password hash and SSH keys",
     debian_preseed},
    {"redhat-kickstart", "Anaconda kickstart: whole disk, root's password hash and SSH keys",
     redhat_kickstart},
    {NULL, NULL, NULL},
};

const struct xp_shipped_template *xp_template_shipped(const char *name)
{
	for (const struct xp_shipped_template *t = xp_shipped_templates; name && t->name; t++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}
