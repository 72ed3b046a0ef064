#!/usr/bin/env bash
# One row of the matrix on this runner: `ci/row.sh ROW [options after nox's --]`, e.g.
#   HARNESS_RUN_ID=20260101T031700Z ci/row.sh torch-2.14 --depth full
# nox installs the row and runs the suites into reports/runs/$HARNESS_RUN_ID/rows/ROW/ (the folder
# the workflow uploads). The run id is shared by every row job, so the folders merge into one run.
# Exit status: the row's verdict (0 as expected, 1 a feature broke, 2 a usage error).
set -euo pipefail
row=${1:?usage: ci/row.sh ROW [--depth quick|full] [--timeout S] [pytest args]}
shift
: "${HARNESS_RUN_ID:?set HARNESS_RUN_ID: every row of one run shares it}"
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
nox -s "matrix($row)" -- "$@"
