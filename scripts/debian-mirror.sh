#!/bin/sh
# Prints the URI of the system's own Debian entry (the mirror its `bookworm` suite comes from),
# from a one-line /etc/apt/sources.list(.d/*.list) or a deb822 /etc/apt/sources.list.d/*.sources,
# so that a suite such as bookworm-backports can be added from the same mirror:
#   echo "deb $(scripts/debian-mirror.sh) bookworm-backports main" > /etc/apt/sources.list.d/backports.list
set -eu
uri=$(grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
  | awk '/bookworm/ && !/security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; exit } }')
if [ -z "$uri" ]; then
  uri=$(awk 'BEGIN { RS = "" }
    /Suites:[^\n]*bookworm/ && !/security/ {
      if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s = substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null)
fi
if [ -z "$uri" ]; then
  echo "error: no Debian bookworm entry in /etc/apt/sources.list or /etc/apt/sources.list.d/" >&2
  exit 1
fi
echo "$uri"
