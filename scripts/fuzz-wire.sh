#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the wire decoder (Fuzz/WireFuzzer.swift).
#
#   scripts/fuzz-wire.sh                 # seed the corpus, build, fuzz 10M executions
#   scripts/fuzz-wire.sh -runs=1000000   # any libFuzzer flags are passed through
#   scripts/fuzz-wire.sh --seed-only     # (re)write Fuzz/corpus/wire from protos/vectors, no fuzzing
#   scripts/fuzz-wire.sh --migrate-version  # after a protocol version bump: rewrite the version
#                                        # byte of every found input (not the vector seeds) to the
#                                        # current one (earlier versions only), so the corpus reaches past the version check
#
# The corpus (Fuzz/corpus/wire) starts from every golden vector in protos/vectors (valid and
# invalid); libFuzzer adds the inputs that reach new code. Crash inputs land in
# Fuzz/regressions/wire; commit them — `swift test --filter WireFuzzCorpus` replays both
# directories through the decoder. Not part of `swift build`: the target needs
# `-sanitize=fuzzer`, which SwiftPM builds do not use.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${FUZZ_BUILD_DIR:-$ROOT/.build-fuzz}
CORPUS=$ROOT/Fuzz/corpus/wire
CRASHES=$ROOT/Fuzz/regressions/wire
mkdir -p "$BUILD" "$CORPUS" "$CRASHES"

if [[ "${1:-}" == "--migrate-version" ]]; then
    VERSION=$(sed -n 's/.*public static let version: UInt8 = \([0-9]*\).*/\1/p' Sources/TesseraWire/WireCodec.swift)
    python3 - "$VERSION" "$CORPUS" "$CRASHES" <<'PY'
import os, sys
version, dirs = int(sys.argv[1]), sys.argv[2:]
moved = 0
for d in dirs:
    for name in os.listdir(d):
        path = os.path.join(d, name)
        data = bytearray(open(path, 'rb').read())
        if not name.startswith('vector-') and data[:2] == b'TS' and len(data) > 2 and 0 < data[2] < version:
            data[2] = version
            open(path, 'wb').write(data)
            moved += 1
print(f"{moved} corpus inputs rewritten to protocol version {version}")
PY
    exit 0
fi

# Seed: one binary file per golden vector (hex pairs, '#' comments).
for hex in protos/vectors/valid/*.hex protos/vectors/invalid/*.hex; do
    kind=$(basename "$(dirname "$hex")")
    out="$CORPUS/vector-$kind-$(basename "$hex" .hex)"
    sed 's/#.*//' "$hex" | tr -d ' \t\n\r' | xxd -r -p > "$out"
done
if [[ "${1:-}" == "--seed-only" ]]; then exit 0; fi

SAN=fuzzer,address
# TesseraCore: instrumented the same way, as a static library + module.
swiftc -O -parse-as-library -sanitize=$SAN -module-name TesseraCore \
    -emit-module -emit-module-path "$BUILD/TesseraCore.swiftmodule" \
    -emit-library -static -o "$BUILD/libTesseraCore.a" Sources/TesseraCore/*.swift
# The target: TesseraWire's sources and the fuzz entry point in one module.
swiftc -O -parse-as-library -sanitize=$SAN -module-name TesseraWire -I "$BUILD" -L "$BUILD" -lTesseraCore \
    Sources/TesseraWire/*.swift Fuzz/WireFuzzer.swift -o "$BUILD/wire-fuzzer"

RUNS=-runs=10000000
for arg in "$@"; do [[ "$arg" == -runs=* ]] && RUNS=""; done
cd "$BUILD"
exec "$BUILD/wire-fuzzer" $RUNS -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$CRASHES/" "$@" "$CORPUS"
