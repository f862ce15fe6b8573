#!/usr/bin/env bash
# The extra CI stages of issue 9 (docs/security.md), run by .ci/run after
# the plain and AddressSanitizer suites:
#
#   1. ThreadSanitizer: multi-threaded (-j 4) scans of the fixtures and of
#      clothing-small/test (when the dataset is there), rescans reusing a
#      scan, and the pool's unit test, must report no race.
#   2. valgrind (memcheck, leak check on definite and indirect leaks): the
#      hardening integration tests run every imgaudit command under it
#      (IA_TEST_WRAPPER), and so do scans, rescans, reports, exports and a
#      compare of the fixtures, and a scan of the archive fuzzer's seeds
#      (every kind of odd archive). Any error or leak fails the stage.
#      The Python package's tests (python/tests) run under it too, with
#      PYTHONMALLOC=malloc: any memory error fails, and so does a leak
#      whose stack passes through the extension or the library (CPython
#      and numpy keep memory at exit, which is not ours to judge).
#   3. The Python package installed as a user would: pip install
#      --no-build-isolation of the root into a fresh virtual environment,
#      then a scan of the sample through it (docs/python.md).
#   4. libFuzzer (clang, built with -Dwerror=true: the project's one clang
#      build, so clang's warnings fail it as gcc's fail the others): each
#      fuzz target (fuzz_file, fuzz_manifest,
#      fuzz_db, fuzz_archive, fuzz_yolo) for FUZZ_SECONDS (default 60) from its seed
#      corpus, then fuzz_file from each format's fixtures alone
#      (fixtures/formats) for FUZZ_FORMAT_SECONDS (default 20) each; a
#      crash, leak, timeout or out-of-memory fails it and leaves the input
#      in build-fuzz/fuzz-run/artifacts. Minimize it (FUZZER
#      -minimize_crash=1 -runs=10000 INPUT), add it to
#      tests/fuzz/crashes/{file,manifest,db,archive,yolo}/ and the normal suite
#      replays it.
#
# Usage: scripts/ci-extra.sh [COUNTS_FILE]
# Prints one line per check and "N passed, N failed"; writes "N N" to
# COUNTS_FILE for .ci/run. Exit status 1 when a check failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
COUNTS=${1:-}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_FORMAT_SECONDS=${FUZZ_FORMAT_SECONDS:-20}
DATASETS=${IA_DATASETS:-$ROOT/../shared/datasets}

passed=0
failed=0
result() { # result STATUS WHAT
  if [ "$1" -eq 0 ]; then
    passed=$((passed + 1)); echo "ok   $2"
  else
    failed=$((failed + 1)); echo "FAIL $2 (exit $1)"
  fi
}
finish() {
  echo "ci-extra: $passed passed, $failed failed"
  [ -n "$COUNTS" ] && echo "$passed $failed" > "$COUNTS"
  [ "$failed" -eq 0 ]
  exit $?
}
setup() { # setup DIR [meson options...]: configure (or reconfigure) quietly
  local dir=$1; shift
  if [ -d "$dir" ]; then
    meson setup --reconfigure "$dir" "$@" >/dev/null
  else
    meson setup "$dir" "$@" >/dev/null
  fi
}

# ---- packages: clang and its runtime (libFuzzer) ------------------------
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
have_libfuzzer() {
  local t; t=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const char *d, long n)'\
'{ (void)d; (void)n; return 0; }\n' > "$t/f.c"
  clang -fsanitize=fuzzer "$t/f.c" -o "$t/f" >/dev/null 2>&1
  local rc=$?; rm -rf "$t"; return $rc
}
if ! command -v clang >/dev/null || ! have_libfuzzer; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null
  v=$(clang -dumpversion 2>/dev/null | cut -d. -f1)
  $SUDO apt-get install -y -qq --no-install-recommends \
    "libclang-rt-$v-dev" >/dev/null 2>&1 || true
fi
have_libfuzzer; result $? "clang with libFuzzer available"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. ThreadSanitizer -------------------------------------------------
echo "== ThreadSanitizer: multi-threaded scans"
# setarch -R: TSan's fixed memory layout breaks under the high-entropy
# ASLR of recent kernels.
TSAN_RUN=(setarch "$(uname -m)" -R)
"${TSAN_RUN[@]}" true 2>/dev/null || TSAN_RUN=()
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
if setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbench=false &&
   ninja -C build-tsan imgaudit tests/test_pool tests/test_walk \
     tests/test_hash >/dev/null; then
  tsan_roots=(fixtures/sample fixtures/cases tests/fuzz/corpus/archive)
  if [ -d "$DATASETS/clothing-small/test" ]; then
    tsan_roots+=("$DATASETS/clothing-small/test")
  else
    echo "skip clothing-small/test: $DATASETS/clothing-small is absent"
  fi
  for r in "${tsan_roots[@]}"; do
    "${TSAN_RUN[@]}" build-tsan/imgaudit scan "$r" --db "$tmp/tsan.db" -q \
      -j 4 2> "$tmp/tsan.err"
    rc=$?
    grep -q "ThreadSanitizer" "$tmp/tsan.err" && { cat "$tmp/tsan.err"; rc=66; }
    result $rc "TSan: scan -j 4 $(basename "$r") has no race"
  done
  # rescans reusing it, a file touched in the middle: following, then the
  # index loaded late and handed to the workers (store/store.h)
  cp -r fixtures/sample "$tmp/tsan-tree"
  tsan_db=$tmp/tsan-reuse.db
  build-tsan/imgaudit scan "$tmp/tsan-tree" --db "$tsan_db" -q -j 2
  find "$tmp/tsan-tree" -name '*.jpg' | sort | sed -n 5p |
    xargs touch -d 2001-01-01
  for extra in "--db $tsan_db --trust-mtime" "--db $tsan_db" \
               "--db $tmp/tsan-new.db --trust-mtime"; do
    # shellcheck disable=SC2086 # the words are options
    "${TSAN_RUN[@]}" build-tsan/imgaudit scan "$tmp/tsan-tree" $extra \
      --reuse "$tsan_db" -q -j 4 2> "$tmp/tsan.err"
    rc=$?
    grep -q "ThreadSanitizer" "$tmp/tsan.err" && { cat "$tmp/tsan.err"; rc=66; }
    result $rc "TSan: rescan -j 4 ${extra##*/} has no race"
  done
  "${TSAN_RUN[@]}" build-tsan/tests/test_pool > "$tmp/pool.out" 2>&1
  rc=$?; [ $rc -eq 0 ] || tail -40 "$tmp/pool.out"
  result $rc "TSan: the pool's unit test has no race"
  # the walk's stat-ahead helper thread (src/walk/ahead.c): its unit test,
  # then a scan and an unchanged rescan of a folder of 1,500 names (links
  # to one small fixture image), large enough for many chunks
  "${TSAN_RUN[@]}" build-tsan/tests/test_walk > "$tmp/walk.out" 2>&1
  rc=$?; [ $rc -eq 0 ] || tail -40 "$tmp/walk.out"
  result $rc "TSan: the walk's unit test has no race"
  # the Lanczos tables the workers share (src/measure/hash.c): hashers on
  # three threads building, finding and evicting them under each other
  IA_TEST_FILTER='test_shared_tables*' "${TSAN_RUN[@]}" \
    build-tsan/tests/test_hash > "$tmp/hash.out" 2>&1
  rc=$?; [ $rc -eq 0 ] || tail -40 "$tmp/hash.out"
  result $rc "TSan: the shared hash tables' unit tests have no race"
  mkdir -p "$tmp/tsan-big/c"
  cp fixtures/sample/test/bird/bird_027.jpg "$tmp/tsan-big/c/0.jpg"
  for i in $(seq 1 1499); do
    ln "$tmp/tsan-big/c/0.jpg" "$tmp/tsan-big/c/$i.jpg"
  done
  for extra in "" "--reuse $tmp/tsan-big.db --trust-mtime"; do
    # shellcheck disable=SC2086 # the words are options
    "${TSAN_RUN[@]}" build-tsan/imgaudit scan "$tmp/tsan-big" \
      --db "$tmp/tsan-big.db" $extra -q -j 2 2> "$tmp/tsan.err"
    rc=$?
    grep -q "ThreadSanitizer" "$tmp/tsan.err" && { cat "$tmp/tsan.err"; rc=66; }
    result $rc "TSan: scan -j 2 of a large folder ${extra:+(rescan) }has no race"
  done
else
  result 1 "TSan: build"
fi
unset TSAN_OPTIONS

# ---- 2. valgrind --------------------------------------------------------
echo "== valgrind: integration tests and fixture commands"
# --vgdb=no: no gdbserver, so no FIFO or shared-memory file in /tmp named
# by pid; one a run left behind (owned by root) made a later valgrind
# of the same pid, run as nobody (test_db_failures.py), fail to start.
VG="valgrind -q --vgdb=no --leak-check=full"
VG="$VG --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
# Without JPEG XL: valgrind (3.19) stops every program that loads
# libjxl (imgaudit opens it at the first JPEG XL file), on an instruction
# of libhwy's static initialiser (hwy::platform::TimerResolution, SIGILL). The JXL decoder
# is covered by the ASan+UBSan suite and the libFuzzer stage instead.
if setup build-vg -Dbench=false -Djxl=disabled &&
   ninja -C build-vg imgaudit \
     tests/race_shim.so tests/mkhostile >/dev/null; then
  bin=$ROOT/build-vg/imgaudit
  shim=$ROOT/build-vg/tests/race_shim.so
  for t in "test_hostile.py $bin $shim" "test_interrupt.py $bin $shim" \
           "test_writers.py $bin $shim" "test_db_failures.py $bin" \
           "test_limits.py $bin $ROOT/build-vg/tests/mkhostile"; do
    # shellcheck disable=SC2086 # the words are the command line
    set -- $t
    IA_TEST_WRAPPER="$VG" IA_TEST_QUICK=1 \
      python3 "tests/integration/$1" "${@:2}" > "$tmp/vg.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || grep -E "^FAIL|==[0-9]+==" "$tmp/vg.out" | head -40
    result $rc "valgrind: $1 ($(tail -1 "$tmp/vg.out"))"
  done
  db=$tmp/vg.db
  # with the rescans: one sharing sample's rows, one copying a one-scan DB
  # whole into a new DB, one following sample's scan and leaving it at
  # once (cases are other files)
  v1=$tmp/vg1.db
  v2=$tmp/vg2.db
  v3=$tmp/vg3.db
  cmds=("scan fixtures/formats --db $v3 -q -j 2"
        "export --db $v3 --format jsonl"
"scan fixtures/cases --db $db -q -j 4 --name cases"
        "scan fixtures/sample --db $db -q -j 1 --name sample"
        "scan fixtures/sample --db $db -q -j 2 --name sample --reuse $db"
        "scan fixtures/cases --db $v1 -q -j 2"
        "scan fixtures/cases --db $v2 -q --reuse $v1 --trust-mtime"
        "scan fixtures/cases --db $db -q --name cases --reuse $db -j 2"
        "scan tests/fuzz/corpus/archive --db $db -q -j 2 --name archives --label-field label"
        "report --db $db cases" "report --db $db sample --format md"
        "report --db $db sample --format json"
        "report --db $db sample --format html"
        "export --db $db cases --format csv"
        "export --db $db cases --format jsonl --problems"
        "scans --db $db"
        "compare --db $db cases sample --fail-on never")
  for c in "${cmds[@]}"; do
    # shellcheck disable=SC2086
    $VG "$bin" $c > /dev/null 2> "$tmp/vg.err"
    rc=$?
    [ $rc -eq 0 ] || tail -30 "$tmp/vg.err"
    result $rc "valgrind: imgaudit $c"
  done
  ext=$(/usr/bin/python3 -c \
    "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))")
  if ninja -C build-vg "python/imgaudit/_imgaudit$ext" >/dev/null; then
    rm -f "$tmp"/vgpy.*.log
    PYTHONMALLOC=malloc PYTHONPATH=$ROOT/build-vg/python \
      IMGAUDIT_CLI=$bin IMGAUDIT_SOURCE=$ROOT IMGAUDIT_TEST_VALGRIND=1 \
      PYTHONDONTWRITEBYTECODE=1 \
      valgrind -q --vgdb=no --leak-check=full --show-leak-kinds=definite \
        --num-callers=50 --log-file="$tmp/vgpy.%p.log" \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        python/tests/test_tables.py python/tests/test_scan.py \
        python/tests/test_compare.py > "$tmp/vgpy.out" 2>&1
    rc=$?
    [ $rc -eq 0 ] || tail -30 "$tmp/vgpy.out"
    python3 scripts/valgrind-ours.py "$tmp"/vgpy.*.log || rc=99
    result $rc "valgrind: python/tests ($(tail -1 "$tmp/vgpy.out"))"
  else
    result 1 "valgrind: python extension build"
  fi
else
  result 1 "valgrind: build"
fi

# ---- 3. the Python package installed with pip ----------------------------
echo "== pip install --no-build-isolation . into a virtual environment"
venv=$tmp/venv
rm -rf .mesonpy-*
if /usr/bin/python3 -m venv --system-site-packages "$venv" &&
   "$venv/bin/pip" install -q --no-build-isolation --no-index . \
     > "$tmp/pip.out" 2>&1; then
  (cd "$tmp" && "$venv/bin/python" -c '
import sys, imgaudit
assert imgaudit.__file__.startswith(sys.prefix), imgaudit.__file__
a = imgaudit.scan(sys.argv[1], "pip.db", progress=False)
assert len(a.files) == a.summary["files"] > 0
print(a)' "$ROOT/fixtures/sample") > "$tmp/pipscan.out" 2>&1
  rc=$?
  [ $rc -eq 0 ] || cat "$tmp/pipscan.out"
  result $rc "pip install: the package imports and scans the sample"
else
  tail -30 "$tmp/pip.out"
  result 1 "pip install --no-build-isolation ."
fi

# ---- 4. libFuzzer -------------------------------------------------------
echo "== libFuzzer: $FUZZ_SECONDS s per target"
if CC=clang setup build-fuzz -Dfuzz=true -Dbench=false -Db_lundef=false -Dwerror=true &&
   ninja -C build-fuzz tests/fuzz/fuzz_file tests/fuzz/fuzz_manifest \
     tests/fuzz/fuzz_db tests/fuzz/fuzz_archive tests/fuzz/fuzz_yolo \
     >/dev/null; then
  meson test -C build-fuzz --no-rebuild --suite fuzz --print-errorlogs \
    > "$tmp/fz.out" 2>&1
  rc=$?; [ $rc -eq 0 ] || tail -30 "$tmp/fz.out"
  result $rc "libFuzzer: replay of the corpora and saved crashes"
  run=build-fuzz/fuzz-run
  rm -rf "$run"
  mkdir -p "$run/artifacts" "$run/corpus/file" "$run/corpus/manifest" \
    "$run/corpus/db" "$run/corpus/archive" "$run/corpus/yolo"
  cp -r fixtures/cases fixtures/sample fixtures/formats \
    tests/fuzz/crashes/file "$run/corpus/file/"
  cp -r tests/fuzz/corpus/manifest/. tests/fuzz/crashes/manifest/. \
    "$run/corpus/manifest/"
  cp -r tests/fuzz/corpus/db/. tests/fuzz/crashes/db/. "$run/corpus/db/"
  cp -r tests/fuzz/corpus/archive/. tests/fuzz/crashes/archive/. \
    "$run/corpus/archive/"
  cp -r tests/fuzz/corpus/yolo/. tests/fuzz/crashes/yolo/. "$run/corpus/yolo/"
  for target in file manifest db archive yolo; do
    dict=()
    [ -f "tests/fuzz/fuzz_$target.dict" ] &&
      dict=("-dict=tests/fuzz/fuzz_$target.dict")
    ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/fuzz/fuzz_$target \
      -max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2560 \
      -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$run/artifacts/$target-" "$run/corpus/$target" \
      > "$run/$target.log" 2>&1
    rc=$?
    found=$(find "$run/artifacts" -name "$target-*" ! -name "$target-slow-unit-*")
    if [ -n "$found" ]; then
      rc=1
      echo "$found"
      grep -E "ERROR|SUMMARY|invariant" "$run/$target.log" | head -20
    fi
    runs=$(awk '/^stat::number_of_executed_units/ {print $2}' \
      "$run/$target.log")
    result $rc "libFuzzer: fuzz_$target for $FUZZ_SECONDS s, no crash (${runs:-0} runs)"
  done
  # fuzz_file again from each format's seeds alone (issue 15), so every
  # decoder of the table gets its own share of mutations.
  for dir in fixtures/formats/train/* fixtures/formats/codecs; do
    fmt=$(basename "$dir")
    [ "$fmt" = same ] && continue
    mkdir -p "$run/corpus/fmt-$fmt"
    cp -r "$dir/." "$run/corpus/fmt-$fmt/"
    ASAN_OPTIONS=detect_leaks=1 build-fuzz/tests/fuzz/fuzz_file \
      -max_total_time="$FUZZ_FORMAT_SECONDS" -timeout=30 \
      -rss_limit_mb=2560 -print_final_stats=1 \
      -dict=tests/fuzz/fuzz_file.dict \
      -artifact_prefix="$run/artifacts/fmt-$fmt-" "$run/corpus/fmt-$fmt" \
      > "$run/fmt-$fmt.log" 2>&1
    rc=$?
    found=$(find "$run/artifacts" -name "fmt-$fmt-*" ! -name "*slow-unit-*")
    if [ -n "$found" ]; then
      rc=1
      echo "$found"
      grep -E "ERROR|SUMMARY|invariant" "$run/fmt-$fmt.log" | head -20
    fi
    runs=$(awk '/^stat::number_of_executed_units/ {print $2}' \
      "$run/fmt-$fmt.log")
    result $rc "libFuzzer: fuzz_file on $fmt seeds for $FUZZ_FORMAT_SECONDS s, no crash (${runs:-0} runs)"
  done
else
  result 1 "libFuzzer: build"
fi

finish
