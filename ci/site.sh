#!/usr/bin/env bash
# The published site on the gh-pages branch (GitHub Pages can serve it: Settings > Pages >
# Deploy from a branch > gh-pages, /).
#   ci/site.sh fetch DIR            check the branch out into DIR (an empty DIR on the first night)
#   ci/site.sh push DIR MESSAGE     replace the branch with DIR as one new commit
# The nights live in the tree (runs/<id>/, pruned by `python -m harness publish --keep`), so the branch is one
# commit the size of the kept nights and never grows with git history.
# Needs GH_TOKEN (a token that may push: the workflow's, with contents: write) and GITHUB_REPOSITORY.
set -euo pipefail
action=${1:?usage: ci/site.sh fetch|push DIR [MESSAGE]}
dir=${2:?usage: ci/site.sh fetch|push DIR [MESSAGE]}
branch=${PAGES_BRANCH:-gh-pages}
url="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:?}.git"
auth="AUTHORIZATION: basic $(printf 'x-access-token:%s' "${GH_TOKEN:?}" | base64 | tr -d '\n')"

case "$action" in
  fetch)
    rm -rf "$dir"
    # Exit 2 means the branch does not exist; any other failure stops here, so that a
    # transient error never starts an empty site that would replace the history.
    status=0
    git -c "http.extraheader=$auth" ls-remote --exit-code --heads "$url" "$branch" >/dev/null || status=$?
    if [ "$status" = 0 ]; then
      git -c "http.extraheader=$auth" clone --quiet --depth 1 --branch "$branch" "$url" "$dir"
      rm -rf "$dir/.git"
      echo "site: $branch fetched into $dir ($(find "$dir/runs" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l) nights)"
    elif [ "$status" = 2 ]; then
      mkdir -p "$dir"
      echo "site: no $branch branch yet; starting an empty site in $dir"
    else
      echo "site: cannot read $url (git exit $status)" >&2
      exit 1
    fi
    ;;
  push)
    message=${3:-"publish $(date -u +%Y%m%dT%H%M%SZ)"}
    cd "$dir"
    rm -rf .git
    git init --quiet --initial-branch "$branch"
    git add --all
    git -c user.name="github-actions[bot]" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
      commit --quiet --message "$message"
    git -c "http.extraheader=$auth" push --quiet --force "$url" "HEAD:refs/heads/$branch"
    echo "site: $branch replaced with $(git ls-files | wc -l) files"
    ;;
  *)
    echo "usage: ci/site.sh fetch|push DIR [MESSAGE]" >&2
    exit 2
    ;;
esac
