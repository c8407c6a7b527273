#!/usr/bin/env bash
# Test hosts on one machine: each "host" is a Linux network namespace with its own
# IPv4 address on a private bridge, so island-node processes talk over real TCP
# between distinct addresses and a host can be cut off the network and restored.
#
# Usage (as root):
#   netns-hosts.sh up N            make hosts 1..N  (names PREFIX-h1 .. PREFIX-hN)
#   netns-hosts.sh down            kill what runs inside, delete hosts and bridge
#   netns-hosts.sh list            print "NAME IP up|cut" per host
#   netns-hosts.sh ip HOST         print the host's IP address
#   netns-hosts.sh cut HOST        take the host off the network (its link goes down)
#   netns-hosts.sh restore HOST    put it back
#   netns-hosts.sh exec HOST CMD...  run CMD inside the host's namespace
# HOST is an index (3), a short name (h3) or the namespace name (PREFIX-h3).
#
# Environment:
#   NETNS_PREFIX  name prefix for namespaces and links, [a-z0-9], at most 10 chars
#                 (default: isl). Different prefixes never clash, so concurrent
#                 test runs each pick their own.
#   NETNS_SUBNET  first three octets of the /24 the hosts live in (default: 10.77.0).
#                 Host i gets SUBNET.i, the bridge in the root namespace SUBNET.254.
#
# Traffic stays on this machine: the bridge has no uplink, the namespaces have no
# default route, and nothing here enables forwarding or NAT.
set -euo pipefail

PREFIX="${NETNS_PREFIX:-isl}"
SUBNET="${NETNS_SUBNET:-10.77.0}"
BRIDGE="${PREFIX}-br"
FW_COMMENT="island-netns-${PREFIX}"

die() { echo "netns-hosts: $*" >&2; exit 1; }

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
    exit 2
}

check_names() {
    [[ "$PREFIX" =~ ^[a-z0-9]{1,10}$ ]] || die "NETNS_PREFIX must be 1-10 chars of [a-z0-9], got '$PREFIX'"
    [[ "$SUBNET" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "NETNS_SUBNET must look like 10.77.0, got '$SUBNET'"
}

ns_name() { echo "${PREFIX}-h$1"; }
veth_root() { echo "${PREFIX}-v$1"; }

# Host index from "3", "h3" or "PREFIX-h3".
host_index() {
    local host="$1" idx
    case "$host" in
        "${PREFIX}-h"*) idx="${host#"${PREFIX}"-h}" ;;
        h*) idx="${host#h}" ;;
        *) idx="$host" ;;
    esac
    [[ "$idx" =~ ^[0-9]+$ ]] || die "not a host: '$host'"
    ip netns list | awk '{print $1}' | grep -qx "$(ns_name "$idx")" \
        || die "no such host: '$host' (prefix $PREFIX)"
    echo "$idx"
}

# Indices of existing hosts with this prefix, in numeric order.
host_indices() {
    ip netns list | awk '{print $1}' | sed -n "s/^${PREFIX}-h\([0-9][0-9]*\)\$/\1/p" | sort -n
}

bridge_netfilter_on() {
    [[ -r /proc/sys/net/bridge/bridge-nf-call-iptables ]] \
        && [[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" == 1 ]]
}

# With br_netfilter loaded, bridged frames pass the iptables FORWARD chain, which
# Docker hosts set to DROP. Let our bridge's own traffic through, nothing else.
allow_bridge_forwarding() {
    if bridge_netfilter_on && command -v iptables >/dev/null 2>&1; then
        iptables -I FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT \
            -m comment --comment "$FW_COMMENT" 2>/dev/null \
            || echo "netns-hosts: warning: could not add iptables FORWARD rule for $BRIDGE" >&2
    fi
}

remove_bridge_forwarding() {
    if command -v iptables >/dev/null 2>&1; then
        while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT \
            -m comment --comment "$FW_COMMENT" 2>/dev/null; do :; done
    fi
}

write_hosts_files() {
    local n="$1" i j
    for ((i = 1; i <= n; i++)); do
        mkdir -p "/etc/netns/$(ns_name "$i")"
        {
            echo "127.0.0.1 localhost"
            for ((j = 1; j <= n; j++)); do
                echo "${SUBNET}.${j} $(ns_name "$j") h${j}"
            done
        } >"/etc/netns/$(ns_name "$i")/hosts"
    done
}

cmd_up() {
    local n="${1:-}" i ns
    if ! [[ "$n" =~ ^[0-9]+$ ]] || ((n < 1 || n > 250)); then
        die "up needs a host count 1..250"
    fi
    ip link show "$BRIDGE" >/dev/null 2>&1 && die "bridge $BRIDGE exists: run 'down' first"
    [[ -z "$(host_indices)" ]] || die "hosts with prefix $PREFIX exist: run 'down' first"
    [[ -z "$(ip -4 route show "${SUBNET}.0/24")" ]] \
        || die "${SUBNET}.0/24 is already routed on this machine: pick another NETNS_SUBNET"

    # A half-built set of hosts is worse than none.
    trap 'echo "netns-hosts: up failed, tearing down" >&2; cmd_down' ERR

    ip link add "$BRIDGE" type bridge
    ip link set "$BRIDGE" up
    ip addr add "${SUBNET}.254/24" dev "$BRIDGE"
    allow_bridge_forwarding

    for ((i = 1; i <= n; i++)); do
        ns="$(ns_name "$i")"
        ip netns add "$ns"
        ip link add "$(veth_root "$i")" type veth peer name "${PREFIX}-p${i}"
        ip link set "${PREFIX}-p${i}" netns "$ns"
        ip -n "$ns" link set "${PREFIX}-p${i}" name eth0
        ip -n "$ns" addr add "${SUBNET}.${i}/24" dev eth0
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
        ip link set "$(veth_root "$i")" master "$BRIDGE" up
    done
    write_hosts_files "$n"
    trap - ERR
    cmd_list
}

# Stop every process still inside the namespace: a deleted namespace with live
# processes lingers, and so would its sockets.
kill_inside() {
    local ns="$1" pids
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    [[ -z "$pids" ]] && return 0
    # shellcheck disable=SC2086  # one pid per word
    kill -TERM $pids 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        sleep 0.5
        [[ -z "$(ip netns pids "$ns" 2>/dev/null || true)" ]] && return 0
    done
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
}

cmd_down() {
    local i link
    for i in $(host_indices); do
        kill_inside "$(ns_name "$i")"
        ip netns del "$(ns_name "$i")" 2>/dev/null || true
        rm -rf "/etc/netns/$(ns_name "$i")"
    done
    # Root ends of veth pairs vanish with their namespaces; sweep any strays.
    for link in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' \
        | grep -E "^${PREFIX}-[vp][0-9]+\$" || true); do
        ip link del "$link" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    remove_bridge_forwarding
}

cmd_list() {
    local i state
    for i in $(host_indices); do
        if ip link show "$(veth_root "$i")" 2>/dev/null | grep -q '[<,]UP[,>]'; then
            state="up"
        else
            state="cut"
        fi
        echo "$(ns_name "$i") ${SUBNET}.${i} ${state}"
    done
}

main() {
    [[ $# -ge 1 ]] || usage
    check_names
    local cmd="$1" idx
    shift
    case "$cmd" in
        up) cmd_up "$@" ;;
        down) cmd_down ;;
        list) cmd_list ;;
        ip | cut | restore)
            [[ $# -eq 1 ]] || usage
            # Separate assignment: a failing lookup must stop the script here.
            idx="$(host_index "$1")"
            case "$cmd" in
                ip) echo "${SUBNET}.${idx}" ;;
                cut) ip link set "$(veth_root "$idx")" down ;;
                restore) ip link set "$(veth_root "$idx")" up ;;
            esac
            ;;
        exec)
            [[ $# -ge 2 ]] || usage
            idx="$(host_index "$1")"
            shift
            exec ip netns exec "$(ns_name "$idx")" "$@"
            ;;
        *) usage ;;
    esac
}

main "$@"
