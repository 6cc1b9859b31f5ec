#!/usr/bin/env bash
# docker-compose.yml for real: builds the images with the repository's Dockerfile, starts the stack,
# waits for both health checks, proposes a state transition through the published port, checks the
# answer, and always ends with `down -v` (containers, network and the database volume go).
#
#   tools/compose-smoke.sh
#
# It builds on Microsoft's .NET images and Docker Hub's postgres:15. Where those cannot be pulled (no
# registry reachable, as on CI here), it says so and builds stand-ins from this machine's .NET and
# Debian's packages with .ci/docker-images.sh, which also starts dockerd when none answers. To choose
# the images yourself, set ORCHESTRATOR_SDK_IMAGE, ORCHESTRATOR_RUNTIME_IMAGE and POSTGRES_IMAGE.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "compose-smoke: $*"; }
fail() { say "FAILED: $*"; exit 1; }
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"

# `docker compose` (the plugin) where there is one, else the older docker-compose.
if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's docker-compose..."
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }
  compose=(docker-compose)
else
  fail "neither 'docker compose' nor docker-compose is installed"
fi

# The images: given, Microsoft's, or local stand-ins.
started_dockerd=""
if [ -z "${ORCHESTRATOR_SDK_IMAGE:-}" ]; then
  official_sdk=$(sed -n 's/^ARG SDK_IMAGE=//p' Dockerfile)
  if timeout 10 docker info >/dev/null 2>&1 && timeout 120 docker pull -q "$official_sdk" >/dev/null 2>&1; then
    say "using Microsoft's images ($official_sdk)"
  else
    say "$official_sdk cannot be pulled here: building local stand-ins (.ci/docker-images.sh)"
    settings=$(.ci/docker-images.sh) || fail "Docker is unavailable"
    eval "$settings"
    started_dockerd="${ORCHESTRATOR_DOCKERD_PID:-}"
    export POSTGRES_IMAGE="${POSTGRES_IMAGE:-$ORCHESTRATOR_POSTGRES_IMAGE}"
  fi
fi
build_args=()
[ -n "${ORCHESTRATOR_SDK_IMAGE:-}" ] && build_args+=(--build-arg "SDK_IMAGE=$ORCHESTRATOR_SDK_IMAGE")
[ -n "${ORCHESTRATOR_RUNTIME_IMAGE:-}" ] && build_args+=(--build-arg "RUNTIME_IMAGE=$ORCHESTRATOR_RUNTIME_IMAGE")

# A project of its own, a fresh password and key, and a free port, so a stack of the user's is untouched.
# Variables set here take precedence over any .env file.
project=orchestrator-smoke
api_key="orc_smoke-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
export POSTGRES_PASSWORD="smoke-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
export ORCHESTRATOR_API_KEY_SHA256=$(printf '%s' "$api_key" | sha256sum | cut -d' ' -f1)
export ORCHESTRATOR_PUBLISH=127.0.0.1:0
run_compose() { "${compose[@]}" -p "$project" -f docker-compose.yml "$@"; }
log=$(mktemp)

cleanup() {
  status=$?
  if [ "$status" != 0 ]; then
    say "the server's last log lines:"
    run_compose logs --no-color --tail 40 orchestrator 2>/dev/null | sed 's/^/  /' || true
  fi
  run_compose down -v --remove-orphans >/dev/null 2>&1 || say "could not take the stack down"
  rm -f "$log"
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 1; done
  fi
  exit "$status"
}
trap cleanup EXIT

say "building the server image with the repository's Dockerfile..."
started=$(date +%s)
if ! run_compose build "${build_args[@]}" orchestrator >"$log" 2>&1; then
  tail -n 40 "$log" | sed 's/^/  /'
  fail "the image did not build"
fi
say "built in $(( $(date +%s) - started )) s ($(grep -cE '^Step [0-9]+/' "$log" || true) steps)"

say "starting the stack..."
run_compose up -d >"$log" 2>&1 || { tail -n 20 "$log" | sed 's/^/  /'; fail "the stack did not start"; }

health() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$(run_compose ps -q "$1")" 2>/dev/null || echo missing; }
deadline=$(( $(date +%s) + 240 ))
last=""
while :; do
  now="postgres $(health postgres), orchestrator $(health orchestrator)"
  [ "$now" != "$last" ] && say "$now" && last=$now
  [ "$now" = "postgres healthy, orchestrator healthy" ] && break
  [ "$(date +%s)" -ge "$deadline" ] && fail "not both healthy within 240 s"
  sleep 2
done

server_uid=$(docker exec "$(run_compose ps -q orchestrator)" id -u)
[ "$server_uid" != 0 ] || fail "the server runs as root"

address=$(run_compose port orchestrator 4200 | tail -n 1)
api="http://$address/api"
say "the server answers on $address"

# A request without the key is refused; with it, a flow, a flow run and a proposed RUNNING state.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$api/flows/" -H 'content-type: application/json' -d '{"name": "smoke"}')
[ "$code" = 401 ] || fail "a request without the API key got $code, not 401"
call() { # method path [body]
  curl -sS -f -X "$1" "$api$2" -H "authorization: Bearer $api_key" ${3:+-H 'content-type: application/json' -d "$3"}
}
field() { # keys...: reads JSON on stdin, prints the value at that path
  python3 -c 'import json, sys; d = json.load(sys.stdin); [d := d[k] for k in sys.argv[1:]]; print(d)' "$@"
}
flow=$(call POST /flows/ '{"name": "compose-smoke"}' | field id)
run=$(call POST /flow_runs/ "{\"flow_id\": \"$flow\"}" | field id)
answer=$(call POST "/flow_runs/$run/set_state" '{"state": {"type": "RUNNING"}}')
status=$(echo "$answer" | field status)
state=$(echo "$answer" | field state type)
[ "$status" = ACCEPT ] && [ "$state" = RUNNING ] || fail "set_state answered $answer"
stored=$(call GET "/flow_runs/$run" | field state type)
[ "$stored" = RUNNING ] || fail "the flow run reads back as $stored"
say "passed: the server runs as uid $server_uid; set_state answered ACCEPT with RUNNING, and the run reads back RUNNING"
