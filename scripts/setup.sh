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
  cmake_args="${CMAKE_ARGS:-}"
  if [ -z "$cmake_args" ] && [ "$(uname -m)" = x86_64 ]; then
    # Not -march=native: virtual machines may advertise AMX tiles they then refuse (SIGILL in
    # ggml's AMX matmul), and a wheel built natively breaks on another CPU. AVX2 is plenty here.
    cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  fi
  # --no-cache-dir: pip would otherwise reuse a wheel it built earlier with other CMAKE_ARGS.
  CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip install \
    --no-cache-dir --progress-bar on "llama-cpp-python>=0.3" </dev/null
fi
echo "Installing the project${EXTRAS:+ with extras [$EXTRAS]} ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" </dev/null
