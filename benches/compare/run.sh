#!/usr/bin/env bash
# Side-by-side speed: mailroom against llama.cpp (llama-bench) and sentence-transformers (torch)
# on the same model files, the same texts and the same thread count, in one run.
#
#   benches/compare/run.sh [THREADS] [REPEATS]     (default: all cores, 3 repeats)
#   COMPARE_ONLY=encoder benches/compare/run.sh 2 5   (mailroom's encoder against torch only)
#
# The sides run back to back, REPEATS times interleaved, and report.py prints the median of each
# figure, so a busy machine hurts every side alike; the load average is printed with the report.
#
# Installs its anchors itself into a scratch folder (default /tmp/mailroom-compare, or
# $COMPARE_DIR): llama.cpp from the llama-cpp-python source package (which carries llama.cpp's
# source; built with cmake), sentence-transformers and torch from PyPI (the CPU-only torch build
# when its index is reachable, otherwise PyPI's default wheel, which also pulls several GB of CUDA
# libraries that torch loads but never uses on this CPU run). Not part of CI.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
threads="${1:-$(nproc)}"
repeats="${2:-3}"
only="${COMPARE_ONLY:-all}"
scratch="${COMPARE_DIR:-/tmp/mailroom-compare}"
mkdir -p "$scratch"
gguf="$root/models/smollm2-135m-instruct-q4_1/SmolLM2-135M-Instruct.Q4_1.gguf"
encoder="$root/models/all-minilm-l6-v2"

echo "== building mailroom" >&2
(cd "$root" && python3 models/fetch >/dev/null && cargo build --release --quiet)

if [ "$only" != encoder ] && [ ! -x "$scratch/llama-bench" ]; then
    echo "== building llama.cpp" >&2
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

if ! "$scratch/venv/bin/python" -c "import torch, sentence_transformers" 2>/dev/null; then
    echo "== installing sentence-transformers and torch" >&2
    python3 -m venv "$scratch/venv"
    pip="$scratch/venv/bin/pip"
    "$pip" install --quiet --upgrade pip
    "$pip" install --quiet torch --index-url https://download.pytorch.org/whl/cpu 2>/dev/null \
        || "$pip" install --quiet "setuptools>=77" torch
    "$pip" install --quiet sentence-transformers
fi

runs="$scratch/runs"
rm -rf "$runs" && mkdir -p "$runs"
gen_flag=""
[ "$only" = encoder ] && gen_flag="--no-generator"
for r in $(seq "$repeats"); do
    echo "== repeat $r/$repeats: mailroom, llama.cpp, torch ($threads threads)" >&2
    "$root/target/release/mailroom" --cpu-threads "$threads" bench --json $gen_flag \
        --prompt-tokens 256 --new-tokens 64 > "$runs/mailroom-$r.json"
    if [ "$only" != encoder ]; then
        "$scratch/llama-bench" -m "$gguf" -t "$threads" -p 256 -n 64 -r 3 -o json > "$runs/llama-$r.json"
    fi
    "$scratch/venv/bin/python" "$here/st_bench.py" "$encoder" "$threads" > "$runs/torch-$r.json"
done
python3 "$here/report.py" "$runs"
echo "load average after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
