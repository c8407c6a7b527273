#!/usr/bin/env bash
# Write a peers file for the network-namespace test hosts made by netns-hosts.sh.
#
# Usage: peers.sh [-p PORT] [-n] [-o FILE]
#   -p PORT  port every node binds (default 5555)
#   -n       use host names (PREFIX-hI, resolvable inside the namespaces) not IPs
#   -o FILE  write to FILE instead of stdout
# NETNS_PREFIX / NETNS_SUBNET select the set of hosts, as for netns-hosts.sh.
set -euo pipefail

port=5555
use_names=0
out=""
while getopts "p:no:h" opt; do
    case "$opt" in
        p) port="$OPTARG" ;;
        n) use_names=1 ;;
        o) out="$OPTARG" ;;
        *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done
[[ "$port" =~ ^[0-9]+$ ]] || { echo "peers.sh: bad port '$port'" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
hosts="$("$here/netns-hosts.sh" list)"
[[ -n "$hosts" ]] || { echo "peers.sh: no hosts (run netns-hosts.sh up N first)" >&2; exit 1; }

peers="$(
    echo "# island-node peers: network-namespace hosts ${NETNS_PREFIX:-isl}-h*"
    while read -r name addr _state; do
        if ((use_names)); then
            echo "tcp://${name}:${port}"
        else
            echo "tcp://${addr}:${port}"
        fi
    done <<<"$hosts"
)"

if [[ -n "$out" ]]; then
    printf '%s\n' "$peers" >"$out"
else
    printf '%s\n' "$peers"
fi
