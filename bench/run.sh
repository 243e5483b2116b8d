#!/usr/bin/env bash
# End-to-end benchmarks of fusion against baselines measured in the same run.
#
#   bench/run.sh                 # sizes 1000 100000 1000000
#   SIZES="1000 100000" bench/run.sh
#   RUNS=5 bench/run.sh          # runs per figure (median); 10^6 uses min(RUNS,3)
#   RUNS_BIG=7 bench/run.sh      # runs per figure at 10^6
#
# Prints ONE markdown table on stdout (progress goes to stderr). Generated
# ledgers are cached under target/bench-data (deterministic: seed 1).
# Every figure is a ratio to a baseline of the same run: the machines are
# shared and noisy, absolute times are not comparable between runs. A
# figure and its baseline run alternately, and the ratio is the median of
# the pairs' ratios (see `paired`).
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 100000 1000000"}
RUNS=${RUNS:-5}
DATA=target/bench-data
BIN=target/release/fusion
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fusion-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$DATA" "$TMP/snaps"

log() { printf '%s\n' "$*" >&2; }

log "building (release)…"
cargo build --release --quiet 2>&1 | grep -v '^warning' >&2 || true
[ -x "$BIN" ] || { log "no $BIN"; exit 1; }

# fusion with an empty snapshots directory: cold runs.
fz() { "$BIN" --snapshots "$TMP/snaps" "$@"; }

# median TIME (seconds) of N runs of a shell snippet; SETUP runs before each
# run, untimed.
median() {
    local n=$1 setup=$2 cmd=$3 i t0 t1
    local -a ts=()
    for ((i = 0; i < n; i++)); do
        eval "$setup"
        t0=$(date +%s.%N)
        eval "$cmd" >/dev/null 2>&1 || { log "FAILED: $cmd"; echo "nan"; return; }
        t1=$(date +%s.%N)
        ts+=("$(echo "$t1 - $t0" | bc -l)")
    done
    med "${ts[@]}"
}

# median of the numbers given.
med() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.4f\n", m}'; }

# paired N A B [SETUP]: runs the shell snippet A then B, N times,
# alternating, and prints "median(A) median(B) median(A/B)". A ratio of two
# runs side by side is steadier than a ratio of medians: the machine's speed
# drifts between runs minutes apart. SETUP runs before each A, untimed.
paired() {
    local n=$1 a=$2 b=$3 setup=${4:-:} i t0 t1 ta tb
    local -a as=() bs=() rs=()
    for ((i = 0; i < n; i++)); do
        eval "$setup" >/dev/null 2>&1 || { log "FAILED: $setup"; echo "nan nan nan"; return; }
        t0=$(date +%s.%N)
        eval "$a" >/dev/null 2>&1 || { log "FAILED: $a"; echo "nan nan nan"; return; }
        t1=$(date +%s.%N)
        ta=$(echo "$t1 - $t0" | bc -l)
        t0=$(date +%s.%N)
        eval "$b" >/dev/null 2>&1 || { log "FAILED: $b"; echo "nan nan nan"; return; }
        t1=$(date +%s.%N)
        tb=$(echo "$t1 - $t0" | bc -l)
        as+=("$ta")
        bs+=("$tb")
        rs+=("$(echo "$ta / $tb" | bc -l)")
    done
    echo "$(med "${as[@]}") $(med "${bs[@]}") $(med "${rs[@]}")"
}

fmt_t() { awk -v t="$1" 'BEGIN { if (t == "nan" || t == "") print "n/a"; else if (t < 1) printf "%.1f ms", t*1000; else printf "%.2f s", t }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "nan" || b == "nan" || b == 0 || a == "" || b == "") print "n/a"; else printf "%.2f", a/b }'; }
# pass CMP RATIO LIMIT: "pass" if RATIO CMP LIMIT holds.
verdict() { awk -v r="$2" -v l="$3" -v c="$1" 'BEGIN { if (r == "n/a") { print "n/a"; exit } ok = (c == "le") ? (r <= l) : (r >= l); print ok ? "pass" : "**fail**" }'; }

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $7 |"); }

gen() { # gen N [extra args] -> path
    local n=$1; shift
    local f="$DATA/gen-$n$*.jsonl"
    f=${f// /_}
    if [ ! -s "$f" ]; then
        log "generating $n events…"
        rm -f "$f"
        "$BIN" gen --events "$n" --seed 1 --out "$f" "$@" >&2
    fi
    echo "$f"
}

ONE='{"type":"created","date":"2025-06-01","id":"bench-ID","name":"Bench","kind":"company","sources":[{"doc":"bench"}]}'
APPEND_SMALL=""
HAVE_DIFF=$("$BIN" diff --help >/dev/null 2>&1 && echo yes || echo no)
HAVE_JQ=$(command -v jq >/dev/null && echo yes || echo no)

for n in $SIZES; do
    runs=$RUNS
    [ "$n" -ge 1000000 ] && runs=${RUNS_BIG:-$((RUNS < 3 ? RUNS : 3))}
    f=$(gen "$n")
    size=$(stat -c %s "$f")
    label=$(awk -v n="$n" 'BEGIN { printf "10^%d (%.1f MB)", log(n)/log(10)+0.5, '"$size"'/1e6 }')
    log "== $label, $runs runs per figure"
    cat "$f" >/dev/null # warm the page cache: every figure is warm
    t_cat=$(median "$runs" : "cat '$f'")
    # Each figure below with a baseline is measured alternating with it
    # (see `paired`); its ratio is the median of the pairs' ratios.
    read -r t t_sha r <<<"$(paired "$runs" "fz --ledger '$f' verify" "openssl dgst -sha256 '$f'")"
    REPLAY="fz --ledger '$f' replay --as-of 2020 --format json"
    if [ "$HAVE_JQ" = yes ]; then
        read -r t_jq t_rep r_jq <<<"$(paired "$runs" "jq -c 'select(.event.date < \"2021\")' '$f'" "$REPLAY")"
    else
        t_jq=nan r_jq=nan
        t_rep=$(median "$runs" : "$REPLAY")
    fi
    row "cat (baseline)" "$label" "$(fmt_t "$t_cat")" "" "" "" ""
    row "openssl dgst -sha256 (baseline)" "$label" "$(fmt_t "$t_sha")" "" "" "" ""
    row "jq select before a date (baseline)" "$label" "$(fmt_t "$t_jq")" "" "" "" ""

    r=$(awk -v r="$r" 'BEGIN { if (r == "nan") print "n/a"; else printf "%.2f", r }')
    row "verify" "$label" "$(fmt_t "$t")" "openssl sha256" "$r ×" "≤ 2.5 ×" "$(verdict le "$r" 2.5)"

    r=$(awk -v r="$r_jq" 'BEGIN { if (r == "nan") print "n/a"; else printf "%.2f", r }')
    v=$(verdict ge "$r" 5)
    if [ "$n" -ge 1000000 ]; then
        abs=$(awk -v t="$t_rep" 'BEGIN { print (t <= 1.5) ? "pass" : "**fail**" }')
        [ "$abs" = pass ] || v="**fail** (> 1.5 s)"
    fi
    row "replay --as-of 2020, cold" "$label" "$(fmt_t "$t_rep")" "jq" "jq is $r × slower" "jq ≥ 5 × slower; ≤ 1.5 s at 10^6" "$v"

    # Replay answered from a snapshot made at the head (made untimed, in a
    # private snapshots directory); the same command as the cold row.
    mkdir -p "$TMP/warm"
    if "$BIN" -q --snapshots "$TMP/warm" --ledger "$f" snapshot --as-of 2020 >/dev/null 2>&1; then
        t=$(median "$runs" : "'$BIN' --snapshots '$TMP/warm' --ledger '$f' replay --as-of 2020 --format json")
        r=$(ratio "$t" "$t_rep")
        row "replay --as-of 2020 with a snapshot" "$label" "$(fmt_t "$t")" "cold replay" "$r ×" "≤ 0.10 ×" "$(verdict le "$r" 0.10)"
        # The default format, text: the stored view read back and rendered,
        # alternating with a cold replay printing text.
        read -r t _ r <<<"$(paired "$runs" "'$BIN' --snapshots '$TMP/warm' --ledger '$f' replay --as-of 2020" \
            "fz --ledger '$f' replay --as-of 2020")"
        r=$(ratio "$r" 1)
        row "replay --as-of 2020 with a snapshot, text" "$label" "$(fmt_t "$t")" "cold replay, text" "$r ×" "≤ 0.10 ×" "$(verdict le "$r" 0.10)"
    else
        row "replay --as-of 2020 with a snapshot" "$label" "n/a (no snapshot command)" "" "" "" ""
    fi
    rm -rf "$TMP/warm"

    if [ "$HAVE_DIFF" = yes ]; then
        read -r t _ r <<<"$(paired "$runs" "fz --ledger '$f' diff 2010 2020 --format json" "$REPLAY")"
        r=$(awk -v r="$r" 'BEGIN { if (r == "nan") print "n/a"; else printf "%.2f", r }')
        row "diff 2010 2020" "$label" "$(fmt_t "$t")" "cold replay" "$r ×" "≤ 1.2 ×" "$(verdict le "$r" 1.2)"
    else
        row "diff 2010 2020" "$label" "n/a (no diff command)" "" "" "" ""
    fi

    # Append of one event (fsync included) on a private copy. The first
    # append builds the append index (timed once, for information); the
    # timed ones are served by it.
    cp "$f" "$TMP/l.jsonl"
    rm -rf "$TMP/l.jsonl.index"
    t0=$(date +%s.%N)
    printf '%s\n' "${ONE/ID/first}" | fz --ledger "$TMP/l.jsonl" -q append >/dev/null 2>&1 || log "FAILED: first append"
    t_first=$(echo "$(date +%s.%N) - $t0" | bc -l)
    row "first append (reads all, builds the index)" "$label" "$(fmt_t "$t_first")" "" "" "" ""
    i=0
    t_app=$(median "$runs" "i=\$((i+1))" \
        "printf '%s\n' \"\${ONE/ID/\$i}\" | fz --ledger '$TMP/l.jsonl' append")
    if [ -z "$APPEND_SMALL" ]; then
        APPEND_SMALL=$t_app
        row "append 1 event (fsync, index)" "$label" "$(fmt_t "$t_app")" "" "" "" ""
    else
        r=$(ratio "$t_app" "$APPEND_SMALL")
        row "append 1 event (fsync, index)" "$label" "$(fmt_t "$t_app")" "append at 10^3" "$r ×" "≤ 3 × (at 10^6)" "$(verdict le "$r" 3)"
    fi

    # A backdated event whose id no other record links, alternating: A with
    # the index current (the whole ledger is read and verified, only that
    # id's timeline re-checked), B with the index's HEAD removed (the full
    # validation: every record re-checked, the index rebuilt in place). Not
    # the whole directory: the append would then create every bucket file
    # just after they were removed, which ext4 without a journal makes slow
    # (it skips, one by one, inodes freed in the last 30 seconds). Each first
    # appends, untimed and through the index, a fresh id and its figures of
    # 2020; the timed event renames it in 2010.
    back_a=() back_b=() back_r=()
    for ((j = 0; j < runs; j++)); do
        for side in a b; do
            id="bd-$side$j"
            printf '%s
%s
' \
                '{"type":"created","date":"2000","id":"'"$id"'","name":"B","kind":"company","sources":[{"doc":"bench"}]}' \
                '{"type":"figures","date":"2020","org":"'"$id"'","values":{"staff":1},"sources":[{"doc":"bench"}]}' |
                fz --ledger "$TMP/l.jsonl" -q append >/dev/null 2>&1 || log "FAILED: backdated setup"
            [ "$side" = b ] && rm -f "$TMP/l.jsonl.index/HEAD"
            t0=$(date +%s.%N)
            printf '%s
' '{"type":"renamed","date":"2010","org":"'"$id"'","name":"R","sources":[{"doc":"bench"}]}' |
                fz --ledger "$TMP/l.jsonl" -q append >/dev/null 2>&1 || log "FAILED: backdated append"
            t1=$(date +%s.%N)
            if [ "$side" = a ]; then back_a+=("$(echo "$t1 - $t0" | bc -l)"); else back_b+=("$(echo "$t1 - $t0" | bc -l)"); fi
        done
        back_r+=("$(echo "${back_a[j]} / ${back_b[j]}" | bc -l)")
    done
    t=$(med "${back_a[@]}")
    r=$(awk -v r="$(med "${back_r[@]}")" 'BEGIN { printf "%.2f", r }')
    row "append 1 backdated event (re-checks its id's timeline)" "$label" "$(fmt_t "$t")" "full validation" "$r ×" "" ""
    row "append 1 backdated event, full validation (baseline)" "$label" "$(fmt_t "$(med "${back_b[@]}")")" "" "" "" ""
    # `verify --index`: the index, rebuilt by the last append above,
    # describes the head, so the audit folds the whole timeline.
    t0=$(date +%s.%N)
    kb=$( { /usr/bin/time -f '%M' "$BIN" -q --snapshots "$TMP/snaps" --ledger "$TMP/l.jsonl" verify --index >/dev/null; } 2>&1 | tail -1)
    t=$(echo "$(date +%s.%N) - $t0" | bc -l)
    r=$(awk -v kb="$kb" -v s="$size" 'BEGIN { if (kb !~ /^[0-9]+$/) print "n/a"; else printf "%.2f", kb*1024/s }')
    row "peak RSS: verify --index" "$label" "$(awk -v kb="$kb" 'BEGIN { printf "%.0f MB", kb/1024 }') ($(fmt_t "$t"))" "file size" "$r ×" "" ""
    rm -rf "$TMP/l.jsonl" "$TMP/l.jsonl.index"

    # Peak memory of a cold replay.
    kb=$( { /usr/bin/time -f '%M' "$BIN" --snapshots "$TMP/snaps" --ledger "$f" replay --as-of 2020 --format json >/dev/null; } 2>&1 | tail -1)
    r=$(awk -v kb="$kb" -v s="$size" 'BEGIN { printf "%.2f", kb*1024/s }')
    row "replay peak RSS" "$label" "$(awk -v kb="$kb" 'BEGIN { printf "%.0f MB", kb/1024 }')" "file size" "$r ×" "≤ 1 ×" "$(verdict le "$r" 1)"

    # Peak memory and time of the other reading commands, one run each (no
    # target: for information, as a ratio to the file's size). All of them
    # stream the ledger.
    "$BIN" -q --ledger "$f" checkpoint --out "$TMP/cp" >/dev/null
    # `lineage o1 --as-of 1000`: no organisation then, so the whole
    # timeline is folded again to name the day it comes into being.
    for cmd in "log --org o1" "lineage o1" "lineage o1 --as-of 1000" "snapshot --as-of 2020" "export --format csv --as-of 2020" \
        "export --format csv" "export --format jsonld" "graph --from 2019 --to 2020" "checkpoint" \
        "prove inclusion 1 --checkpoint $TMP/cp"; do
        mkdir -p "$TMP/other"
        t0=$(date +%s.%N)
        # (`lineage o1 --as-of 1000` exits 2: its answer is an error.)
        kb=$( { /usr/bin/time -f '%M' "$BIN" -q --snapshots "$TMP/other" --ledger "$f" $cmd >/dev/null || true; } 2>&1 | tail -1)
        t=$(echo "$(date +%s.%N) - $t0" | bc -l)
        rm -rf "$TMP/other"
        r=$(awk -v kb="$kb" -v s="$size" 'BEGIN { if (kb !~ /^[0-9]+$/) print "n/a"; else printf "%.2f", kb*1024/s }')
        row "peak RSS: ${cmd//$TMP\//}" "$label" "$(awk -v kb="$kb" 'BEGIN { printf "%.0f MB", kb/1024 }') ($(fmt_t "$t"))" "file size" "$r ×" "" ""
    done
    # `verify` re-deriving a snapshot of the ledger (one fold more than a
    # replay, the ledger streamed).
    mkdir -p "$TMP/own"
    if "$BIN" -q --snapshots "$TMP/own" --ledger "$f" snapshot --as-of 2020 >/dev/null 2>&1; then
        t0=$(date +%s.%N)
        kb=$( { /usr/bin/time -f '%M' "$BIN" -q --snapshots "$TMP/own" --ledger "$f" verify >/dev/null; } 2>&1 | tail -1)
        t=$(echo "$(date +%s.%N) - $t0" | bc -l)
        r=$(awk -v kb="$kb" -v s="$size" 'BEGIN { if (kb !~ /^[0-9]+$/) print "n/a"; else printf "%.2f", kb*1024/s }')
        row "peak RSS: verify with a snapshot of the ledger" "$label" "$(awk -v kb="$kb" 'BEGIN { printf "%.0f MB", kb/1024 }') ($(fmt_t "$t"))" "file size" "$r ×" "" ""
    fi
    rm -rf "$TMP/own"
done

# batch_row NAME LEDGER BATCH SETUP VERIFIED BASELINE: appends the 10^5
# events of BATCH to LEDGER (SETUP, untimed, makes it before each run),
# alternating with its baseline, `verify` of VERIFIED (reading, hashing and
# parsing its records, as the machine runs then), and adds the row.
batch_row() {
    local name=$1 ledger=$2 batch=$3 setup=$4 verified=$5 baseline=$6 t r eps v
    read -r t _ r <<<"$(paired "$((RUNS < 3 ? RUNS : 3))" \
        "fz --ledger '$ledger' append '$batch'" "fz --ledger '$verified' verify" "$setup")"
    eps=$(awk -v t="$t" 'BEGIN { if (t == "nan") print "n/a"; else printf "%.0f", 100000/t }')
    v=$(awk -v e="$eps" 'BEGIN { if (e == "n/a") print "n/a"; else print (e >= 200000) ? "pass" : "**fail**" }')
    row "$name" "10^5" "$(fmt_t "$t")" "$baseline" "$(ratio "$r" 1) ×; $eps events/s" "≥ 200,000 events/s" "$v"
}

if [[ " $SIZES " == *" 100000 "* ]]; then
    # 10^5 events onto a 10^5-event ledger: the second half of a 2·10^5
    # landscape onto its first half, with no index yet.
    log "== batch append of 10^5 events"
    src=$(gen 200000 --batch 100000)
    ev=$(gen 200000 --batch 100000 --format events)
    head -n 100000 "$src" >"$TMP/base.jsonl"
    tail -n 100000 "$ev" >"$TMP/batch.jsonl"
    batch_row "batch append 10^5 events onto 10^5" "$TMP/l.jsonl" "$TMP/batch.jsonl" \
        "cp '$TMP/base.jsonl' '$TMP/l.jsonl'; rm -rf '$TMP/l.jsonl.index'" \
        "$src" "verify of the 2·10^5 records"
    # The plain reading of the target: the 10^5 events of a landscape of
    # their own, onto an empty ledger.
    log "== batch append of 10^5 events onto an empty ledger"
    src=$(gen 100000 --batch 100000)
    ev=$(gen 100000 --batch 100000 --format events)
    batch_row "batch append 10^5 events onto an empty ledger" "$TMP/e.jsonl" "$ev" \
        "rm -rf '$TMP/e.jsonl' '$TMP/e.jsonl.index'; fz --ledger '$TMP/e.jsonl' init" \
        "$src" "verify of the 10^5 records"
fi

echo "| operation | size | time (median) | baseline | ratio | target | result |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
