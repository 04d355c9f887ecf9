#!/bin/bash
# serve-autoinstall-debian-uefi.sh - serve-autoinstall-debian.sh with OVMF: the Debian 12
# image installed by the autoinstall installer on a UEFI machine (GPT, an EFI system
# partition, Debian's GRUB for EFI) and booted with systemd. See that script.
XP_AI_FIRMWARE=uefi exec bash "$(dirname "$0")/serve-autoinstall-debian.sh" "$@"
