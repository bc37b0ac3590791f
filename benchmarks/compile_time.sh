#!/usr/bin/env bash
# Compile time and peak memory of each example's translation unit: header-only (sbert::sbert),
# compiled mode (sbert::compiled), with the precompiled header (sbert::pch) and with both, at
# -O3 (the build's Release flags) and -O0. Times the exact compile commands ninja has for the targets.
# usage: benchmarks/compile_time.sh [build dir] [example ...]   (default: build, every example)
# The main figure is USER CPU seconds: wall time depends on what else runs on the machine.
# Each compile runs under the build lock (/tmp/sbert-build.lock), so concurrent builds on a
# shared machine neither slow it nor are slowed by it.
# Env: SBERT_CT_LEVELS="-O3 -O0", SBERT_CT_MODES="header-only compiled pch compiled+pch".
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
shift || true
examples=("$@")
[ ${#examples[@]} -gt 0 ] || examples=(umbrella_only train_nli encode train_sts evaluate_sts evaluate_ir custom_loss
                                       train_sts_nli train_multi train_nli_seed)
levels="${SBERT_CT_LEVELS:--O3 -O0}"
modes="${SBERT_CT_MODES:-header-only compiled pch compiled+pch}"
lock=/tmp/sbert-build.lock
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Prerequisites (the library and each PCH) are built first and not timed here, except that
# the PCH build of the first example is timed once, as a one-off cost of the PCH mode.
targets=()
for ex in "${examples[@]}"; do
  for t in "$ex" "${ex}_compiled" "${ex}_pch" "${ex}_compiled_pch"; do
    ninja -C "$build" -t query "$t" >/dev/null 2>&1 && targets+=("$t")
  done
done
pch_cmd() {  # the command that builds target $1's precompiled header
  ninja -C "$build" -t commands "$1" | grep -E -- '-x c\+\+-header .*cmake_pch\.hxx' | tail -1
}
obj_cmd() {  # the command that compiles source $2 of target $1
  ninja -C "$build" -t commands "$1" | grep -E -- "-c [^ ]*/$2\.cpp\$" | tail -1
}
# Build what the timed commands need (the library, each PCH) first, untimed.
prereq=()
ninja -C "$build" -t query sbert_compiled >/dev/null 2>&1 && prereq+=(sbert_compiled)
for t in "${targets[@]}"; do
  if { [[ "$t" == *_compiled_pch ]] && [[ " $modes " == *" compiled+pch "* ]]; } ||
     { [[ "$t" != *_compiled_pch && "$t" == *_pch ]] && [[ " $modes " == *" pch "* ]]; }; then
    g="$(pch_cmd "$t" | grep -oE -- '-o [^ ]+\.gch' | cut -c4-)"
    [ -n "$g" ] && prereq+=("$g")
  fi
done
[ ${#prereq[@]} -eq 0 ] || flock "$lock" ninja -C "$build" -j2 "${prereq[@]}" >/dev/null

measure() {  # label, command: prints user s, wall s, peak RSS MB, .text KB of the object
  local label="$1" cmd="$2"
  cmd="$(sed -E "s# -o [^ ]+\.o # -o $tmp/x.o #; s# -MD -MT [^ ]+ -MF [^ ]+# #" <<<"$cmd")"
  ( cd "$build" && flock "$lock" /usr/bin/time -f '%U %e %M' -o "$tmp/t" bash -c "$cmd" ) >/dev/null 2>"$tmp/err" || {
    echo "FAILED: $label"; cat "$tmp/err"; return 1; }
  read -r user wall rss <"$tmp/t"
  local text="-"
  [ -f "$tmp/x.o" ] && text="$(size -A "$tmp/x.o" | awk '$1 ~ /^\.text/ {s += $2} END {printf "%d", s / 1024}')"
  printf '%-34s %8.1f %8.1f %8d %8s\n' "$label" "$user" "$wall" "$((rss / 1024))" "$text"
  rm -f "$tmp/x.o"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(nproc) cores, $(g++ --version | head -1)"
printf '%-34s %8s %8s %8s %8s\n' "translation unit" "user s" "wall s" "peak MB" ".text KB"
first_pch=1
for ex in "${examples[@]}"; do
  src="$ex"
  for mode in $modes; do
    case $mode in
      header-only) t="$ex" ;;
      compiled) t="${ex}_compiled" ;;
      pch) t="${ex}_pch" ;;
      compiled+pch) t="${ex}_compiled_pch" ;;
    esac
    ninja -C "$build" -t query "$t" >/dev/null 2>&1 || continue
    cmd="$(obj_cmd "$t" "$src")"
    [ -n "$cmd" ] || { echo "no compile command for $t"; continue; }
    if [[ $mode == *pch ]] && [ $first_pch = 1 ]; then
      measure "$ex ($mode: building the PCH, once)" "$(pch_cmd "$t")"
      first_pch=0
    fi
    for lv in $levels; do
      # PCH only at the build's own flags: GCC rejects a PCH built with other -O options.
      [[ $mode == *pch ]] && [ "$lv" != -O3 ] && continue
      measure "$ex ($mode, $lv)" "$(sed -E "s/ -O[0-3s]( |$)/ $lv\\1/" <<<"$cmd")"
    done
  done
done
