/*
 * http-autoinstall.c - /autoinstall/: each system's autoinstall files (template.h),
 * rendered on request from the inventory:
 *   /autoinstall/NAME[/FILE]          the system of that name
 *   /autoinstall/by-mac/MAC[/FILE]    the system of that MAC (any spelling
 *                                     xp_mac_parse reads), for clients that know
 *                                     their MAC but not their name (an iPXE
 *                                     script's ${net0/mac})
 * FILE is nothing (the system's template: its preseed or kickstart), user-data,
 * meta-data, network-config or vendor-data (cloud-init's NoCloud names, which it
 * appends to the URL a ds=nocloud;s= argument gives).
 *
 * Who may read them. What HTTP serves without the token is read by the whole boot
 * network, and a rendered file holds the system's password hash and SSH keys (Cobbler
 * serves them to anyone who asks). So a system's files go only to a client at the
 * system's own address as the boot server knows it (xp_install_peer_is_system, the rule
 * of the installer's token): its reserved address when it has one, else the address
 * the DHCP server leased to its MAC (bound, not expired); or to a request
 * carrying the API token (the operator's own checks). Anyone else gets 403 and a
 * warning in the log. This ties the file to the address, not to the machine: on a
 * network where one client can take another's address (ARP or IP spoofing, no DHCP
 * snooping on the switches), keep password hashes out of templates (the shipped
 * cloud-init user-data works with SSH keys alone) or isolate the install network.
 *
 * Not here: rendering (template/), the rest of HTTP (http.c).
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "net/http-internal.h"
#include "xenprov/autoinstall.h"
#include "xenprov/mac.h"
#include "xenprov/template.h"

static enum MHD_Result text_reply(struct MHD_Connection *c, unsigned status, const char *msg)
{
	return xp__http_reply_text(c, status, "text/plain", msg, strlen(msg));
}

enum MHD_Result xp__http_autoinstall(struct http_srv *h, struct MHD_Connection *c, const char *rest)
{
	/* NAME[/FILE] or by-mac/MAC[/FILE] */
	char key[128], file[32] = "";
	bool by_mac = strncmp(rest, "by-mac/", 7) == 0;
	const char *p = by_mac ? rest + 7 : rest;
	size_t n = strcspn(p, "/");
	if (n == 0 || n >= sizeof(key))
		return text_reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	memcpy(key, p, n);
	key[n] = 0;
	if (p[n] == '/' && (strlen(p + n + 1) >= sizeof(file) || strchr(p + n + 1, '/')))
		return text_reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (p[n] == '/')
		snprintf(file, sizeof(file), "%s", p + n + 1);
	enum xp_autoinstall_file f;
	if (xp_autoinstall_file_parse(file, &f) < 0)
		return text_reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	struct xp_system s = {0};
	int r = by_mac ? xp_system_find_mac(h->inv, key, &s)
		       : xp_system_name_valid(key) ? xp_system_get(h->inv, key, &s)
						   : -ENOENT;
	if (r == -ENOENT || r == -EINVAL)
		return text_reply(c, MHD_HTTP_NOT_FOUND, "not found\n");
	if (r < 0)
		return text_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "cannot read the inventory\n");

	uint32_t ip = 0;
	char peer[INET_ADDRSTRLEN] = "?";
	bool v4 = xp__http_peer(c, &ip, peer);
	bool token = xp__http_authorized(h, c);
	int mine = !token && v4 ? xp_install_peer_is_system(h->inv, &s, ip) : 0;
	enum MHD_Result res;
	if (!token && mine <= 0) {
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "autoinstall: refused %s of system '%s' to %s: not its address "
				  "(%s%s%s)",
				  file[0] ? file : "the file", s.name, peer,
				  s.ip ? "its reservation: " : "none reserved; none leased to ",
				  s.ip ? s.ip : s.mac, s.ip ? "" : " there");
		res = text_reply(c, MHD_HTTP_FORBIDDEN,
				 "forbidden: a system's autoinstall files go to its own address "
				 "only\n");
		goto out;
	}
	char base[256];
	xp__serve_http_base(h->s, &h->settings, base, sizeof(base));
	struct xp_buf body = XP_BUF_INIT;
	struct xp_diags d = {0};
	char *used = NULL;
	r = xp_autoinstall_render(h->inv, &s, f, base[0] ? base : NULL, &body, &used, &d);
	if (r < 0) {
		const struct xp_diag *g = d.n ? &d.v[0] : NULL;
		char msg[600];
		if (g && g->line)
			snprintf(msg, sizeof(msg), "%s:%u:%u: %s", g->file ? g->file : "", g->line,
				 g->col, g->msg);
		else
			snprintf(msg, sizeof(msg), "%s", g ? g->msg : strerror(-r));
		xp__serve_limited(h->s, SRC_HTTP, LOG_WARNING,
				  "autoinstall: cannot render %s of system '%s' for %s: %s",
				  file[0] ? file : "the file", s.name, peer, msg);
		struct xp_buf e = XP_BUF_INIT;
		xp_buf_addf(&e, "cannot render the autoinstall file: %s\n", msg);
		res = xp__http_reply_text(c, r == -ENOENT ? MHD_HTTP_NOT_FOUND
							  : MHD_HTTP_INTERNAL_SERVER_ERROR,
					  "text/plain", xp_buf_str(&e), e.len);
		xp_buf_release(&e);
	} else {
		/* one line per file an installer fetched, never dropped: the record of who
		 * got a password hash (refusals, which anyone can cause, are limited) */
		xp__serve_log(h->s, LOG_INFO,
			      "http: autoinstall: /autoinstall/%s served to %s (system '%s', "
			      "template %s%s)",
			      rest, peer, s.name, used ? used : "none",
			      token ? ", with the API token" : "");
		res = xp__http_reply_text(c, MHD_HTTP_OK, "text/plain", body.s ? body.s : "",
					  body.len);
	}
	if (body.s)
		explicit_bzero(body.s, body.cap); /* the password hash */
	xp_buf_release(&body);
	xp_diags_release(&d);
	free(used);
out:
	xp_system_release(&s);
	return res;
}
