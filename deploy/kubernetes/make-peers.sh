#!/bin/sh
# Init step of the island StatefulSet: write the peers file from the replica count
# and the pods' stable DNS names (<set>-<i>.<service>.<namespace>.svc.<domain>).
#
# Environment: ISLAND_REPLICAS (keep equal to spec.replicas; nodes added later are
# still learned through peer exchange), POD_NAMESPACE, ISLAND_SET (default island),
# ISLAND_SERVICE (default island), CLUSTER_DOMAIN (default cluster.local),
# ISLAND_PORT (default 5555), PEERS_FILE (default /etc/island/peers.txt),
# DNS_WAIT seconds to wait for the names to resolve (default 60; 0: do not wait).
set -eu

replicas="${ISLAND_REPLICAS:?set ISLAND_REPLICAS to the StatefulSet replica count}"
namespace="${POD_NAMESPACE:?set POD_NAMESPACE from the downward API}"
set_name="${ISLAND_SET:-island}"
service="${ISLAND_SERVICE:-island}"
domain="${CLUSTER_DOMAIN:-cluster.local}"
port="${ISLAND_PORT:-5555}"
peers_file="${PEERS_FILE:-/etc/island/peers.txt}"
dns_wait="${DNS_WAIT:-60}"

peer_name() {
    echo "${set_name}-$1.${service}.${namespace}.svc.${domain}"
}

tmp="${peers_file}.tmp"
mkdir -p "$(dirname "$peers_file")"
{
    echo "# island-node peers: pods of StatefulSet ${set_name} in ${namespace}"
    i=0
    while [ "$i" -lt "$replicas" ]; do
        echo "$(peer_name "$i"):${port}"
        i=$((i + 1))
    done
} >"$tmp"
mv "$tmp" "$peers_file"
cat "$peers_file"

# Nodes tolerate unreachable peers, but a name that does not resolve yet can make
# the first connection attempts fail; give the cluster DNS a moment (bounded).
if [ "$dns_wait" -gt 0 ] && command -v getent >/dev/null 2>&1; then
    deadline=$(($(date +%s) + dns_wait))
    i=0
    while [ "$i" -lt "$replicas" ]; do
        until getent hosts "$(peer_name "$i")" >/dev/null 2>&1; do
            if [ "$(date +%s)" -ge "$deadline" ]; then
                echo "make-peers: $(peer_name "$i") does not resolve yet; starting anyway" >&2
                exit 0
            fi
            sleep 1
        done
        i=$((i + 1))
    done
fi
