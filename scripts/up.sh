#!/usr/bin/env bash
# One command to run Berth on this host: installs what is missing, builds, migrates, then starts
# berth-server on 127.0.0.1:$BERTH_PORT with a local berth-agent joined to it.
# Ctrl-C (SIGINT) or SIGTERM stops the server and the agent it started; containers keep running
# and are adopted by the agent on the next start.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "npm run up: berth-agent creates namespaces, cgroups and mounts, so run it as root" >&2
  exit 1
fi
bash scripts/setup.sh
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1
echo "[up] building berth-server, berth-agent and the CLI"
npx turbo run build --output-logs=errors-only --filter=@berth/web --filter=@berth/node-agent --filter=@berth/cli
export BERTH_DATA_DIR="${BERTH_DATA_DIR:-$PWD/.berth/server}"
export BERTH_AGENT_STATE_DIR="${BERTH_AGENT_STATE_DIR:-$PWD/.berth/agent}"
exec node --import tsx scripts/launch.ts
