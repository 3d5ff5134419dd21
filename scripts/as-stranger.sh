#!/usr/bin/env bash
# Runs a command as if on another machine: another host name, domain name and
# kernel release, so a test that only passes where it was written (a golden
# holding this machine's `uname -r` or host name) fails here too, at once.
#
#   scripts/as-stranger.sh cargo test --locked
#
# How: a new UTS namespace (host and domain name), a private mount namespace
# in which a file holding a made-up release is bind-mounted over
# /proc/sys/kernel/osrelease, and the UNAME26 personality (setarch
# --uname-2.6), under which uname(2) reports a 2.6 release. The real host
# name and release are passed on in AP_EXPORTER_REAL_HOSTNAME and
# AP_EXPORTER_REAL_RELEASE, for tests/host_identity.rs to search the tests
# for. Needs root (make test runs as root, as CI does); without it, the
# command runs as it is, with a warning.
set -euo pipefail

[ "$#" -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

# Already a stranger (make test run by a stranger): nothing more to fake.
[ "${AP_EXPORTER_STRANGER:-}" = done ] && exec "$@"

: "${AP_EXPORTER_REAL_HOSTNAME:=$(cat /proc/sys/kernel/hostname)}"
: "${AP_EXPORTER_REAL_RELEASE:=$(cat /proc/sys/kernel/osrelease)}"
export AP_EXPORTER_REAL_HOSTNAME AP_EXPORTER_REAL_RELEASE

if [ "${AP_EXPORTER_STRANGER:-}" = 1 ]; then
  # Inside the namespaces (the second half of this script, below).
  release=9.9.9-stranger
  fake=$(mktemp)
  echo "$release" > "$fake"
  mount --bind "$fake" /proc/sys/kernel/osrelease
  rm -f "$fake"
  echo "stranger-$$" > /proc/sys/kernel/hostname
  echo "stranger.invalid" > /proc/sys/kernel/domainname
  echo "as-stranger: host name $(cat /proc/sys/kernel/hostname), kernel $(cat /proc/sys/kernel/osrelease) in /proc, $(setarch "$(uname -m)" --uname-2.6 uname -r) from uname(2)" >&2
  AP_EXPORTER_STRANGER=done exec setarch "$(uname -m)" --uname-2.6 "$@"
fi

if [ "$(id -u)" -ne 0 ] || ! unshare --uts --mount true 2>/dev/null; then
  echo "as-stranger: cannot make namespaces here (needs root); running with this machine's identity" >&2
  exec "$@"
fi
AP_EXPORTER_STRANGER=1 exec unshare --uts --mount --propagation private "$0" "$@"
