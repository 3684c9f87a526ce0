#!/usr/bin/env bash
# Makes sure the programs the test suite drives are present, installing the missing ones from
# Debian's packages (as root):
# - Dovecot (dovecot-imapd): test/support/dovecot.ts starts private instances with their own
#   config, ports and maildirs. /etc/dovecot is never touched and the system service is never
#   started, stopped or reconfigured by us; if the package's postinst starts it, it is harmless
#   because our instances use their own base_dir and ports.
# - Chromium: the browser tests (test/browser/) drive it headless with playwright-core.
# - PostgreSQL (postgresql): test/support/postgres.ts runs initdb and pg_ctl from
#   /usr/lib/postgresql/*/bin on private temp clusters (as the postgres user when root); the
#   system cluster and /etc/postgresql are never used.
# Fast when all are installed.
set -euo pipefail

find_bin() {
  command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true
}

missing=()
if [ -z "$(find_bin dovecot)" ] || [ -z "$(find_bin doveadm)" ] || [ ! -x /usr/lib/dovecot/imap ]; then
  missing+=(dovecot-imapd)
fi
if [ -z "$(find_bin chromium)" ]; then
  # A font, so pages (and the screenshots under docs/) render text instead of empty boxes.
  missing+=(chromium fonts-dejavu-core)
fi
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  missing+=(postgresql)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-test-tools: missing ${missing[*]} and this user is not root." >&2
  echo "ensure-test-tools: install once as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: apt-get not found; install ${missing[*]} by hand (Dovecot 2.3+ with IMAP, Chromium, PostgreSQL 13+)." >&2
  exit 1
fi

echo "ensure-test-tools: installing ${missing[*]}..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

for bin in dovecot chromium; do
  if [ -z "$(find_bin "$bin")" ]; then
    echo "ensure-test-tools: installation finished but $bin is still missing." >&2
    exit 1
  fi
done
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  echo "ensure-test-tools: installation finished but PostgreSQL's pg_ctl is still missing." >&2
  exit 1
fi
echo "ensure-test-tools: $("$(find_bin dovecot)" --version | head -1), $(chromium --version 2>/dev/null | head -1) and PostgreSQL $(ls /usr/lib/postgresql | sort -V | tail -1) ready." >&2
