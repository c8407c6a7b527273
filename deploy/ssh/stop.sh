#!/usr/bin/env bash
# Stop the nodes of a hosts file: SIGTERM, so each writes a checkpoint and exits 0.
#   deploy/ssh/stop.sh hosts.txt            # waits up to STOP_TIMEOUT s (default 90)
#   FORCE=1 deploy/ssh/stop.sh hosts.txt    # SIGKILL whatever is left after that
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"
STOP_TIMEOUT="${STOP_TIMEOUT:-90}"
FORCE="${FORCE:-0}"

[[ $# -eq 1 ]] || die "usage: $0 HOSTS_FILE"
read_hosts "$1"

stop_node() {
    local i="$1" script
    script="cd $(quote_args "$(node_dir "$i")") 2>/dev/null || { echo no run directory; exit 0; }
[ -f node.pid ] || { echo not started; exit 0; }
pid=\$(cat node.pid)
kill -0 \"\$pid\" 2>/dev/null || { echo not running; exit 0; }
kill -TERM \"\$pid\"
t=0
while kill -0 \"\$pid\" 2>/dev/null; do
  if [ \"\$t\" -ge $((STOP_TIMEOUT * 2)) ]; then
    if [ $((FORCE)) -eq 1 ]; then kill -KILL \"\$pid\"; echo killed after ${STOP_TIMEOUT}s; exit 0; fi
    echo still running after ${STOP_TIMEOUT}s; exit 1
  fi
  sleep 0.5; t=\$((t + 1))
done
echo stopped"
    remote "${NODE_TARGETS[$i]}" "$script" | sed "s/^/${NODE_NAMES[$i]}: /"
}

for_each_node stop_node
