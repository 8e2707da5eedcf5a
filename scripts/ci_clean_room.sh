#!/usr/bin/env bash
# The GitHub workflow's steps (.github/workflows/ci.yml), run on this machine in a clean room that
# holds what the workflow's job has and nothing else (docs/ci.md says why each step is so):
#
#   NODE_HOME=/path/to/node-v20.20.2 scripts/ci_clean_room.sh [git-ref]
#
# NODE_HOME is the Node of .nvmrc unpacked as actions/setup-node lays it out (bin/node, bin/npm).
# Takes as long as .ci/run; leaves its clone in /tmp/yls-clean-room.* for reading afterwards.
set -euo pipefail
REF=${1:-HEAD}
NODE_HOME=${NODE_HOME:?set NODE_HOME to the Node of .nvmrc (bin/node, bin/npm)}
SOURCE=$(git rev-parse --show-toplevel)
WORK=$(mktemp -d /tmp/yls-clean-room.XXXXXX)
# mktemp makes it 0700: the fault suite runs its own PostgreSQL cluster as the `postgres` account
# (PostgreSQL refuses root), which must reach initdb and pg_ctl through the PATH built below.
chmod 755 "$WORK"

echo "== actions/checkout: a fresh clone of $REF (no .venv, no node_modules) in $WORK/src"
git clone --quiet "$SOURCE" "$WORK/src"
git -C "$WORK/src" checkout --quiet --detach "$(git -C "$SOURCE" rev-parse "$REF")"

echo "== actions/setup-node: $NODE_HOME first on PATH; the machine's node, npm and newman hidden"
TOOLS="$WORK/path"
mkdir "$TOOLS"
for directory in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
  for tool in "$directory"/*; do
    name=$(basename "$tool")
    case "$name" in node | nodejs | npm | npx | corepack | newman) continue ;; esac
    [ -e "$TOOLS/$name" ] || ln -s "$tool" "$TOOLS/$name"
  done
done
export PATH="$NODE_HOME/bin:$TOOLS"
# An npm cache of its own: newman must come from package-lock.json through the registry.
export npm_config_cache="$WORK/npm-cache"
[ "$(command -v node)" = "$NODE_HOME/bin/node" ] || { echo "node is not setup-node's" >&2; exit 1; }
[ "$(node --version)" = "v$(cat "$WORK/src/.nvmrc")" ] || { echo "node is not .nvmrc's" >&2; exit 1; }
echo "node $(node --version) from $(command -v node), npm $(npm --version) from $(command -v npm)"

echo "== the job's environment, then the one script"
cd "$WORK/src"
env CI=true PYTHON="${PYTHON:-python3.11}" \
  PG_HOST="${PG_HOST:-127.0.0.1}" PG_PORT="${PG_PORT:-5432}" PG_USER="${PG_USER:-postgres}" \
  CI_DB_PREFIX="${CI_DB_PREFIX:-yls_clean_room}" \
  CI_REDIS_URL="${CI_REDIS_URL:-redis://127.0.0.1:6379/15}" \
  bash .ci/run
echo "== newman came from: $(readlink -f node_modules/.bin/newman)"
