# Shared by scripts/up, scripts/test and the others: install what is missing, build, find the services.
# shellcheck shell=bash
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${VRU_STATE_DIR:-$REPO/.run}"
PNPM_VERSION=10.34.9
export NODE_OPTIONS="${NODE_OPTIONS:-} --enable-source-maps"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

ensure_node() {
  if ! command -v node >/dev/null || [[ $(node -p 'process.versions.node.split(".")[0]') -lt 20 ]]; then
    log "installing Node.js 20+ from Debian packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
}

ensure_pnpm() {
  ensure_node
  if ! command -v pnpm >/dev/null || [[ $(pnpm --version) != "$PNPM_VERSION" ]]; then
    log "installing pnpm $PNPM_VERSION"
    npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
  fi
}

# Debian's Chromium for the dashboard's browser tests and screenshots (playwright-core drives it; no browser download).
ensure_chromium() {
  if [[ ! -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]]; then
    log "installing Chromium from Debian packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
}

# Packages from the lockfile, then a TypeScript build of every workspace (tsc -b, project references).
install_and_build() {
  ensure_pnpm
  (cd "$REPO" && pnpm install --frozen-lockfile --reporter=silent) || { log "pnpm install failed"; return 1; }
  log "building (tsc -b)"
  (cd "$REPO" && pnpm exec tsc -b) || { log "build failed"; return 1; }
}

# Sets DATABASE_URL (server URL; services create their own database) and KAFKA_BROKERS.
ensure_services() {
  local brokers=${1:-1}
  local pg_line kafka_line
  pg_line=$("$REPO/scripts/pg" ensure | tail -n 1)
  export "${pg_line?}"
  if [[ -z ${KAFKA_BROKERS:-} ]]; then
    # The project's broker authenticates every client (SASL/SCRAM); its users' passwords are development secrets.
    ensure_dev_secrets "${KAFKA_SECRETS[@]}"
    # Remember whether this run started the broker, so Ctrl-C / the end of a test run stops only what it started.
    if ! (exec 3<>/dev/tcp/127.0.0.1/$(( ${KAFKA_PORT_BASE:-19090} + 2 ))) 2>/dev/null; then STARTED_KAFKA=1; fi
    kafka_line=$("$REPO/scripts/kafka" start --brokers "$brokers" | tail -n 1)
    export "${kafka_line?}"
  fi
}

# DATABASE_URL with another database name.
database_url() {
  local base=$1 name=$2
  echo "${base%/*}/$name"
}

# Development secrets: random, generated once into $STATE_DIR/secrets (directory 0700, files 0600) and exported, so
# no service ever runs on a built-in or published value. A variable already set in the environment wins (production
# sets every one from its own secret store). Add a new secret's name to DEV_SECRETS; keys with a special form
# (the audit key pair) have their own generator below. `ensure_dev_secrets NAME...` handles only those names.
# The Kafka passwords are those of the SCRAM users scripts/kafka creates (admin, relay, projector) and of the
# brokers' controller listener.
KAFKA_SECRETS=(KAFKA_ADMIN_PASSWORD KAFKA_RELAY_PASSWORD KAFKA_PROJECTOR_PASSWORD KAFKA_CONTROLLER_PASSWORD)
DEV_SECRETS=(PSEUDONYM_SECRET API_KEY_PEPPER PERSONAL_DATA_KEY SESSION_SECRET "${KAFKA_SECRETS[@]}")
ensure_dev_secrets() {
  local dir="$STATE_DIR/secrets" name names=("$@")
  ((${#names[@]})) || names=("${DEV_SECRETS[@]}")
  mkdir -p "$dir" && chmod 700 "$dir"
  for name in "${names[@]}"; do
    [[ -n ${!name:-} ]] && continue
    [[ -s $dir/$name ]] || (umask 077 && head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' >"$dir/$name")
    export "$name=$(cat "$dir/$name")"
  done
}
