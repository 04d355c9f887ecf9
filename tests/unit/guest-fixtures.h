/*
 * guest-fixtures.h - what the guest tests share (test-guest-edit.c, test-guest-hooks.c,
 * test-guest-text.c): the settings of a static IPv4 guest (web01.example.com on
 * 192.0.2.10/24 with a gateway, two name servers, a MAC in upper case, root's password
 * hash and SSH key) and the UUID their images' root filesystems are made with.
 * Header-only (the assertions they share are testlib.h's).
 */
#ifndef XP_GUEST_FIXTURES_H
#define XP_GUEST_FIXTURES_H

#include "xenprov/guest.h"

#define FS_UUID "6a0c8e1e-5b7d-4f0e-9a51-0f3c2d1e4b5a"
#define HASH	"$6$saltsalt$QWERTYUIOPasdfghjklzxcvbnm0123456789./QWERTYUIOPasdfghjklzxcvbnm012345678"
#define KEY	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ7x0example0key0for0tests root@admin"

static const char *const DNS[] = {"192.0.2.53", "2001:db8::53"};

/* An initializer: the static IPv4 guest. */
#define GUEST_V4                                                                                   \
	{                                                                                          \
		.hostname = "web01", .domain = "example.com", .mac = "00:16:3E:12:34:56",          \
		.ip = "192.0.2.10", .prefix = 24, .gateway = "192.0.2.1", .dns = DNS, .ndns = 2,   \
		.root_password_hash = HASH, .ssh_key = KEY,                                        \
	}

static inline struct xp_guest_settings static_settings(void)
{
	struct xp_guest_settings s = GUEST_V4;
	return s;
}

#endif
