#!/usr/bin/env bash
# The reference of the library and of the proxyshard command: LDoc (Debian
# lua-ldoc, in scripts/setup.sh's test set) over the doc comments, as
# config.ld says, into docs/reference/ (ignored by git; open
# docs/reference/index.html). Any LDoc warning fails it: they are printed
# and it exits 1, so that CI (scripts/test.sh's "LDoc reference" phase)
# catches a doc comment LDoc cannot read. The handles' methods are made at
# run time from the operation rows: scripts/docs-handles.lua first writes
# their LDoc source into build-docs/handles/ (ignored by git), which
# config.ld has LDoc read with the library.
#   usage: scripts/docs.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v ldoc >/dev/null; then
  echo "docs: ldoc is missing: apt-get install --no-install-recommends lua-ldoc (or scripts/setup.sh --tests)" >&2
  exit 1
fi

rm -rf docs/reference build-docs/handles
if ! out=$(lua5.4 scripts/docs-handles.lua build-docs/handles 2>&1); then
  echo "docs: scripts/docs-handles.lua failed:" >&2
  echo "$out" >&2
  exit 1
fi
if ! out=$(ldoc -c config.ld . 2>&1); then
  echo "docs: ldoc failed:" >&2
  echo "$out" >&2
  exit 1
fi
# what LDoc says on every run; anything else is a warning
warnings=$(grep -v -e '^reading configuration from config\.ld$' -e '^output written to ' <<<"$out" || true)
if [[ -n $warnings ]]; then
  echo "docs: LDoc warnings:" >&2
  echo "$warnings" >&2
  exit 1
fi
if [[ ! -f docs/reference/index.html ]]; then
  echo "docs: ldoc wrote no docs/reference/index.html" >&2
  exit 1
fi
echo "docs: the reference is in docs/reference/index.html ($(find docs/reference/modules -name '*.html' | wc -l) modules, $(find docs/reference/classes -name '*.html' | wc -l) handles)"
