#!/bin/sh
# The README's first command after the dependencies: builds imgaudit and
# audits the bundled sample dataset (fixtures/sample), showing the report
# on the terminal. Everything it writes stays in build/ (git-ignored):
# build/sample.db, build/sample-report.html and build/sample-report.json.
set -eu
cd "$(dirname "$0")/.."
[ -d build ] || meson setup build >/dev/null
meson compile -C build >/dev/null
db=build/sample.db
rm -f "$db"
# The sample has errors on purpose: exit status 3 (findings at or above
# --fail-on) is not a failure of this script; --fail-on never says so.
build/imgaudit scan fixtures/sample --db "$db" --fail-on never -q
build/imgaudit report --db "$db"
build/imgaudit report --db "$db" --format html -o build/sample-report.html
build/imgaudit report --db "$db" --format json -o build/sample-report.json
cat <<MSG

The sample dataset is seeded with problems on purpose (fixtures/README.md):
a truncated JPEG, a PNG named .jpg, a grayscale image among RGB ones, macOS
metadata files and a test image copied into train. The errors above are
those problems, found.

  HTML report:  build/sample-report.html (open it in a browser)
  JSON report:  build/sample-report.json
  database:     build/sample.db (imgaudit export --db build/sample.db)
MSG
