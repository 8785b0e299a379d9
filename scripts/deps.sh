#!/usr/bin/env bash
# Installs the Debian 12 (bookworm) packages Crew builds and tests with, if any is missing.
# Sourced by scripts/start and scripts/test. Needs root or sudo; never prompts.
set -euo pipefail

CREW_PACKAGES=(
  g++ cmake ninja-build pkg-config ccache python3 python3-requests curl openssl
  librocksdb-dev libcpp-httplib-dev libsimdjson-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libssl-dev zlib1g-dev libsnappy-dev
  liblz4-dev libzstd-dev libbz2-dev libgflags-dev libbrotli-dev libjemalloc-dev
  chromium beanstalkd redis-server postgresql linux-perf valgrind
)

# Commands that may come from elsewhere (e.g. a newer Node.js): installed from Debian only when
# the command is missing.
CREW_COMMANDS=(node:nodejs npm:npm)

crew_install_deps() {
  local missing=()
  for p in "${CREW_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  for pair in "${CREW_COMMANDS[@]}"; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing: ${missing[*]}"
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo="sudo"
  fi
  # The daemons among them (beanstalkd, redis, postgresql: bench/peers) must not start at install:
  # the benchmarks start their own on free ports and stop them by PID. policy-rc.d says so.
  local policy=/usr/sbin/policy-rc.d made_policy="" rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && made_policy=1
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    rc=$?
  [ -n "$made_policy" ] && $sudo rm -f "$policy"
  return $rc
}

# Configures and builds into $1 (default build/), Release and profile-guided (CMakeLists.txt,
# CREW_PGO): the first time, crew is built instrumented in $1/pgo/gen and bench/pgo-train runs
# it under load for about a minute, writing $1/pgo/profile; then $1 is built with that profile.
# The profile is kept: remove $1/pgo/profile to make it anew (after changes to the request
# path). CREW_PGO=0 builds without one.
crew_build() {
  local dir="${1:-build}" jobs="${CREW_BUILD_JOBS:-2}" pgo=(-DCREW_PGO=) probe=""
  if [ "${CREW_PGO:-1}" != 0 ]; then
    local profile
    profile="$(realpath -m "$dir/pgo/profile")"
    if [ ! -e "$profile/trained" ]; then
      cmake -S . -B "$dir/pgo/gen" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCREW_PGO=generate \
        -DCREW_PGO_DIR="$profile" -DCREW_BUILD_TESTS=OFF -DCREW_BUILD_UI=OFF >/dev/null
      ninja -C "$dir/pgo/gen" -j "$jobs" crew crew_load
      python3 bench/pgo-train --crew "$dir/pgo/gen/crew" --load "$dir/pgo/gen/bench/crew_load" \
        --profile-dir "$profile"
      probe=1
    fi
    pgo=(-DCREW_PGO=use -DCREW_PGO_DIR="$profile")
  fi
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "${pgo[@]}" >/dev/null
  if [ -n "$probe" ]; then crew_pgo_probe "$dir"; fi
  ninja -C "$dir" -j "$jobs"
}

# Compiles one of crew's sources (src/util/clock.cc, its own command from $1's
# compile_commands.json) with a missing profile as an error. The build itself lets a missing
# profile through, as one made before the latest edits lacks their new functions; so this is
# what tells, right after a training, that the compiler finds the profile at all.
crew_pgo_probe() {
  python3 - "$1" <<'EOF'
import json, shlex, subprocess, sys
for c in json.load(open(sys.argv[1] + "/compile_commands.json")):
    if c["file"].endswith("/src/util/clock.cc"):
        cmd = shlex.split(c["command"]) + ["-Werror=missing-profile"]
        if subprocess.run(cmd, cwd=c["directory"]).returncode != 0:
            sys.exit("crew_pgo_probe: the compiler does not find the profile just made")
        sys.exit(0)
sys.exit("crew_pgo_probe: src/util/clock.cc is not in compile_commands.json")
EOF
}
