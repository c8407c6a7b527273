# shellcheck shell=bash
# Shared by start.sh, stop.sh, status.sh and collect.sh: the hosts file, ssh, and
# where each node keeps its files. Sourced, not run.
#
# Hosts file: one node per line, "#" comments and blank lines ignored:
#   SSH_TARGET [ADDRESS[:PORT]]
#   alice@gpu1.example.org                    # peers reach it as gpu1.example.org:5555
#   gpu2  10.1.0.2                            # ssh to gpu2, peers use 10.1.0.2:5555
#   gpu2  10.1.0.2:5556                       # a second node on the same machine
#   [fd00::3]  [fd00::3]:5555                 # IPv6 in brackets
#
# Environment:
#   RUN_NAME          name of the run (default: island); a node's files live in
#                     ISLAND_REMOTE_ROOT/RUN_NAME/NODE on its machine
#   ISLAND_REMOTE_ROOT  remote base directory (default: island-runs, in the remote home)
#   ISLAND_NODE       island-node command on the remote machines (default: island-node)
#   ISLAND_ARGS       further island-node flags, word-split (e.g. "--env CartPole-v1")
#   ISLAND_PORT       default port when ADDRESS has none (default: 5555)
#   ISLAND_SSH        ssh command (default: ssh)
#   ISLAND_SSH_OPTS   extra ssh options, word-split (e.g. "-i ~/.ssh/island -p 2222")

RUN_NAME="${RUN_NAME:-island}"
ISLAND_REMOTE_ROOT="${ISLAND_REMOTE_ROOT:-island-runs}"
ISLAND_NODE="${ISLAND_NODE:-island-node}"
ISLAND_ARGS="${ISLAND_ARGS:-}"
ISLAND_PORT="${ISLAND_PORT:-5555}"
ISLAND_SSH="${ISLAND_SSH:-ssh}"
ISLAND_SSH_OPTS="${ISLAND_SSH_OPTS:-}"

# Parallel arrays, one entry per node, filled by read_hosts.
NODE_TARGETS=()   # ssh target
NODE_ADDRS=()     # host:port peers use
NODE_NAMES=()     # node id and directory name, unique per node

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# "host", "host:port", "[v6]", "[v6]:port" -> "host:port" / "[v6]:port".
with_port() {
    local addr="$1"
    if [[ "$addr" =~ ^\[.*\]:[0-9]+$ || "$addr" =~ ^[^:]+:[0-9]+$ ]]; then
        echo "$addr"
    elif [[ "$addr" == *:* && "$addr" != \[* ]]; then
        echo "[$addr]:$ISLAND_PORT"   # bare IPv6
    else
        echo "$addr:$ISLAND_PORT"
    fi
}

read_hosts() {
    local file="$1" line target addr name
    [[ -r "$file" ]] || die "cannot read hosts file '$file'"
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%%#*}"
        read -r target addr _ <<<"$line" || true
        [[ -z "${target:-}" ]] && continue
        if [[ -z "${addr:-}" ]]; then
            addr="${target#*@}"
        fi
        addr="$(with_port "$addr")"
        # host-port, safe as a file name: "[fd00::3]:5555" -> "fd00--3-5555".
        name="$(echo "$addr" | tr -d '[]' | tr ':' '-' | tr -c 'A-Za-z0-9.\n-' '_')"
        NODE_TARGETS+=("$target")
        NODE_ADDRS+=("$addr")
        NODE_NAMES+=("$name")
    done <"$file"
    ((${#NODE_TARGETS[@]} > 0)) || die "no hosts in '$file'"
    local dups
    dups="$(printf '%s\n' "${NODE_NAMES[@]}" | sort | uniq -d)"
    [[ -z "$dups" ]] || die "the same address twice in '$file': $dups"
}

# Run a shell command on a node's machine. ssh joins its arguments into one
# remote command line, so the caller quotes with quote_args.
remote() {
    local target="$1"
    shift
    # shellcheck disable=SC2086  # ISLAND_SSH / ISLAND_SSH_OPTS are word lists
    $ISLAND_SSH $ISLAND_SSH_OPTS -o BatchMode=yes "$target" "$@"
}

quote_args() {
    local out="" arg
    for arg in "$@"; do
        out+="$(printf '%q' "$arg") "
    done
    echo "${out% }"
}

# Remote directory of node i; relative paths are relative to the remote home.
node_dir() {
    echo "${ISLAND_REMOTE_ROOT}/${RUN_NAME}/${NODE_NAMES[$1]}"
}

# The peers file every node gets: all addresses (each node ignores its own).
peers_text() {
    echo "# island-node peers, run ${RUN_NAME}"
    printf '%s\n' "${NODE_ADDRS[@]}"
}

# Run "$@ i" for every node at once; fail if any failed.
for_each_node() {
    local i failed=0
    local -a pids=()
    for i in "${!NODE_TARGETS[@]}"; do
        "$@" "$i" &
        pids+=($!)
    done
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || { echo "  ${NODE_NAMES[$i]}: failed" >&2; failed=1; }
    done
    return "$failed"
}
