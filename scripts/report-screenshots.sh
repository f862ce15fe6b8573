#!/bin/sh
# Remakes docs/img/scan-report.png and docs/img/compare-report.png:
# a modified copy of the clothing dataset (scripts/modify-clothing.py),
# both scanned, the scan page of the copy and the compare page rendered
# by headless Chromium, cropped and scaled with Pillow (each < 400 KB).
#
#   scripts/report-screenshots.sh [IMGAUDIT] [DATASET]
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$here/build/imgaudit}
src=${2:-$here/../shared/datasets/clothing-small}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$here/scripts/modify-clothing.py" "$src" "$tmp/clothing-modified"
"$exe" scan "$src" --db "$tmp/base.db" -q --name clothing-small || true
"$exe" scan "$tmp/clothing-modified" --db "$tmp/new.db" -q \
    --name clothing-modified || true
"$exe" report --db "$tmp/new.db" --format html -o "$tmp/scan.html"
"$exe" compare "$tmp/base.db" "$tmp/new.db" --format html --fail-on never \
    -o "$tmp/compare.html"
# The sections a screenshot leaves out (charts, the changes table), so a
# 1280x2400 window shows the top and the cards; the page itself is the
# one written above, minus those <section> elements.
/usr/bin/python3 - "$tmp" <<'PY'
import re, sys
tmp = sys.argv[1]
for name, drop in (("scan", ("labels", "distributions")),
                   ("compare", ("changes", "labels", "distributions"))):
    with open("%s/%s.html" % (tmp, name), encoding="utf-8") as f:
        html = f.read()
    for sid in drop:
        html = re.sub(r'<section id="%s">.*?</section>\n' % sid, "", html,
                      count=1, flags=re.S)
    with open("%s/%s-shot.html" % (tmp, name), "w", encoding="utf-8") as f:
        f.write(html)
PY
mkdir -p "$here/docs/img"
for n in scan compare; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --screenshot="$tmp/$n.png" --window-size=1280,2400 \
        "file://$tmp/$n-shot.html" 2>/dev/null
    # 900 px wide, 256 colors: well under 400 KB
    /usr/bin/python3 -c 'import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
im = im.resize((900, im.height * 900 // im.width), Image.LANCZOS)
im.quantize(colors=256, method=Image.MEDIANCUT, dither=0).save(
    sys.argv[2], optimize=True)' "$tmp/$n.png" "$here/docs/img/$n-report.png"
done
ls -l "$here/docs/img"
