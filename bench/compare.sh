#!/usr/bin/env bash
# Runs the workloads of bench/WORKLOADS.md under goro (production and
# detect), under Go (plain and -race) and, for the five that have one, their
# tokio twins (goro-bench's tokio mode), and prints one table of medians
# measured in this run: goro/Go and goro/tokio side by side.
#
# usage: bench/compare.sh [workload ...]      (default: all nine)
#
# environment:
#   SCALE=0.1    multiply every default N (rounded, at least 1); default 1
#   N_<workload>=<n>  run that workload at N = n instead (not scaled), e.g.
#                N_racy_counter=200000000: at its default N the run lasts
#                well under a millisecond, mostly starting its goroutines
#   RUNS=5       runs per workload and mode; the table shows medians
#   KEEP_LOGS=1  keep the per-run stdout/stderr/time logs and say where
#   RUN_TIMEOUT=300  seconds one run may take; a run that times out shows as
#                TIMEOUT and its workload/mode is not run again
#
# Needs: cargo, go (Debian golang-go, with its race detector) and GNU time at
# /usr/bin/time (and coreutils' timeout). Nothing is installed here; a missing
# tool is reported with the command that installs it. bash + awk only.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")

# The workloads and default N of bench/WORKLOADS.md, in its order.
ALL=(spawn spawn_park pingpong buffered fanout fanout_ctx mutex select racy_counter)
declare -A DEFAULT_N=(
  [spawn]=1000000 [spawn_park]=1000000 [pingpong]=1000000
  [buffered]=10000000 [fanout]=1000000 [fanout_ctx]=1000000
  [mutex]=10000000 [select]=10000000 [racy_counter]=1000000
)

SCALE=${SCALE:-1}
RUNS=${RUNS:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}

die() { echo "compare.sh: $*" >&2; exit 1; }

# --- tools ------------------------------------------------------------------
missing=()
command -v go >/dev/null 2>&1 || missing+=("go (package golang-go)")
[[ -x /usr/bin/time ]] || missing+=("/usr/bin/time (package time)")
command -v cargo >/dev/null 2>&1 || missing+=("cargo (https://rustup.rs)")
command -v awk >/dev/null 2>&1 || missing+=("awk")
command -v timeout >/dev/null 2>&1 || missing+=("timeout (package coreutils)")
if ((${#missing[@]})); then
  echo "compare.sh: missing: ${missing[*]}" >&2
  echo "install with: apt-get install -y golang-go time" >&2
  exit 1
fi

# --- arguments ----------------------------------------------------------------
awk -v s="$SCALE" 'BEGIN { exit !(s ~ /^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$/ && s + 0 > 0) }' \
  || die "SCALE must be a positive number, got '$SCALE'"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ $RUN_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "RUN_TIMEOUT must be a positive integer (seconds), got '$RUN_TIMEOUT'"

selected=()
if (($#)); then
  for w in "$@"; do
    [[ -n ${DEFAULT_N[$w]+x} ]] || die "unknown workload '$w' (one of: ${ALL[*]})"
    selected+=("$w")
  done
else
  selected=("${ALL[@]}")
fi

# Per-workload overrides, checked up front.
for w in "${ALL[@]}"; do
  var="N_$w"
  if [[ -n ${!var+x} ]]; then
    [[ ${!var} =~ ^[1-9][0-9]*$ ]] || die "$var must be a positive integer, got '${!var}'"
  fi
done

# N = N_<workload> if set, else default * SCALE, rounded, at least 1.
scaled_n() {
  local var="N_$1"
  if [[ -n ${!var+x} ]]; then
    echo "${!var}"
    return
  fi
  awk -v d="${DEFAULT_N[$1]}" -v s="$SCALE" \
    'BEGIN { n = int(d * s + 0.5); if (n < 1) n = 1; printf "%d\n", n }'
}

# --- build ------------------------------------------------------------------
echo "building the Go twin (plain and -race) ..." >&2
mkdir -p "$here/go/bin"
(cd "$here/go" && go build -o bin/gobench . && go build -race -o bin/gobench-race .)
go_bin=$here/go/bin/gobench
go_race_bin=$here/go/bin/gobench-race

# Two builds, as Go's twin has two: production and tokio modes run goro
# without its detector (`--no-default-features`: goro's `detect` feature
# off, the hooks compiled out, as Go's plain build has no race
# instrumentation); detect mode runs the default build.
echo "building goro-bench (release, without and with goro's detector) ..." >&2
target_dir=$(cargo metadata --no-deps --format-version 1 --manifest-path "$root/Cargo.toml" |
  awk 'match($0, /"target_directory":"[^"]*"/) { print substr($0, RSTART + 20, RLENGTH - 21) }')
goro_bin=${target_dir:-$root/target}/release/goro-bench
goro_prod_bin=${target_dir:-$root/target}/release/goro-bench-prod
cargo build --quiet --release -p goro-bench --no-default-features --manifest-path "$root/Cargo.toml"
[[ -x $goro_bin ]] || die "goro-bench not found at $goro_bin"
cp "$goro_bin" "$goro_prod_bin"
cargo build --quiet --release -p goro-bench --manifest-path "$root/Cargo.toml"
[[ -x $goro_bin ]] || die "goro-bench not found at $goro_bin"

logs=$(mktemp -d "${TMPDIR:-/tmp}/goro-compare.XXXXXX")
if [[ ${KEEP_LOGS:-0} == 1 ]]; then
  echo "logs: $logs" >&2
else
  trap 'rm -rf "$logs"' EXIT
fi

# goro's detect mode joins the table when goro-bench accepts it (goro-bench
# exits non-zero, printing no numbers, when it cannot run a detecting schedule).
# The workloads with a tokio twin (goro-bench's `tokio` mode).
declare -A TOKIO_TWIN=([spawn]=1 [spawn_park]=1 [pingpong]=1 [buffered]=1 [mutex]=1)
modes=(production tokio go go-race)
detect_note=""
if "$goro_bin" pingpong 1 detect >/dev/null 2>"$logs/detect-probe.err"; then
  modes=(production detect tokio go go-race)
else
  detect_note="goro detect: skipped, goro-bench cannot run it: $(head -n 1 "$logs/detect-probe.err")"
fi

# --- runs ---------------------------------------------------------------------
# results: one line per run, "workload mode rep ns_per_op rss_kb",
# "workload mode rep FAIL <exit code>" or "workload mode rep TIMEOUT -".
results=$logs/results
: >"$results"
declare -A timed_out=()

run_one() {
  local w=$1 mode=$2 rep=$3 n=$4
  local base=$logs/$w.$mode.$rep
  local cmd rc=0 ok_rc=0
  case $mode in
    production | tokio) cmd=("$goro_prod_bin" "$w" "$n" "$mode") ;;
    detect) cmd=("$goro_bin" "$w" "$n" "$mode") ;;
    go) cmd=("$go_bin" -w "$w" -n "$n") ;;
    go-race)
      cmd=("$go_race_bin" -w "$w" -n "$n")
      # A race build exits 66 when it reported a race (racy_counter must).
      ok_rc=66
      ;;
  esac
  # timeout under time: time's wait4 still sees the program's peak RSS.
  GORACE=halt_on_error=0 /usr/bin/time -v -o "$base.time" timeout "$RUN_TIMEOUT" "${cmd[@]}" \
    >"$base.out" 2>"$base.err" || rc=$?
  local ns rss
  ns=$(awk -v w="$w" -v m="$mode" '
    $1 == "workload=" w && $3 == "mode=" m {
      for (i = 4; i <= NF; i++) if ($i ~ /^ns_per_op=/) { sub(/^ns_per_op=/, "", $i); print $i }
    }' "$base.out")
  rss=$(awk -F': *' '/Maximum resident set size/ { print $2 }' "$base.time")
  if ((rc == 124)); then
    echo "$w $mode $rep TIMEOUT -" >>"$results"
    timed_out["$w $mode"]=1
    printf '  %-12s %-10s run %d: TIMEOUT after %ds (not run again)\n' "$w" "$mode" "$rep" \
      "$RUN_TIMEOUT" >&2
  elif [[ ($rc == 0 || $rc == "$ok_rc") && -n $ns && -n $rss ]]; then
    echo "$w $mode $rep $ns $rss" >>"$results"
    printf '  %-12s %-10s run %d: %10s ns/op %8s KiB%s\n' "$w" "$mode" "$rep" "$ns" "$rss" \
      "$( ((rc == 66)) && echo "  (exit 66: race reported)")" >&2
  else
    echo "$w $mode $rep FAIL $rc" >>"$results"
    printf '  %-12s %-10s run %d: FAILED (exit %d): %s\n' "$w" "$mode" "$rep" "$rc" \
      "$(grep -v '^\s*$' "$base.err" | head -n 1)" >&2
  fi
  if [[ $mode == go-race ]]; then
    echo "$w $(grep -c 'WARNING: DATA RACE' "$base.err" || true)" >>"$logs/races"
  fi
  if [[ $mode == detect && $rc == 0 ]]; then
    # goro's findings, one "kind[observed|predicted]: message" line each.
    awk -v w="$w" -v rep="$rep" '/^[a-z-]+\[(observed|predicted)\]:/ { split($1, k, "["); n[k[1]]++ }
      END { s = ""; for (x in n) s = s (s ? "," : "") x "(" n[x] ")"; print w, rep, (s ? s : "none") }' \
      "$base.err" >>"$logs/findings"
  fi
}

# Other jobs on the machine skew every number: the table quotes the load.
load_start=$(awk '{ print $1, $2, $3 }' /proc/loadavg)
echo "running ${#selected[@]} workload(s) x ${#modes[@]} modes x $RUNS runs (SCALE=$SCALE) ..." >&2
# Repetitions outermost, so drift over the run (thermal, other load) spreads
# over every workload and mode instead of hitting one of them.
for ((rep = 1; rep <= RUNS; rep++)); do
  for w in "${selected[@]}"; do
    n=$(scaled_n "$w")
    for mode in "${modes[@]}"; do
      [[ $mode != tokio || -n ${TOKIO_TWIN[$w]+x} ]] || continue
      [[ -n ${timed_out["$w $mode"]+x} ]] || run_one "$w" "$mode" "$rep" "$n"
    done
  done
done

# --- table --------------------------------------------------------------------
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo
echo "goro vs Go and tokio, $(date -u '+%Y-%m-%d %H:%M UTC'), nproc=$(nproc), CPU: ${cpu:-unknown}"
echo "$(go version | awk '{ print $3 }'), $(rustc --version 2>/dev/null | awk '{ print $1, $2 }'), SCALE=$SCALE, medians of $RUNS runs"
echo "load average (1/5/15 min) at start: $load_start; at end: $(awk '{ print $1, $2, $3 }' /proc/loadavg)"
echo

for w in "${selected[@]}"; do
  echo "$w $(scaled_n "$w")"
done >"$logs/order"

awk -v detect="$([[ ${modes[1]} == detect ]] && echo 1 || echo 0)" -v limit="$RUN_TIMEOUT" '
  function median(key,    m, i, j, t, v) {
    m = cnt[key]
    if (m == 0) return ""
    for (i = 1; i <= m; i++) v[i] = val[key, i]
    for (i = 2; i <= m; i++) {            # insertion sort: m is tiny
      t = v[i]
      for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]
      v[j + 1] = t
    }
    return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  }
  # ns/op of a mode: the median of its successful runs, marked "*" when
  # some run failed (listed below the table); FAIL(exit code) if none
  # succeeded; >LIMITs if a run timed out.
  # Two decimals under 10 ns (the sub-nanosecond racy_counter figures, from
  # which the ratios are computed), one above.
  function ns(w, mode,    k, m) {
    k = w SUBSEP mode
    if (k in timeout) return ">" limit "s"
    if (cnt[k SUBSEP "ns"] == 0) return (k in failed) ? "FAIL(" failed[k] ")" : "n/a"
    m = median(k SUBSEP "ns")
    return sprintf(m < 10 ? "%.2f" : "%.1f", m) ((k in failed) ? "*" : "")
  }
  function mib(w, mode,    k) {
    k = w SUBSEP mode
    if ((k in timeout) || cnt[k SUBSEP "rss"] == 0) return "-"
    return sprintf("%.1f", median(k SUBSEP "rss") / 1024) ((k in failed) ? "*" : "")
  }
  function per_goroutine(w, mode, n,    k) {
    k = w SUBSEP mode
    if (w != "spawn_park" || (k in timeout) || cnt[k SUBSEP "rss"] == 0) return "-"
    return sprintf("%.0f", median(k SUBSEP "rss") * 1024 / n) ((k in failed) ? "*" : "")
  }
  FILENAME ~ /results$/ {
    k = $1 SUBSEP $2
    if ($4 == "FAIL") { failed[k] = $5; next }
    if ($4 == "TIMEOUT") { timeout[k] = 1; next }
    val[k SUBSEP "ns", ++cnt[k SUBSEP "ns"]] = $4
    val[k SUBSEP "rss", ++cnt[k SUBSEP "rss"]] = $5
    next
  }
  FILENAME ~ /order$/ { order[++nw] = $1; size[$1] = $2 }
  # a / b when both are numbers (a median marked * for a failed run still is).
  function div(a, b) {
    return (a ~ /^[0-9.]+\*?$/ && b ~ /^[0-9.]+\*?$/ && b + 0 > 0) ? sprintf("%.2f", a / b) : "-"
  }
  END {
    # Two tables: production (goro against Go and tokio), then the detector
    # (goro detect mode against Go -race), so each fits a terminal.
    fmt = "%-13s %10s %11s %9s %8s %12s %11s %11s %10s %11s %10s %12s\n"
    printf fmt, "workload", "N", "goro ns/op", "Go ns/op", "goro/Go", "tokio ns/op", \
      "goro/tokio", "goro RSS MB", "Go RSS MB", "goro B/park", "Go B/park", "tokio B/park"
    for (i = 1; i <= nw; i++) {
      w = order[i]
      g = ns(w, "production"); o = ns(w, "go"); t = ns(w, "tokio")
      printf fmt, w, size[w], g, o, div(g, o), t, div(g, t), mib(w, "production"), \
        mib(w, "go"), per_goroutine(w, "production", size[w]), \
        per_goroutine(w, "go", size[w]), per_goroutine(w, "tokio", size[w])
    }
    print ""
    fmt = "%-13s %10s %12s %10s %9s %9s %8s %11s %12s %9s\n"
    printf fmt, "workload", "N", "detect ns/op", "race ns/op", "det/race", "det/prod", \
      "race/go", "det RSS MB", "race RSS MB", "RSS d/r"
    for (i = 1; i <= nw; i++) {
      w = order[i]
      g = ns(w, "production"); o = ns(w, "go"); r = ns(w, "go-race")
      d = detect ? ns(w, "detect") : "skipped"
      dm = detect ? mib(w, "detect") : "-"; rm = mib(w, "go-race")
      printf fmt, w, size[w], d, r, div(d, r), div(d, g), div(r, o), dm, rm, div(dm, rm)
    }
  }
' "$logs/results" "$logs/order"

echo
echo "RSS: peak resident set (/usr/bin/time -v), median; B/park: spawn_park peak RSS / N."
echo "race ns/op: the Go twin built with -race (GORACE=halt_on_error=0)."
echo "tokio ns/op: the workload's tokio twin (goro-bench <workload> <N> tokio; n/a: no twin)."
echo "goro ns/op and tokio ns/op: goro-bench built without goro's detector (--no-default-features), as Go's plain twin is built without -race; detect ns/op: the default build."
echo "goro/tokio: goro production over tokio (the target: <= 1.00)."
echo "det/race: goro's detect over Go -race, ns/op (the detector's target: <= 1.00); RSS d/r: the same for peak RSS."
echo "det/prod: goro's detect over production; race/go: Go's -race over plain."
if grep -q ' TIMEOUT ' "$results"; then
  echo "timed out (>${RUN_TIMEOUT}s, RUN_TIMEOUT): $(awk '$4 == "TIMEOUT" { printf "%s%s %s", sep, $1, $2; sep = ", " }' "$results")"
fi
if [[ -s $logs/races ]]; then
  awk '{ if ($2 > 0) r[$1] = r[$1] ? r[$1] "," $2 : $2 }
       END { for (w in r) printf "go-race reported data races in %s (WARNING count per run: %s)\n", w, r[w] }' \
    "$logs/races" | sort
fi
if [[ -s $logs/findings ]]; then
  awk '{ f[$1] = f[$1] ? f[$1] " " $3 : $3 }
       END { for (w in f) printf "goro detect findings in %s (per run): %s\n", w, f[w] }' \
    "$logs/findings" | sort
fi
[[ -z $detect_note ]] || echo "$detect_note"
if grep -q ' FAIL ' "$results"; then
  echo "failed runs, left out of the medians marked * (exit code; KEEP_LOGS=1 keeps their stderr):"
  awk '$4 == "FAIL" { printf "  %s %s run %s: exit %s\n", $1, $2, $3, $5 }' "$results"
fi
