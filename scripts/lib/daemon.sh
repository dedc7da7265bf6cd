# shellcheck shell=bash
# residued on loopback for the scripts that drive it (bench/*.sh, scripts/demo,
# tests/integration/client_examples_test.sh). Source it, then:
#   daemon_workdir                                      # sets work, removed on exit
#   token=bench-$(daemon_new_token)
#   daemon_task bench mss 2.0 "k = 1024" | daemon_config "$work/residued.toml" "$token"
#   daemon_start build/residued "$work/residued.toml"   # sets daemon_url and daemon_pid
# The functions run in the calling shell (never in $(...)): the daemons must be its children
# so that daemon_stop_all can wait for them.

daemon_pids=()  # every daemon started and not yet stopped
daemon_pid=""   # the last one started
daemon_url=""   # where it listens

# daemon_workdir: sets work to a new directory that the EXIT trap removes once every daemon has
# stopped (a script with more to clean up sets its own trap and calls daemon_cleanup).
daemon_workdir() {
  work=$(mktemp -d)
  trap 'daemon_cleanup "$work"' EXIT
}

# daemon_task NAME PROTOCOL EPSILON DOMAIN: a [[tasks]] table; DOMAIN is "k = N" or
# 'dictionary = "FILE"' (a file beside the configuration).
daemon_task() {
  printf '[[tasks]]\nname = "%s"\nprotocol = "%s"\nepsilon = %s\n%s\n' "$1" "$2" "$3" "$4"
}

# daemon_token_table NAME TOKEN ROLE...: a [[tokens]] table (for stdin of daemon_config, e.g.
# an operator's admin token beside the report and read one).
daemon_token_table() {
  local name=$1 token=$2 roles
  shift 2
  roles=$(printf '"%s", ' "$@")
  printf '[[tokens]]\nname = "%s"\ntoken_sha256 = "%s"\nroles = [%s]\n' "$name" \
    "$(printf %s "$token" | sha256sum | cut -d' ' -f1)" "${roles%, }"
}

daemon_new_token() {  # 24 random bytes in hex
  head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'
}

# daemon_config FILE TOKEN [DATA_DIR]: a configuration listening on a free loopback port, with
# DATA_DIR (default "data", beside FILE), then stdin (top-level settings first, then tables),
# then TOKEN with the roles report and read: loadgen uploads, the scripts read estimates.
daemon_config() {
  {
    echo 'listen = "127.0.0.1:0"'
    echo "data_dir = \"${3:-data}\""
    cat
    daemon_token_table "$(basename "$0")" "$2" report read
  } >"$1"
}

# daemon_start RESIDUED CONFIG: starts RESIDUED with its output beside CONFIG (NAME.out,
# NAME.err) and returns once it listens (sets daemon_pid and daemon_url); if it exits or is
# silent for a minute (a large MSS task searches its moduli at start-up), prints its stderr
# and returns 1.
daemon_start() {
  local out=${2%.toml}.out err=${2%.toml}.err
  rm -f "$out" "$err"  # a log of an earlier run must not answer the wait below
  "$1" --config "$2" >"$out" 2>"$err" &
  daemon_pid=$!
  daemon_pids+=("$daemon_pid")
  for _ in $(seq 600); do
    grep -q "listening on" "$out" 2>/dev/null && break
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  daemon_url=$(grep -o 'http://[0-9.]*:[0-9]*' "$out" | head -n 1) || true
  if [ -z "$daemon_url" ]; then
    echo "$(basename "$0"): $1 --config $2 did not start:" >&2
    cat "$err" >&2
    return 1
  fi
}

daemon_stop_all() {  # SIGTERM each daemon and wait for it: it commits what it holds and exits
  local pid
  for pid in "${daemon_pids[@]}"; do
    if kill -TERM "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; fi
  done
  daemon_pids=()
}

daemon_cleanup() {  # daemon_cleanup WORK_DIR: for the EXIT trap
  daemon_stop_all
  rm -rf "$1"
}
