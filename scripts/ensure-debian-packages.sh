#!/usr/bin/env bash
# Makes sure Debian packages are installed: as root it installs the missing ones with apt-get; as
# anyone else it prints one line naming them and why they are needed, and exits 1, because a
# test tier that quietly skipped for want of a package would look like a pass.
#
# Usage: scripts/ensure-debian-packages.sh WHO WHY PACKAGE...
#   WHO  names the caller in the messages (e.g. "npm test")
#   WHY  says what the packages are for, in a few words
# Fast when nothing is missing: one dpkg-query, no apt-get.
set -euo pipefail
who="$1" why="$2"
shift 2

# dpkg -s succeeds for removed-but-configured packages too, so ask for the installed state; a
# package dpkg has never heard of is simply absent from the answer.
installed=" $(dpkg-query -W -f='${Package}:${db:Status-Status} ' "$@" 2>/dev/null || true) "
missing=()
for pkg in "$@"; do
  [[ "$installed" == *" $pkg:installed "* ]] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "$who needs the Debian packages ${missing[*]} ($why); only root can install them: run" \
    "\`sudo apt-get install -y ${missing[*]}\` and then $who again." >&2
  exit 1
fi

echo "$who: installing Debian packages ${missing[*]} ($why)" >&2
export DEBIAN_FRONTEND=noninteractive
# Another apt-get (an unattended upgrade, a second test run) may hold the dpkg lock for a while:
# wait for it rather than fail.
lock_wait=(-o DPkg::Lock::Timeout=600)
# A failed index refresh (one mirror unreachable) may still leave every package installable from
# the lists already here, so it is reported but not fatal; a package that then cannot be
# installed fails below with apt-get's own message.
apt-get "${lock_wait[@]}" update -qq >&2 || echo "$who: apt-get update failed; trying the package lists already here" >&2
apt-get "${lock_wait[@]}" install -y -qq "${missing[@]}" >&2
