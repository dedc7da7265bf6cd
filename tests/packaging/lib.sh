# shellcheck shell=bash
# What both packaging tests do with an installed prefix. Sourcing it sets work (a temporary
# directory, removed on exit), prefix (where to install, inside work) and examples (the
# repository's examples/); then:
#   build_consumer PREFIX DIR [CMAKE_ARGS...]   the CMake consumer (consumer/) in DIR
#   build_c_example PREFIX OUT                  examples/client_example.c through pkg-config
#   run_client_examples RESIDUED C_EXAMPLE CPP_EXAMPLE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
examples=$(realpath "$(dirname "${BASH_SOURCE[0]}")/../../examples")

fail() { echo "FAILED: $*"; exit 1; }

build_consumer() {
  local prefix=$1 dir=$2
  shift 2
  cmake -S "$(dirname "${BASH_SOURCE[0]}")/consumer" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DRESIDUE_EXAMPLES="$examples" "$@" > "$dir.log" 2>&1 ||
    fail "configuring the consumer: $(cat "$dir.log")"
  cmake --build "$dir" >> "$dir.log" 2>&1 || fail "building the consumer: $(cat "$dir.log")"
}

build_c_example() {
  local prefix=$1 out=$2 flags
  flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs residue-client) ||
    fail "pkg-config does not find residue-client in $prefix"
  # shellcheck disable=SC2086  # the flags are words
  cc -Wall -Werror "$examples/client_example.c" $flags -Wl,-rpath,"$prefix/lib" -o "$out" ||
    fail "compiling examples/client_example.c with: $flags"
  # ldd's output whole first: `ldd | grep -q` under pipefail fails when grep's early exit
  # cuts ldd off (SIGPIPE), which made this check fail now and then.
  local libraries
  libraries=$(ldd "$out")
  grep -qF "libresidue_client.so.0 => $prefix/lib/" <<<"$libraries" ||
    fail "the C example does not load $prefix/lib/libresidue_client.so.0: $libraries"
}

# run_client_examples RESIDUED C_EXAMPLE CPP_EXAMPLE: both against a real daemon, as
# tests/integration/client_examples_test.sh checks the in-tree ones.
run_client_examples() {
  bash -x "$(dirname "${BASH_SOURCE[0]}")/../integration/client_examples_test.sh" "$@" \
    2> "$work/client_examples.trace" ||
    fail "the client examples against $1; the end of their trace:
$(tail -n 25 "$work/client_examples.trace")"
}
