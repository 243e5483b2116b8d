#!/bin/sh
# Rebuilds the shipped landscape from its three batches, in the order the
# knowledge arrived. Deterministic: the same batches give the same bytes.
#
#   events/build.sh [OUT]      (default OUT: events/auvergne-rhone-alpes.jsonl)
#
# FUSION names the fusion command (default: `cargo run -q --`); the test
# tests/landscape.rs sets it to the built binary and compares the result
# with the committed ledger byte for byte.
#
# The `recorded` times are stand-ins for "when it became known": the
# estimated publication times of the two undated articles (mid-June 2015,
# mid-July 2016) and one fixed present-day time for the later facts. They
# are not the times the batches were really appended.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/auvergne-rhone-alpes.jsonl"}
fusion=${FUSION:-cargo run -q --manifest-path "$here/../Cargo.toml" --}

rm -f "$out"
$fusion --ledger "$out" init >/dev/null
FUSION_RECORDED=2015-06-15T12:00:00Z $fusion --ledger "$out" append "$here/batches/1-article-2015.jsonl"
FUSION_RECORDED=2016-07-15T12:00:00Z $fusion --ledger "$out" append "$here/batches/2-article-2016.jsonl"
FUSION_RECORDED=2026-11-22T12:00:00Z $fusion --ledger "$out" append "$here/batches/3-later-facts.jsonl"
