#!/usr/bin/env bash
# packaging_client_only (issue 16): the source tree configured for a device app's build
# (RESIDUE_BUILD_AGGREGATOR=OFF, RESIDUE_BUILD_RETRIEVAL=OFF) finds none of FAISS, OpenMP, MPI,
# SQLite or PostgreSQL, builds and installs; a find_package consumer and the C example through
# pkg-config are built against it and run against RESIDUED (the full build's daemon).
#   client_only_test.sh SOURCE_DIR RESIDUED
set -euo pipefail
source=$1 residued=$2
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"

cmake -S "$source" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRESIDUE_BUILD_AGGREGATOR=OFF -DRESIDUE_BUILD_RETRIEVAL=OFF -DRESIDUE_BUILD_EXAMPLES=OFF \
  > "$work/configure.log" 2>&1 || fail "client-only configure: $(cat "$work/configure.log")"
found=$(grep -iE '^(faiss_DIR|OpenMP_CXX_FLAGS|MPI_C_COMPILER|SQLite3_LIBRARY|LIBPQ_FOUND|pybind11_DIR|CLI11_DIR)[:=]' \
  "$work/build/CMakeCache.txt" || true)
[ -z "$found" ] || fail "the client-only configure looked for aggregator dependencies: $found"
cmake --build "$work/build" -j2 > "$work/build.log" 2>&1 || fail "client-only build: $(tail -30 "$work/build.log")"
cmake --install "$work/build" --prefix "$prefix" > "$work/install.log" || fail "cmake --install"
for f in bin include/residue/memory lib/cmake/residue/residueRetrievalTargets.cmake; do
  [ ! -e "$prefix/$f" ] || fail "a client-only install has $f"
done
if ldd "$prefix/lib/libresidue_client.so" | grep -Ei 'faiss|gomp|blas|mpi|pq|sqlite'; then
  fail "libresidue_client.so loads an aggregator-side library"
fi

build_consumer "$prefix" "$work/consumer"
"$work/consumer/quickstart" || fail "the consumer's quickstart"
build_c_example "$prefix" "$work/client_example_c"
run_client_examples "$residued" "$work/client_example_c" "$work/consumer/client_example_cpp"
echo "packaging client-only: all checks passed"
