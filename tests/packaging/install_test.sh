#!/usr/bin/env bash
# packaging_install (issue 16): `cmake --install` of the whole build into a temporary prefix,
# then a consumer project built with find_package(residue 0.1 CONFIG COMPONENTS retrieval)
# and the C example built with pkg-config, run against the installed residued.
#   install_test.sh BUILD_DIR PYTHON_BUILT (ON or OFF: RESIDUE_BUILD_PYTHON)
set -euo pipefail
build=$1 python_built=$2
# shellcheck source=tests/packaging/lib.sh
source "$(dirname "$0")/lib.sh"

cmake --install "$build" --prefix "$prefix" > "$work/install.log" || fail "cmake --install"
for f in bin/residued bin/residue bin/residue-reduce include/residue_client.h \
  include/residue/protocols/protocol.h include/residue/memory/memory.h \
  lib/cmake/residue/residueConfigVersion.cmake lib/cmake/residue/residueRetrievalTargets.cmake \
  lib/pkgconfig/residue-client.pc share/doc/residue/README.md share/doc/residue/help/residue.txt; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
grep -q "==== residue memory build --help" "$prefix/share/doc/residue/help/residue.txt" ||
  fail "residue.txt lacks the help of residue memory build"
[ "$(readlink "$prefix/lib/libresidue_client.so")" = libresidue_client.so.0 ] ||
  fail "libresidue_client.so does not point at the SOVERSION 0 library"
# No installed header may include what the package does not provide (Boost, FAISS).
if grep -rlE '#include <(boost|faiss)/' "$prefix/include"; then fail "a header includes Boost or FAISS"; fi

# The Python module, where Debian's python3 looks under a prefix, loads from there alone.
if [ "$python_built" = ON ]; then
  module=$(find "$prefix/lib" -path '*/dist-packages/residue.cpython-*.so' -print -quit)
  [ -n "$module" ] || fail "the Python module is not under $prefix/lib/python3.*/dist-packages"
  PYTHONPATH=$(dirname "$module") PYTHONNOUSERSITE=1 /usr/bin/python3 -c '
import residue, sys
assert residue.__file__.startswith(sys.argv[1]), residue.__file__
residue.Protocol("mss", k=64, epsilon=1.0)' "$prefix" ||
    fail "the installed Python module does not import from $prefix"
fi

build_consumer "$prefix" "$work/consumer" -DRESIDUE_COMPONENTS=retrieval
"$work/consumer/quickstart" || fail "the consumer's quickstart"
"$work/consumer/retrieval_consumer" || fail "the consumer's retrieval program"
# 0.x: a package of 0.1 does not satisfy a request for 0.2.
if cmake -S "$(dirname "$0")/consumer" -B "$work/too-new" -DCMAKE_PREFIX_PATH="$prefix" \
  -DRESIDUE_EXAMPLES="$examples" -DRESIDUE_VERSION=0.2 > "$work/too-new.log" 2>&1; then
  fail "find_package(residue 0.2) accepted version 0.1"
fi

build_c_example "$prefix" "$work/client_example_c"
run_client_examples "$prefix/bin/residued" "$work/client_example_c" "$work/consumer/client_example_cpp"
echo "packaging: all checks passed (installed into a temporary prefix, consumers built and run)"
