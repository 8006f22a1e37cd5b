#!/usr/bin/env bash
# Build llama.cpp's native `llama-server` once per machine from the vendored llama.cpp inside the pinned
# llama-cpp-python sdist on PyPI, and cache it outside the checkout (CI clones fresh every time).
# Prints the path of the binary. Skips the build when RL_PIPELINE_LLAMA_SERVER points at a binary or
# the cached one exists.
set -euo pipefail

LLAMA_CPP_PYTHON_VERSION="0.3.36"
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
echo "building llama-server from llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION (one time, a few minutes)" >&2
"$PYTHON" -m pip download -q --no-deps --no-binary :all: "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION" -d "$WORK" >&2
tar -xzf "$WORK"/llama_cpp_python-*.tar.gz -C "$WORK"
SRC=$(echo "$WORK"/llama_cpp_python-*/vendor/llama.cpp)
cmake -S "$SRC" -B "$WORK/build" "${CMAKE_FLAGS[@]}" >&2
cmake --build "$WORK/build" --target llama-server -j "$(nproc)" >&2
install -m 0755 "$WORK/build/bin/llama-server" "$DEST.tmp"
mv "$DEST.tmp" "$DEST"
echo "${CMAKE_FLAGS[*]}" > "$DEST_DIR/build-flags"
echo "$DEST"
