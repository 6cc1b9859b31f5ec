#!/usr/bin/env bash
# Makes a Docker engine answer, and builds the local images that stand in for registry images on a
# machine that reaches Debian's mirror but no image registry (CI here):
#   orchestrator-local/debian:bookworm       Debian's minimal base from its packages (mmdebstrap)
#   orchestrator-local/postgres:15-<hash>    for postgres:15 (.ci/images/postgres)
#   orchestrator-local/dotnet-aspnet:<ver>   for mcr.microsoft.com/dotnet/aspnet: this machine's runtime
#   orchestrator-local/dotnet-sdk:<ver>      for mcr.microsoft.com/dotnet/sdk: this machine's SDK
# Each is built once and kept; a tag names what it was built from, so a change builds a new one.
#
# Prints the settings that use them, one KEY=value a line, for `eval "$(.ci/docker-images.sh)"`
# (ORCHESTRATOR_DOCKERD_PID too when it started dockerd, for the caller to stop). Progress goes to
# stderr. When Docker cannot be made to answer it says why in one line and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "$*" >&2; }
# Debian's engine is 20.10 (API 1.41); newer Docker clients must be told to speak its version.
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
echo "DOCKER_API_VERSION=$DOCKER_API_VERSION"

apt_install() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! engine_answers; then
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    say "Installing Debian's docker.io..."
    apt_install docker.io || { say "Docker is unavailable: installing docker.io failed."; exit 1; }
  fi
  log=/tmp/orchestrator-dockerd.log
  say "Starting dockerd (log: $log)..."
  setsid dockerd >"$log" 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 60); do
    engine_answers && break
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 1
  done
  if ! engine_answers; then
    kill "$dockerd_pid" 2>/dev/null || true
    say "Docker is unavailable: dockerd did not answer ($(grep -m1 -iE 'level=(fatal|error)' "$log" | sed 's/.*msg="\([^"]*\)".*/\1/' || echo "see $log"))."
    exit 1
  fi
  echo "ORCHESTRATOR_DOCKERD_PID=$dockerd_pid"
fi

has_image() { docker image inspect "$1" >/dev/null 2>&1; }
folder_hash() { (cd "$1" && find . -type f | sort | xargs sha256sum) | sha256sum | cut -c1-12; }

base=orchestrator-local/debian:bookworm
if ! has_image "$base"; then
  command -v mmdebstrap >/dev/null 2>&1 || apt_install mmdebstrap
  say "Building $base from Debian's packages (mmdebstrap)..."
  mmdebstrap --quiet --variant=minbase bookworm - | docker import - "$base" >/dev/null \
    || { say "Docker is unavailable: the Debian base could not be built (mmdebstrap | docker import)."; exit 1; }
fi

postgres="orchestrator-local/postgres:15-$(folder_hash .ci/images/postgres)"
if ! has_image "$postgres"; then
  say "Building $postgres..."
  docker build -q --build-arg BASE_IMAGE="$base" -t "$postgres" .ci/images/postgres >/dev/null 2>&1 \
    || { say "Docker is unavailable: $postgres did not build."; exit 1; }
fi
echo "ORCHESTRATOR_POSTGRES_IMAGE=$postgres"

# The .NET images hold this machine's own .NET: the SDK and runtime versions are the tags.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(dotnet --version)
runtime_version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -n 1)
recipe=$(folder_hash .ci/images/dotnet)
aspnet="orchestrator-local/dotnet-aspnet:$runtime_version-$recipe"
sdk="orchestrator-local/dotnet-sdk:$sdk_version-$recipe"
context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp .ci/images/dotnet/Dockerfile "$context/"
mkdir "$context/certs"
cp /usr/local/share/ca-certificates/*.crt "$context/certs/" 2>/dev/null || true
# The context goes to the engine as one tar stream, .NET's folder renamed dotnet/ inside it.
build_dotnet() { # image target folders...
  local image=$1 target=$2
  shift 2
  tar -c -C "$context" Dockerfile certs -C "$dotnet_root" --transform 's,^\./,dotnet/,' "$@" \
    | docker build -q --build-arg BASE_IMAGE="$base" --target "$target" -t "$image" - >/dev/null 2>&1
}
if ! has_image "$aspnet"; then
  say "Building $aspnet from this machine's .NET runtime..."
  build_dotnet "$aspnet" aspnet ./dotnet ./host ./shared || { say "Docker is unavailable: $aspnet did not build."; exit 1; }
fi
if ! has_image "$sdk"; then
  say "Building $sdk from this machine's .NET SDK..."
  build_dotnet "$sdk" sdk --exclude ./templates . || { say "Docker is unavailable: $sdk did not build."; exit 1; }
fi
echo "ORCHESTRATOR_SDK_IMAGE=$sdk"
echo "ORCHESTRATOR_RUNTIME_IMAGE=$aspnet"
