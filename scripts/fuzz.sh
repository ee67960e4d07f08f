#!/usr/bin/env bash
# Fuzzes one of Berth's client-facing parsers with libFuzzer (not part of the tests):
#   scripts/fuzz.sh TARGET [SECONDS]     TARGET: manifest, reference, pattern, config, jwt, range
# Builds berth-fuzz with -sanitize=fuzzer,address into .build-fuzz (the first build takes a
# while), starts from the committed seeds in Tests/fuzz-corpus/TARGET and a working corpus in
# .build-fuzz/corpus/TARGET, and writes any crashing input to Tests/fuzz-corpus/TARGET/, where
# the normal build's replayer (`berth-fuzz Tests/fuzz-corpus`, run by the test command) keeps
# it fixed once it is.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: scripts/fuzz.sh manifest|reference|pattern|config|jwt|range [SECONDS]}
seconds=${2:-60}
swift build -c release --product berth-fuzz --scratch-path .build-fuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -parse-as-library
mkdir -p ".build-fuzz/corpus/$target" "Tests/fuzz-corpus/$target"
BERTH_FUZZ_TARGET=$target .build-fuzz/release/berth-fuzz \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="Tests/fuzz-corpus/$target/crash-" \
    ".build-fuzz/corpus/$target" "Tests/fuzz-corpus/$target"
