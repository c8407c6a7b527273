#!/usr/bin/env bash
# Copy every node's run directory back: DEST/NODE/{run/,node.out,peers.txt}.
#   deploy/ssh/collect.sh hosts.txt [DEST]     # DEST default: runs/RUN_NAME
# Uses rsync when both ends have it (repeatable, only copies what changed), else
# a tar stream over ssh; ISLAND_COPY=rsync|tar forces one. Safe while nodes run:
# checkpoints are written atomically.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source-path=SCRIPTDIR source=common.sh
source "$here/common.sh"

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $0 HOSTS_FILE [DEST]"
read_hosts "$1"
DEST="${2:-runs/${RUN_NAME}}"
ISLAND_COPY="${ISLAND_COPY:-auto}"
[[ "$ISLAND_COPY" =~ ^(auto|rsync|tar)$ ]] || die "ISLAND_COPY must be auto, rsync or tar"
mkdir -p "$DEST"

collect_node() {
    local i="$1" dir dest target
    dir="$(node_dir "$i")"
    dest="${DEST}/${NODE_NAMES[$i]}"
    target="${NODE_TARGETS[$i]}"
    mkdir -p "$dest"
    if [[ "$ISLAND_COPY" == rsync ]] || { [[ "$ISLAND_COPY" == auto ]] \
        && command -v rsync >/dev/null 2>&1 \
        && remote "$target" "command -v rsync" >/dev/null 2>&1; }; then
        # shellcheck disable=SC2086  # ssh command line for rsync -e
        rsync -a --partial -e "$ISLAND_SSH $ISLAND_SSH_OPTS -o BatchMode=yes" \
            "${target}:${dir}/" "${dest}/"
    else
        remote "$target" "tar -C $(quote_args "$dir") -cf - ." | tar -C "$dest" -xf -
    fi
    echo "${NODE_NAMES[$i]}: ${dest}"
}

for_each_node collect_node
