#!/usr/bin/env bash
# `make sysdeps`: installs the Debian packages the tests use. Arguments are `package:command` pairs (the command a
# test runs, to name the tests that need the package). Another process holding the apt/dpkg lock (unattended
# upgrades, a second `make test`) is waited for, up to SYSDEPS_LOCK_TIMEOUT seconds (default 180), saying so. A
# package that still cannot be installed is named with the tests that need it — written to $SYSDEPS_REPORT too, for
# `make test` to repeat after its summary — and the run goes on: those tests fail with their own message, the
# others run. Exit status 0 unless the arguments are wrong.
set -u

LOCK_TIMEOUT=${SYSDEPS_LOCK_TIMEOUT:-180}
REPORT=${SYSDEPS_REPORT:-}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -n "$REPORT" ] && rm -f "$REPORT"

missing=()
declare -A command_of=()
for pair in "$@"; do
  pkg=${pair%%:*}
  cmd=${pair#*:}
  [ -n "$pkg" ] || { echo "sysdeps: bad argument '$pair' (want package:command)" >&2; exit 2; }
  command_of[$pkg]=$cmd
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

# Test files that run the package's command (`["cmd"`, how tests spawn one), else that name it at all.
tests_needing() {
  local cmd=$1 found
  found=$(cd "$ROOT" && grep -rlF -- "[\"$cmd\"" tests --include='*.test.ts' 2>/dev/null)
  [ -n "$found" ] || found=$(cd "$ROOT" && grep -rlF -- "$cmd" tests --include='*.test.ts' 2>/dev/null)
  printf '%s\n' "$found" | sort | tr '\n' ' ' | sed 's/ *$//'
}

# Runs apt-get, saying so when it has to wait for a lock another process holds: apt-get waits for the dpkg lock
# itself (DPkg::Lock::Timeout) but silently here, and `update` does not wait for its lists lock at all, so that one
# is retried until LOCK_TIMEOUT has passed.
# Says, once, who else holds the dpkg or apt lock (lslocks, util-linux) while our apt-get ($1) runs: not our
# apt-get itself nor its dpkg. Prints nothing when nobody else does.
lock_holder() {
  local ours=$1 hpid hcmd hpath
  while read -r hpid hcmd hpath; do
    [ "$hpid" = "$ours" ] && continue
    [ "$(ps -o ppid= -p "$hpid" 2>/dev/null | tr -d ' ')" = "$ours" ] && continue
    echo "sysdeps: $hpath is held by process $hpid ($hcmd); waiting up to ${LOCK_TIMEOUT} s" >&2
    echo 1
    return 0
  done < <(lslocks -n -o PID,COMMAND,PATH 2>/dev/null | grep -E '/var/lib/(dpkg/lock(-frontend)?|apt/lists/lock)$')
}

apt() {
  local deadline=$(( $(date +%s) + LOCK_TIMEOUT )) said="" log pid status
  log=$(mktemp)
  while :; do
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout="$LOCK_TIMEOUT" "$@" >"$log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      [ -z "$said" ] && said=$(lock_holder "$pid")
      sleep 1
    done
    wait "$pid"
    status=$?
    if [ "$status" -ne 0 ] && grep -q "Could not get lock" "$log" && [ "$(date +%s)" -lt "$deadline" ]; then
      if [ -z "$said" ]; then
        echo "sysdeps: $(grep -m1 -o 'Could not get lock.*' "$log"); waiting up to ${LOCK_TIMEOUT} s"
        said=1
      fi
      sleep 2
      continue
    fi
    [ "$status" -eq 0 ] || [ -n "${APT_QUIET:-}" ] || grep -E '^(E|W):' "$log" | head -3 | sed 's/^/sysdeps:   /'
    rm -f "$log"
    return "$status"
  done
}

if ! command -v apt-get >/dev/null 2>&1; then
  echo "sysdeps: apt-get not found: install these yourself: ${missing[*]}"
else
  echo "sysdeps: installing Debian packages for the tests: ${missing[*]} (waits up to ${LOCK_TIMEOUT} s for the apt/dpkg lock if another process holds it)"
  install=(install -y -qq --no-install-recommends)
  # The package lists we have first; refresh them only when that fails (a first run, or lists gone stale).
  if ! APT_QUIET=1 apt "${install[@]}" "${missing[@]}"; then
    [ -n "${SYSDEPS_NO_UPDATE:-}" ] || apt update -qq || echo "sysdeps: apt-get update failed; installing from the lists we have"
    # One at a time, so one package that cannot be installed does not keep the others out.
    for pkg in "${missing[@]}"; do
      dpkg -s "$pkg" >/dev/null 2>&1 || apt "${install[@]}" "$pkg" || true
    done
  fi
fi

for pkg in "${missing[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 && continue
  tests=$(tests_needing "${command_of[$pkg]}")
  line="could not install $pkg (provides ${command_of[$pkg]}): these tests will fail: ${tests:-none found}"
  echo "sysdeps: $line"
  [ -n "$REPORT" ] && echo "$line" >>"$REPORT"
done
exit 0
