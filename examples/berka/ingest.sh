#!/usr/bin/env bash
# Ingests every Berka file into a kiln project, with the tables of examples/berka/kiln.config.ts.
#   examples/berka/ingest.sh [PROJECT_DIR]
# PROJECT_DIR defaults to a new temporary directory; the data defaults to <repo>/../shared/data/berka
# (set BERKA_DATA to use another copy). The project's kiln.config.ts is a copy of this example's.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="${BERKA_DATA:-$repo/../shared/data/berka}"
if [[ ! -d "$data" ]]; then
  echo "error: no Berka data at $data; set BERKA_DATA to the folder with account.asc, loan.asc, ..." >&2
  exit 1
fi
data="$(cd "$data" && pwd)"
project="${1:-$(mktemp -d "${TMPDIR:-/tmp}/kiln-berka-XXXXXX")}"
mkdir -p "$project"
project="$(cd "$project" && pwd)"
if [[ -e "$project/kiln.config.ts" ]] && ! cmp -s "$here/kiln.config.ts" "$project/kiln.config.ts"; then
  echo "error: $project/kiln.config.ts exists and is not the Berka example's; use an empty directory" >&2
  exit 1
fi
cp "$here/kiln.config.ts" "$project/kiln.config.ts"
kiln() { node "$repo/bin/kiln.js" --project "$project" "$@"; }
node "$repo/bin/kiln.js" init "$project" >/dev/null
for table in account client disp district loan order card; do
  kiln ingest "$table" "$data/$table.asc" --mode replace
done
kiln ingest trans "$data"/trans_partial_*.asc.gz --mode replace
kiln tables
echo "project: $project"
