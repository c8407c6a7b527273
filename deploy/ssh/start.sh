#!/usr/bin/env bash
# Start one island-node per line of a hosts file, over ssh, all at once.
#   deploy/ssh/start.sh hosts.txt
# Every node gets the same peers file (all addresses in hosts.txt) and its own
# run directory; starting again with the same RUN_NAME resumes from checkpoints.
# Variables: see common.sh (RUN_NAME, ISLAND_ARGS, ISLAND_NODE, ISLAND_SSH_OPTS...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"

[[ $# -eq 1 ]] || die "usage: $0 HOSTS_FILE"
read_hosts "$1"
PEERS="$(peers_text)"

start_node() {
    local i="$1" dir bind port
    dir="$(node_dir "$i")"
    port="${NODE_ADDRS[$i]##*:}"
    bind="tcp://0.0.0.0:${port}"
    [[ "${NODE_ADDRS[$i]}" == \[* ]] && bind="tcp://[::]:${port}"
    local -a node_cmd=(
        "$ISLAND_NODE" --peers peers.txt --bind "$bind"
        --advertise "tcp://${NODE_ADDRS[$i]}" --run-dir run --node-id "${NODE_NAMES[$i]}"
    )
    # shellcheck disable=SC2206  # ISLAND_ARGS is a flag list, split on purpose
    node_cmd+=($ISLAND_ARGS)
    # The node records its own pid (exec keeps it), detached from the ssh session
    # so it survives the logout; a node that is already running is left alone.
    local script
    script="set -e; mkdir -p $(quote_args "$dir"); cd $(quote_args "$dir")
if [ -f node.pid ] && kill -0 \"\$(cat node.pid)\" 2>/dev/null; then echo already running; exit 0; fi
cat > peers.txt
nohup sh -c 'echo \$\$ > node.pid; exec \"\$@\"' island-node $(quote_args "${node_cmd[@]}") > node.out 2>&1 < /dev/null &
sleep 1
if kill -0 \"\$(cat node.pid)\" 2>/dev/null; then echo started pid \$(cat node.pid); else echo exited at once:; tail -n 20 node.out; exit 1; fi"
    printf '%s\n' "$PEERS" | remote "${NODE_TARGETS[$i]}" "$script" \
        | sed "s/^/${NODE_NAMES[$i]}: /"
}

for_each_node start_node
