#!/bin/sh
# The benchmark, one command (docs/performance.md):
#
#   bench/run.sh [--quick] [--profile]
#
# Builds imgaudit and the benchmarks in build-bench/ (the project's default
# buildtype, as CI builds), generates the small-image corpus once (100,000
# tiles cut from clothing-small, in $IA_CORPUS, default
# /tmp/imgaudit-corpus; a few minutes), then for clothing-small and the
# corpus prints the decode ceiling and the full scan at -j 1 and -j 2
# (files/s, megapixels/s, peak RSS, the ratio scan/ceiling of the same
# run), the rescans of the unchanged trees, the near-duplicate index
# figure (1,000,000 hashes at the default phash radius 4, and at 8), and
# the per-pixel measurements against the JPEG decode alone
# (bench/measure_bench, tile-sized and photo-sized JPEGs).
#
# Then the other formats (issue 15): the first 1,000 clothing-small photos
# written as WebP, TIFF, GIF, BMP, PNM, TGA, AVIF, HEIC and JPEG XL by
# bench/make_formats (in
# $IA_CORPUS-formats), each folder measured like the corpora above, so the
# ratio scan/ceiling is per format (the ceiling decodes them through the
# scan's decoder table, rows discarded).
#
# --quick: one repetition, a 10,000-tile corpus and 200 photos per format
# (a smoke run).
# --profile: also record where the scan's time goes (perf, when it works
# on this machine) on clothing-small at -j 1.
#
# Environment: IA_DATASETS (default ../shared/datasets beside the source
# tree), IA_CORPUS, IA_BUILD (default build-bench), NEAR_N (1000000).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
datasets=${IA_DATASETS:-$here/../shared/datasets}
clothing=$datasets/clothing-small
build=${IA_BUILD:-$here/build-bench}
corpus=${IA_CORPUS:-/tmp/imgaudit-corpus}
near_n=${NEAR_N:-1000000}
repeat=3
count=100000
mixed_count=20000
fcount=1000
profile=0
for arg in "$@"; do
    case $arg in
    --quick)
        repeat=1
        count=10000
        mixed_count=2000
        fcount=200
        corpus=${IA_CORPUS:-/tmp/imgaudit-corpus-quick}
        ;;
    --profile) profile=1 ;;
    *) echo "usage: bench/run.sh [--quick] [--profile]" >&2; exit 2 ;;
    esac
done

if [ ! -d "$clothing" ]; then
    echo "bench/run.sh: $clothing not found (set IA_DATASETS)" >&2
    exit 1
fi

[ -d "$build" ] || meson setup "$build" "$here" >/dev/null
ninja -C "$build" imgaudit bench/decode_ceiling bench/make_corpus \
    bench/near_index bench/make_formats bench/measure_bench >/dev/null

echo "imgaudit benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(each figure: the median of $repeat runs; ratio = ceiling time /" \
     "scan time, 1.0 = as fast as decoding alone)"

# make_corpus_once DIR COUNT [--mixed]: the corpus, unless already there.
make_corpus_once() {
    if [ ! -f "$1.planted.csv" ]; then
        rm -rf "$1"
        "$build/bench/make_corpus" "$clothing" "$1" --count "$2" \
            --copies $(($2 / 100)) --reencodes $(($2 / 100)) ${3:-}
    fi
}
make_corpus_once "$corpus" "$count"
make_corpus_once "$corpus-mixed" "$mixed_count" --mixed

python3 "$here/bench/measure.py" "$build" clothing-small "$clothing" \
    --repeat "$repeat" --rescan
python3 "$here/bench/measure.py" "$build" "small-image corpus" "$corpus" \
    --repeat "$repeat" --rescan
python3 "$here/bench/measure.py" "$build" "mixed-size corpus" \
    "$corpus-mixed" --repeat "$repeat" --rescan

formats=$corpus-formats
# Writes only the kinds not there yet (a corpus from before a kind was
# added gains it; AVIF, HEIC and JPEG XL only where the build found their
# libraries): several minutes for all nine the first time.
"$build/bench/make_formats" "$clothing" "$formats" --count "$fcount" \
    >/dev/null
for f in webp tiff gif bmp pnm tga avif heic jxl; do
    [ -d "$formats/$f" ] || continue
    python3 "$here/bench/measure.py" "$build" "clothing photos as $f" \
        "$formats/$f" --repeat "$repeat"
done

echo "== near-duplicate index (bench/near_index $near_n 4 and 8)"
# 4 is the default phash radius (src/analyze/analyze.h); 8, twice as wide, shows
# how the index scales with the radius.
"$build/bench/near_index" "$near_n" 4 | sed 's/^/  /'
"$build/bench/near_index" "$near_n" 8 | sed 's/^/  /'

echo "== the measurements against the JPEG decode (bench/measure_bench)"
"$build/bench/measure_bench" 64 96 $((count / 25)) | sed 's/^/  /'
"$build/bench/measure_bench" 400 533 $((count / 330)) | sed 's/^/  /'

if [ "$profile" = 1 ]; then
    echo "== profile: imgaudit scan clothing-small -j 1 (perf, cpu-clock)"
    db=$(mktemp -u /tmp/ia-profile-XXXXXX.db)
    if perf record -e cpu-clock -F 2000 -o "$db.perf" "$build/imgaudit" \
        scan "$clothing" --db "$db" -q -j 1 >/dev/null 2>&1; then
        echo "  by library:"
        perf report -i "$db.perf" --no-children --sort dso --stdio \
            2>/dev/null | grep '%' | head -8 | sed 's/^/  /'
        echo "  imgaudit's own functions:"
        perf report -i "$db.perf" --no-children --dsos imgaudit \
            --sort symbol --stdio 2>/dev/null | grep '%' | head -12 |
            sed 's/^/  /'
    else
        echo "  perf does not work here; try: valgrind --tool=callgrind" \
             "$build/imgaudit scan DIR --db X.db -j 1"
    fi
    rm -f "$db" "$db.perf" "$db-wal" "$db-shm"
fi
