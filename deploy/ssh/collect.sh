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

# A live node keeps writing: files that change or vanish (a checkpoint's temporary
# file) while they are copied are expected, not errors. The next collect catches up.
collect_node() {
    local i="$1" dir dest target status=0
    dir="$(node_dir "$i")"
    dest="${DEST}/${NODE_NAMES[$i]}"
    target="${NODE_TARGETS[$i]}"
    mkdir -p "$dest"
    if [[ "$ISLAND_COPY" == rsync ]] || { [[ "$ISLAND_COPY" == auto ]] \
        && command -v rsync >/dev/null 2>&1 \
        && remote "$target" "command -v rsync" >/dev/null 2>&1; }; then
        # shellcheck disable=SC2086  # ssh command line for rsync -e
        rsync -a --partial -e "$ISLAND_SSH $ISLAND_SSH_OPTS -o BatchMode=yes" \
            "${target}:${dir}/" "${dest}/" || status=$?
        ((status == 24)) && status=0  # "some source files vanished"
    else
        # GNU tar exits 1 for "file changed as we read it"; the stream is still whole.
        remote "$target" "cd $(quote_args "$dir") || exit 2
if tar --version 2>/dev/null | grep -q GNU; then
  tar --warning=no-file-changed -cf - . ; s=\$?; [ \$s -le 1 ]
else
  tar -cf - .
fi" | tar -C "$dest" -xf - || status=$?
    fi
    ((status == 0)) || return "$status"
    echo "${NODE_NAMES[$i]}: ${dest}"
}

for_each_node collect_node
