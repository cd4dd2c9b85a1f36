#!/usr/bin/env bash
# Side-by-side speed: mailroom against llama.cpp (llama-bench) and sentence-transformers (torch)
# on the same model files, the same texts and the same thread count, in one run.
#
#   benches/compare/run.sh [THREADS]        (default: all cores)
#
# Installs its anchors itself into a scratch folder (default /tmp/mailroom-compare, or
# $COMPARE_DIR): llama.cpp from the llama-cpp-python source package (which carries llama.cpp's
# source; built with cmake), sentence-transformers and torch from PyPI. Needs cmake and a C++
# compiler, and several GB of disk for torch. Not part of CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads="${1:-$(nproc)}"
scratch="${COMPARE_DIR:-/tmp/mailroom-compare}"
mkdir -p "$scratch"
gguf="$root/models/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf"
encoder="$root/models/all-minilm-l6-v2"

echo "== mailroom ($threads threads)"
(cd "$root" && python3 models/fetch >/dev/null && cargo build --release --quiet)
"$root/target/release/mailroom" --threads "$threads" bench --json --prompt-tokens 256 --new-tokens 64 > "$scratch/mailroom.json"

echo "== llama.cpp"
if [ ! -x "$scratch/llama-bench" ]; then
    command -v cmake >/dev/null || { echo "cmake is needed (apt-get install cmake)"; exit 2; }
    rm -rf "$scratch/src" && mkdir -p "$scratch/src"
    # The source package only (its build tools may come as wheels).
    python3 -m pip download --no-deps --no-binary llama-cpp-python -d "$scratch/src" llama-cpp-python
    tar -xzf "$scratch"/src/llama_cpp_python-*.tar.gz -C "$scratch/src"
    llama_src="$(ls -d "$scratch"/src/llama_cpp_python-*/vendor/llama.cpp)"
    cmake -S "$llama_src" -B "$scratch/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
        -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON >/dev/null
    cmake --build "$scratch/build" --target llama-bench -j "$(nproc)" >/dev/null
    cp "$(find "$scratch/build" -name llama-bench -type f | head -1)" "$scratch/llama-bench"
fi
"$scratch/llama-bench" -m "$gguf" -t "$threads" -p 256 -n 64 -r 3 -o json > "$scratch/llama.json"

echo "== sentence-transformers (torch)"
if [ ! -x "$scratch/venv/bin/python" ]; then
    python3 -m venv "$scratch/venv"
    "$scratch/venv/bin/pip" install --quiet sentence-transformers torch
fi
"$scratch/venv/bin/python" "$here/st_bench.py" "$encoder" "$threads" > "$scratch/torch.json"

python3 "$here/report.py" "$scratch/mailroom.json" "$scratch/llama.json" "$scratch/torch.json"
