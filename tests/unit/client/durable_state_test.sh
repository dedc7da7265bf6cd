#!/usr/bin/env bash
# Issue 12, item 8: the client replaced its state files by rename without fsyncing their
# directory, so a crash could undo the rename (and roll the budget back). This runs a client's
# life (durable_state_probe) under strace and checks in the trace that every rename or link
# into the state directory is followed by an fsync of that directory, in the same thread,
# before that thread renames or links anything else. An observation of the system calls, not
# of a crash; it failed on the code before the fix (budget and cached task: no fsync after the
# rename). Exits 77 (skipped) when strace is missing or cannot trace here.
#   durable_state_test.sh DURABLE_STATE_PROBE
set -euo pipefail
probe=$1

if ! command -v strace >/dev/null || ! strace -qq -o /dev/null true 2>/dev/null; then
  echo "SKIP: strace is missing or cannot trace in this environment (scripts/setup installs it)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
state="$work/state"
strace -f -y -qq -o "$work/trace" -e trace=fsync,fdatasync,rename,renameat,renameat2,link,linkat \
  "$probe" "$state" || { echo "FAILED: the probe failed"; exit 1; }

# strace pads the pid to five columns: a short pid (a fresh container) is followed by two spaces.
awk -v dir="$state" '
  # A call two threads interleaved is split in two lines: join them.
  /<unfinished \.\.\.>$/ { sub(/ <unfinished \.\.\.>$/, ""); held[$1] = $0; next }
  / resumed>/ { pid = $1; sub(/^[0-9]+ +<\.\.\. [a-z0-9]+ resumed>/, ""); $0 = held[pid] $0 }
  { pid = $1 }
  /^[0-9]+ +(rename|renameat|renameat2|link|linkat)\(/ && / = 0$/ {
    n = split($0, quoted, "\"")
    target = quoted[4]  # the second path argument
    if (index(target, dir "/") != 1) next
    if (pid in pending) {
      printf "FAILED: %s was not followed by an fsync of %s\n", pending[pid], dir
      bad = 1
    }
    pending[pid] = target
    name = substr(target, length(dir) + 2)
    seen[name] = 1
    next
  }
  # strace pads short calls with spaces before " = 0".
  /^[0-9]+ +(fsync|fdatasync)\(/ && index($0, "<" dir ">)") > 0 && / = 0$/ { delete pending[pid] }
  END {
    for (pid in pending) {
      printf "FAILED: %s was not followed by an fsync of %s\n", pending[pid], dir
      bad = 1
    }
    split("device.secret queue.key task-words.json budget-words memo-words queue-words", want, " ")
    for (i in want) {
      if (!(want[i] in seen)) {
        printf "FAILED: the probe never created or replaced %s\n", want[i]
        bad = 1
      }
    }
    exit bad
  }
' "$work/trace" || { echo "--- trace:"; cat "$work/trace"; exit 1; }
echo "client durable state: all checks passed"
