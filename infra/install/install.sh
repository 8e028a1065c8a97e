#!/usr/bin/env bash
# Installs Berth on a Debian 12 host from a checkout of this repository, idempotently:
#   --server  berth-server (dashboard, API, registry, agent gateway) as the `berth` user
#   --agent   berth-agent (container engine, root) joined to a server
# Both may be given (a one-host install). What it does:
#   1. apt: what the role needs (agent: runc, crun, conmon, iptables, iproute2, util-linux, attr;
#      both: ca-certificates); Node.js >= 20 must be installed already (`--node PATH` otherwise)
#   2. copies the checkout to --prefix (default /opt/berth), installs npm dependencies and builds
#   3. creates the `berth` system user (server), /etc/berth and the state directories
#   4. writes /etc/berth/server.env and /etc/berth/agent.env (kept when they exist; 0640 / 0600)
#   5. installs berth-server.service / berth-agent.service into /etc/systemd/system, enables and
#      starts them (when systemd runs; otherwise it says how to start them)
#
# Usage:
#   infra/install/install.sh --server [--public-url https://berth.example.com] [--port 8080]
#   infra/install/install.sh --agent --server-url https://berth.example.com --join-token bjt_…
#   options: --prefix DIR  --node PATH  --skip-build  --no-start  --dry-run (print, change nothing)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

prefix=/opt/berth
node_bin=""
want_server=0
want_agent=0
public_url=""
port=8080
server_url=""
join_token=""
skip_build=0
no_start=0
dry_run=0

die() {
  echo "install: $*" >&2
  exit 1
}
log() { printf '\033[1;34m[install]\033[0m %s\n' "$*"; }
usage() {
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}
run() {
  if ((dry_run)); then
    printf '+ %q' "$1"
    shift
    printf ' %q' "$@"
    printf '\n'
  else
    "$@"
  fi
}

while (($#)); do
  case "$1" in
    --server) want_server=1 ;;
    --agent) want_agent=1 ;;
    --prefix) prefix=${2:?--prefix needs a directory}; shift ;;
    --node) node_bin=${2:?--node needs a path}; shift ;;
    --public-url) public_url=${2:?--public-url needs a URL}; shift ;;
    --port) port=${2:?--port needs a number}; shift ;;
    --server-url) server_url=${2:?--server-url needs a URL}; shift ;;
    --join-token) join_token=${2:?--join-token needs a token}; shift ;;
    --skip-build) skip_build=1 ;;
    --no-start) no_start=1 ;;
    --dry-run) dry_run=1 ;;
    -h | --help) usage 0 ;;
    *) echo "install: unknown option $1" >&2; usage 2 ;;
  esac
  shift
done

((want_server || want_agent)) || die "say what to install: --server, --agent or both (see --help)"
[[ $prefix == /* ]] || die "--prefix must be an absolute path"
if ! [[ $port =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then die "--port must be 1-65535"; fi
if ((want_agent)); then
  if [[ -z $server_url ]] && ((want_server)); then server_url="http://127.0.0.1:$port"; fi
  [[ $server_url =~ ^https?:// ]] ||
    die "the agent needs --server-url http(s)://… (the server's public URL)"
fi
((dry_run)) || [[ $(id -u) -eq 0 ]] || die "run as root (or with --dry-run to see what it would do)"

# --- Node.js >= 20
if [[ -z $node_bin ]]; then node_bin=$(command -v node || true); fi
[[ -n $node_bin && -x $node_bin ]] ||
  die "Node.js 20 or newer is needed: install it (e.g. from NodeSource) or pass --node PATH"
node_major=$("$node_bin" -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || die "$node_bin is Node.js $node_major: Berth needs 20 or newer"

# --- 1. Debian packages
pkgs=(ca-certificates)
((want_agent)) && pkgs+=(runc crun conmon iptables iproute2 util-linux attr)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "apt-get install ${missing[*]}"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. the code, its dependencies and builds
if [[ $src != "$prefix" ]]; then
  log "copying $src to $prefix"
  run mkdir -p "$prefix"
  run cp -a --no-preserve=ownership "$src/." "$prefix/"
fi
if ((!skip_build)); then
  log "npm ci and build in $prefix"
  run env -C "$prefix" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 NEXT_TELEMETRY_DISABLED=1 npm ci --no-audit --no-fund
  run env -C "$prefix" NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 npx turbo run build
fi

# --- 3. user and directories
run install -d -m 0755 /etc/berth
if ((want_server)); then
  if ! id -u berth >/dev/null 2>&1; then
    log "creating the berth system user"
    run useradd --system --home-dir /var/lib/berth-server --no-create-home --shell /usr/sbin/nologin berth
  fi
  run install -d -m 0750 -o berth -g berth /var/lib/berth-server
  run install -d -m 0755 -o berth -g berth "$prefix/apps/web/.next/cache"
fi
((want_agent)) && run install -d -m 0700 /var/lib/berth-agent

# --- 4. environment files (never overwritten: they hold the operator's settings)
write_env() { # path mode owner content
  if [[ -e $1 ]]; then
    log "$1 exists: kept"
    return
  fi
  log "writing $1"
  if ((dry_run)); then
    printf '+ write %s (mode %s, owner %s):\n%s\n' "$1" "$2" "$3" "$4"
    return
  fi
  (umask 077 && printf '%s\n' "$4" >"$1")
  chmod "$2" "$1"
  chown "$3" "$1"
}
if ((want_server)); then
  metrics_token=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
  write_env /etc/berth/server.env 0640 root:berth "# berth-server settings (apps/web/src/server/env.ts)
BERTH_HOST=0.0.0.0
BERTH_PORT=$port
${public_url:+BERTH_PUBLIC_URL=$public_url}
# Prometheus scrapes /metrics with: Authorization: Bearer <this token>
BERTH_METRICS_TOKEN=$metrics_token
BERTH_METRICS_ALLOW_LOOPBACK=0"
fi
if ((want_agent)); then
  write_env /etc/berth/agent.env 0600 root:root "# berth-agent settings (apps/node-agent/src/config.ts)
BERTH_SERVER=$server_url
# Used at the first start only: the node credential is then kept in /var/lib/berth-agent.
${join_token:+BERTH_JOIN_TOKEN=$join_token}"
fi

# --- 5. systemd units
render() { # template → /etc/systemd/system/<name>
  local name
  name=$(basename "$1")
  log "installing /etc/systemd/system/$name"
  if ((dry_run)); then
    printf '+ render %s with PREFIX=%s NODE=%s\n' "$1" "$prefix" "$node_bin"
    return
  fi
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@NODE@|$node_bin|g" "$1" >"/etc/systemd/system/$name.tmp"
  mv "/etc/systemd/system/$name.tmp" "/etc/systemd/system/$name"
}
units=()
((want_server)) && units+=(berth-server.service)
((want_agent)) && units+=(berth-agent.service)
for u in "${units[@]}"; do render "$here/$u"; done

if [[ -d /run/systemd/system ]]; then
  run systemctl daemon-reload
  if ((no_start)); then
    run systemctl enable "${units[@]}"
  else
    run systemctl enable --now "${units[@]}"
  fi
  log "done: systemctl status ${units[*]}; journalctl -u ${units[0]} -f"
else
  log "systemd is not running here: the units are installed; start them at boot with systemctl enable --now ${units[*]}"
fi
if ((want_server)); then
  log "the first start prints the admin password in the journal (journalctl -u berth-server)"
fi
if ((want_agent)) && [[ -z $join_token ]] && ! grep -q '^BERTH_JOIN_TOKEN=' /etc/berth/agent.env 2>/dev/null; then
  log "the agent has no join token yet: create one (berth join-token create), put BERTH_JOIN_TOKEN=… in /etc/berth/agent.env and restart berth-agent"
fi
