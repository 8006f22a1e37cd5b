#!/usr/bin/env bash
# Build llama.cpp's native `llama-server` once per machine from the vendored llama.cpp inside the pinned
# llama-cpp-python sdist on PyPI, and cache it outside the checkout (CI clones fresh every time).
# Prints the path of the binary. Skips the build when RL_PIPELINE_LLAMA_SERVER points at a binary or
# the cached one exists.
set -euo pipefail

# RL_PIPELINE_LLAMA_CPP_PYTHON_VERSION exists for the test of a failing build; keep the pin otherwise.
LLAMA_CPP_PYTHON_VERSION="${RL_PIPELINE_LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE_ROOT="${RL_PIPELINE_CACHE:-$HOME/.cache/rl_pipeline}"
DEST_DIR="$CACHE_ROOT/llama-server-$LLAMA_CPP_PYTHON_VERSION"
DEST="$DEST_DIR/llama-server"
PYTHON="${PYTHON:-python3}"

if [ -n "${RL_PIPELINE_LLAMA_SERVER:-}" ] && [ -x "$RL_PIPELINE_LLAMA_SERVER" ]; then
  echo "$RL_PIPELINE_LLAMA_SERVER"; exit 0
fi
# Built for this machine's CPU (the cache never leaves it): a portable build is several times
# slower per token. The flags are recorded so that a binary built with other flags is rebuilt.
CMAKE_FLAGS=(-DCMAKE_BUILD_TYPE=Release -DLLAMA_BUILD_SERVER=ON -DLLAMA_OPENSSL=OFF
  -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DBUILD_SHARED_LIBS=OFF -DLLAMA_CURL=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_NATIVE=ON)
up_to_date() { [ -x "$DEST" ] && [ "$(cat "$DEST_DIR/build-flags" 2>/dev/null)" = "${CMAKE_FLAGS[*]}" ]; }

if up_to_date; then
  echo "$DEST"; exit 0
fi

mkdir -p "$DEST_DIR"
# One build at a time per machine: a second caller waits for the first and then reuses its binary.
exec 9>"$DEST_DIR/.build.lock"
flock 9
if up_to_date; then echo "$DEST"; exit 0; fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# The compiler's output (thousands of lines, hundreds of warnings) goes to a log in the cache
# folder; the terminal gets one line per stage, and on failure the log's path and its last lines.
LOG="$DEST_DIR/build.log"
: > "$LOG"
stage() {
  local name="$1"; shift
  echo "llama-server build: $name" >&2
  if ! "$@" >>"$LOG" 2>&1; then
    echo "llama-server build failed at: $name (full log: $LOG); its last lines:" >&2
    tail -n 25 "$LOG" >&2
    exit 1
  fi
}
echo "llama-server build: one time, from llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION, a few minutes (log: $LOG)" >&2
stage "download source" "$PYTHON" -m pip download --no-deps --no-binary :all: \
  "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$WORK"
stage "unpack" tar -xzf "$(echo "$WORK"/llama_cpp_python-*.tar.gz)" -C "$WORK"
SRC=$(echo "$WORK"/llama_cpp_python-*/vendor/llama.cpp)
stage "configure (cmake)" cmake -S "$SRC" -B "$WORK/build" "${CMAKE_FLAGS[@]}"
stage "compile ($(nproc) jobs)" cmake --build "$WORK/build" --target llama-server -j "$(nproc)"
install -m 0755 "$WORK/build/bin/llama-server" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
echo "${CMAKE_FLAGS[*]}" > "$DEST_DIR/build-flags"
echo "llama-server build: done ($DEST)" >&2
echo "$DEST"
