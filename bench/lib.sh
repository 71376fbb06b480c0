# bench/lib.sh — what bench/run, bench/follow and bench/postgres share: messages, the release
# build, the generated data and its .meta files, and the description of the machine.
# Sourced, not run. The script sets BENCH_NAME (for its messages) and ROOT before sourcing.
# shellcheck shell=bash

die() { echo "$BENCH_NAME: $*" >&2; exit 2; }
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
have() { local b; for b in "$@"; do command -v "$b" >/dev/null 2>&1 || return 1; done; }
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
calc() { awk "BEGIN {printf \"$1\", ($2)}"; }  # calc FORMAT EXPR
usage_from_header() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$1"; }

TIME=/usr/bin/time
# need_gnu_time: GNU time measures peak memory (%M); BusyBox's and the shell's keyword do not.
need_gnu_time() {
  "$TIME" -f '%e %M' -o /dev/null true 2>/dev/null \
    || die "GNU time is needed at /usr/bin/time (Debian/Ubuntu: apt-get install -y time)"
}

# ---- build ---------------------------------------------------------------------------------
# build_binaries [STATBUF]: builds the generator, and statbuf unless a binary is given; sets
# STATBUF, GEN, BUILT (how statbuf came to be), GIT_REV (what was built), and puts `statbuf` on
# PATH through a directory of its own (BIN_DIR), so that the commands call it by name as a
# user would. The caller removes BIN_DIR.
build_binaries() {
  TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
  case "$TARGET" in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
  GEN=$TARGET/release/gen-access-log
  STATBUF=${1:-}
  if [ -n "$STATBUF" ]; then
    STATBUF=$(readlink -f "$STATBUF") && [ -x "$STATBUF" ] || die "no statbuf binary at $1"
    log "building the log generator (cargo build --release -p loggen)"
    (cd "$ROOT" && cargo build --release -p loggen --bin gen-access-log >&2) || die "cargo build failed"
    BUILT="given with --statbuf"
  else
    log "building statbuf and the log generator (cargo build --release)"
    (cd "$ROOT" && cargo build --release -p statbuf -p loggen --bin statbuf --bin gen-access-log >&2) \
      || die "cargo build failed (use --statbuf PATH to time an existing binary)"
    STATBUF=$TARGET/release/statbuf
    BUILT="built by this run with cargo build --release"
  fi
  [ -x "$GEN" ] || die "the generator was not built at $GEN"
  GIT_REV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo -)
  if [ -n "$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock 2>/dev/null)" ]; then
    GIT_REV="$GIT_REV, with uncommitted changes to src/ or Cargo.*"
  fi
  BIN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/statbuf-bench-bin.XXXXXX")
  ln -s "$STATBUF" "$BIN_DIR/statbuf"
  export PATH="$BIN_DIR:$PATH"
}

# statbuf_has FLAG: whether `statbuf --help` lists FLAG (a long flag, or a short one such as -j).
statbuf_has() {
  statbuf --help 2>/dev/null | grep -Eq -- "(^|[[:space:],])$1([[:space:],=<]|\$)"
}

# ---- data ----------------------------------------------------------------------------------
# data_dir DIR: the directory of the generated files (default target/bench-data), made absolute.
data_dir() {
  DATA=${1:-${TARGET:-$ROOT/target}/bench-data}
  mkdir -p "$DATA" && DATA=$(cd "$DATA" && pwd) || die "cannot create $DATA"
}

# fresh_meta NAME ARGS: whether DATA/NAME is there with the size its .meta records for ARGS.
fresh_meta() {
  local file=$DATA/$1 meta=$DATA/$1.meta
  [ -f "$file" ] && [ -f "$meta" ] || return 1
  [ "$(sed -n 's/^args=//p' "$meta")" = "$2" ] || return 1
  [ "$(sed -n 's/^bytes=//p' "$meta")" = "$(stat -L -c %s "$file")" ]
}
write_meta() { printf 'args=%s\nbytes=%s\n' "$2" "$(stat -c %s "$DATA/$1")" > "$DATA/$1.meta"; }

# ensure_data NAME ARGS: (re)generates DATA/NAME with gen-access-log ARGS unless DATA/NAME.meta
# records the same arguments and the file still has the size recorded there. The generator is
# deterministic, so a file made on another day or machine is the same file.
ensure_data() {
  local name=$1 args=$2 file=$DATA/$1
  if fresh_meta "$name" "$args"; then log "reusing $file ($(stat -L -c %s "$file") bytes)"; return 0; fi
  log "generating $file: gen-access-log $args"
  rm -f "$file.meta"
  # shellcheck disable=SC2086
  "$GEN" $args --out "$file.tmp" && mv "$file.tmp" "$file" || die "generating $name failed"
  write_meta "$name" "$args"
}

# ensure_compressed NAME SOURCE COMMAND...: DATA/NAME is COMMAND's output over DATA/SOURCE (for
# example gzip -6 -c), made again when the source or the command changed.
ensure_compressed() {
  local name=$1 source=$2 file=$DATA/$1 args; shift 2
  args="$* < $source ($(stat -L -c %s "$DATA/$source") bytes)"
  if fresh_meta "$name" "$args"; then log "reusing $file ($(stat -L -c %s "$file") bytes)"; return 0; fi
  log "compressing $DATA/$source: $* > $name"
  rm -f "$file.meta"
  "$@" < "$DATA/$source" > "$file.tmp" && mv "$file.tmp" "$file" || die "$* failed on $source"
  write_meta "$name" "$args"
}

# file_facts FILE: reads FILE twice (the page cache then holds it: the runs measure the CPU, not
# the disk) and records its size and line count in FBYTES and FLINES.
declare -A FBYTES=() FLINES=()
file_facts() {
  cat "$1" > /dev/null; cat "$1" > /dev/null
  FBYTES[$1]=$(stat -L -c %s "$1")
  FLINES[$1]=$(wc -l < "$1")
}
warm() { cat "$1" > /dev/null; }

# ---- the machine ---------------------------------------------------------------------------
# ver CMD...: the first non-empty line a version command prints, or "-".
ver() {
  local v
  v=$("$@" 2>&1 | sed -n '/./{p;q}') || true
  printf '%s' "${v:--}"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo -)
STARTED=$(date -u '+%Y-%m-%d %H:%M UTC')

# machine_section HEADING [NOTE]: the machine as markdown, under a heading of level HEADING
# (##, ###), with NOTE as one more item.
machine_section() {
  local cpu flags mem os awk_is load_after
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
  flags=$(grep -m1 -o -w -E 'avx2|avx512bw' /proc/cpuinfo 2>/dev/null | sort -u | paste -sd' ')
  mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo 2>/dev/null)
  os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)
  awk_is=$(basename "$(readlink -f "$(command -v awk 2>/dev/null || echo none)")")
  load_after=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo -)
  echo "$1 Machine"
  echo
  echo "- CPU: ${cpu:-unknown}, $(nproc) logical CPUs (nproc)${flags:+; has $flags}"
  echo "- Memory: ${mem:-unknown}"
  echo "- Kernel: $(uname -sr); OS: ${os:-unknown}"
  echo "- Load average (1, 5, 15 min) before the runs: $LOAD_BEFORE; after: $load_after"
  echo "- Locale: LANG=${LANG:-unset}, LC_ALL=${LC_ALL:-unset} (commands marked LC_ALL=C set it for themselves); awk is $awk_is"
  [ -n "${2:-}" ] && echo "- $2"
  echo
}

# version_row NAME CMD...: a row of the versions table when CMD's program is installed.
version_row() {
  local name=$1; shift
  have "$1" || [ -x "$1" ] || return 0
  printf '| %s | %s |\n' "$name" "$(ver "$@")"
}
