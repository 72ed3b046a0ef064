#!/usr/bin/env bash
# The nightly's issue: `ci/issue.sh OUTCOME RUN_ID`, OUTCOME being the report step's outcome.
# A night that is not as expected (a feature broke, a benchmark regressed, or no report) opens
# an issue labelled nightly-failure, or comments on the one already open; a night as expected
# closes it. Needs gh, GH_TOKEN (issues: write) and GITHUB_REPOSITORY; PAGES_URL is optional.
set -euo pipefail
outcome=${1:?usage: ci/issue.sh success|failure RUN_ID}
run_id=${2:?usage: ci/issue.sh success|failure RUN_ID}
label=${ISSUE_LABEL:-nightly-failure}
cd "$(dirname "$0")/.."
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:?}/actions/runs/${GITHUB_RUN_ID:-}"
body=$(mktemp)
python -m harness verdict --run-id "$run_id" --run-url "$run_url" --pages-url "${PAGES_URL:-}" > "$body"
open_issue=$(gh issue list --label "$label" --state open --limit 1 --json number --jq '.[0].number // empty' || true)

if [ "$outcome" = success ]; then
  if [ -n "$open_issue" ]; then
    gh issue close "$open_issue" --comment "Night $run_id is as expected again: $run_url"
  fi
  exit 0
fi
if [ -n "$open_issue" ]; then
  gh issue comment "$open_issue" --body-file "$body"
else
  gh label create "$label" --color d73a4a --force \
    --description "The nightly compatibility run found a change against expectations" >/dev/null
  gh issue create --label "$label" --body-file "$body" \
    --title "Nightly compatibility run: a feature broke or a benchmark regressed"
fi
