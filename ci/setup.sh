#!/usr/bin/env bash
# A CI runner's prerequisites: the suites' system packages (FFmpeg for torchcodec, a JDK and g++
# for the Java bridge, Chromium for the report test), then nox and uv (README: Quick start) and the
# harness's own dependencies (`python -m harness plan|merge|restore|publish|verdict` run here).
#   ci/setup.sh               everything
#   ci/setup.sh --python-only nox and uv only (planning, resolving, reporting)
#   ci/setup.sh --free-disk   also drop the runner's unused toolchains: a CUDA torch row takes ~8 GB
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

python_only=0 free_disk=0
for arg in "$@"; do
  case "$arg" in
    --python-only) python_only=1 ;;
    --free-disk) free_disk=1 ;;
    *) echo "usage: ci/setup.sh [--python-only] [--free-disk]" >&2; exit 2 ;;
  esac
done

if [ "$free_disk" = 1 ] && [ "${GITHUB_ACTIONS:-}" = true ]; then
  as_root rm -rf /usr/share/dotnet /usr/local/lib/android /opt/ghc /usr/local/.ghcup /opt/hostedtoolcache/CodeQL
  df -h / | tail -1
fi

if [ "$python_only" = 0 ]; then
  missing=()
  command -v ffmpeg >/dev/null || missing+=(ffmpeg)
  command -v javac >/dev/null || missing+=(default-jdk-headless)
  command -v g++ >/dev/null || missing+=(g++)
  if ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null; then
    if command -v google-chrome >/dev/null; then
      # GitHub's Ubuntu images ship Chrome; it takes the same headless flags as Chromium.
      as_root ln -sf "$(command -v google-chrome)" /usr/local/bin/chromium
    else
      missing+=(chromium)
    fi
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
  for tool in ffmpeg javac java g++; do
    command -v "$tool" >/dev/null || { echo "ci/setup.sh: $tool is still missing" >&2; exit 1; }
  done
fi

python -m pip install -q --disable-pip-version-check nox uv -e "$(dirname "$0")/.."
nox --version
