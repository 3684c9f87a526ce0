#!/usr/bin/env bash
# Makes sure the Dovecot binaries the test suite needs are present (test/support/dovecot.ts
# starts private instances with their own config, ports and maildirs). Fast when already
# installed. Never touches /etc/dovecot and never starts, stops or reconfigures the system
# service: if the package's postinst starts it, it is harmless because our instances use their
# own base_dir and ports.
set -euo pipefail

find_bin() {
  command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true
}

if [ -n "$(find_bin dovecot)" ] && [ -n "$(find_bin doveadm)" ] && [ -x /usr/lib/dovecot/imap ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-dovecot: Dovecot (package dovecot-imapd) is not installed and this user is not root." >&2
  echo "ensure-dovecot: install it once as root: apt-get update && apt-get install -y dovecot-imapd" >&2
  exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-dovecot: apt-get not found; install Dovecot 2.3+ with its IMAP server by hand." >&2
  exit 1
fi

echo "ensure-dovecot: installing dovecot-imapd..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dovecot-imapd >/dev/null

if [ -z "$(find_bin dovecot)" ]; then
  echo "ensure-dovecot: installation finished but the dovecot binary is still missing." >&2
  exit 1
fi
echo "ensure-dovecot: $("$(find_bin dovecot)" --version) installed." >&2
