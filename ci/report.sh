#!/usr/bin/env bash
# One report from the row folders several runners uploaded: `ci/report.sh RUN_ID DIR...`.
# `python -m harness merge` writes the run's record and copies the rows in; `python -m harness report`
# (what `nox -s report` runs, in this interpreter: ci/setup.sh installed the harness) renders
# reports/index.html and reports/summary.json. Exit status: the report's (0 as expected, 1 a
# feature broke or a benchmark regressed, 2 nothing to report).
set -euo pipefail
run_id=${1:?usage: ci/report.sh RUN_ID DIR...}
shift
[ "$#" -gt 0 ] || { echo "usage: ci/report.sh RUN_ID DIR..." >&2; exit 2; }
cd "$(dirname "$0")/.."
python -m harness merge --run-id "$run_id" "$@"
python -m harness report --run "$run_id"
