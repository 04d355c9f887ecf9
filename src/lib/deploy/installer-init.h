/*
 * installer-init.h - the installer's /init and udhcpc script (installer-init.c).
 */
#ifndef XP_INSTALLER_INIT_H
#define XP_INSTALLER_INIT_H

extern const char xp__installer_init[];
extern const char xp__installer_udhcpc[];

#endif
