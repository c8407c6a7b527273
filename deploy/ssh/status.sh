#!/usr/bin/env bash
# Is each node of a hosts file running, and what did it last log?
#   deploy/ssh/status.sh hosts.txt
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"

[[ $# -eq 1 ]] || die "usage: $0 HOSTS_FILE"
read_hosts "$1"

node_status() {
    local i="$1" script
    script="cd $(quote_args "$(node_dir "$i")") 2>/dev/null || { echo no run directory; exit 0; }
if [ -f node.pid ] && kill -0 \"\$(cat node.pid)\" 2>/dev/null; then state=running; else state=stopped; fi
echo \"\$state \$(tail -n 1 run/log.jsonl 2>/dev/null)\""
    remote "${NODE_TARGETS[$i]}" "$script" | sed "s/^/${NODE_NAMES[$i]}: /"
}

for_each_node node_status
