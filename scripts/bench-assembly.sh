#!/bin/bash
# The coordinator's cost of assembling tiled frames (docs/performance.md, first section):
# FRAMES synthetic 24 MP DNGs forced through tiles (--tile-size 2048), one job per format, a
# `tessera coordinator` and 2 `tessera worker --slots 1` over ipc. Prints per format the
# coordinator's peak RSS (VmHWM) and its peak anonymous RSS (RssAnon, sampled every 20 ms: the
# mapped assembly file's pages are page cache, counted in VmHWM but not in RssAnon), its CPU
# seconds (/proc/PID/stat utime + stime) and the assembly latency per frame (from the last tile
# recorded done to the output recorded: the last tasks.finished_at → frames.finished_at, ms),
# plus the outputs' SHA-256 prefixes so two builds can be compared byte for byte.
# TESSERA=path/to/tessera FRAMES=4 FORMATS="jpeg tiff" scripts/bench-assembly.sh
set -u
T="${TESSERA:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/tessera}"
FRAMES="${FRAMES:-4}"
d="${BENCH_DIR:-/tmp/bench-assembly-$$}"
mkdir -p "$d"
[ -d "$d/shoot" ] || "$T" synth "$d/shoot" --frames "$FRAMES" --size 6000x4000 --seed 5 > /dev/null
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for format in ${FORMATS:-jpeg tiff}; do
  r="$d/run-$format"; rm -rf "$r"; mkdir -p "$r"
  "$T" coordinator --insecure --listen "ipc://$r/t.ipc" --control "ipc://$r/c.ipc" --db "$r/c.db" --spool "$r/spool" \
    --log-level "${LOG_LEVEL:-notice}" > "$r/coord.log" 2>&1 & CP=$!
  for _ in $(seq 100); do [ -S "$r/c.ipc" ] && break; sleep 0.05; done
  "$T" worker --insecure --connect "ipc://$r/t.ipc" --slots 1 --log-level error & W1=$!
  "$T" worker --insecure --connect "ipc://$r/t.ipc" --slots 1 --log-level error & W2=$!
  # Peak anonymous memory: sampled (the kernel keeps only the peak of the total).
  (peak=0; while kill -0 $CP 2>/dev/null; do
     a=$(awk '/RssAnon/ {print $2}' /proc/$CP/status 2>/dev/null); [ -n "$a" ] && [ "$a" -gt "$peak" ] && peak=$a && echo $peak > "$r/anon"
     sleep 0.02; done) & SP=$!
  start=$(date +%s.%N)
  J=$("$T" submit --insecure "$d/shoot" --out "$r/out" --coordinator "ipc://$r/c.ipc" --format "$format" --tile-size 2048)
  "$T" status --insecure "$J" --wait --coordinator "ipc://$r/c.ipc" --timeout 600 > /dev/null
  end=$(date +%s.%N)
  hwm=$(awk '/VmHWM/ {print $2}' /proc/$CP/status)
  cpu=$(awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' /proc/$CP/stat)
  kill $W1 $W2; wait $W1 $W2 2>/dev/null
  kill $CP; wait $CP 2>/dev/null; wait $SP 2>/dev/null
  latency=$(sqlite3 "$r/c.db" "SELECT group_concat(ms, ' ') FROM (SELECT f.finished_at - (SELECT max(t.finished_at) FROM tasks t WHERE t.frame_id = f.id) AS ms FROM frames f ORDER BY f.id)")
  sums=$(cd "$r/out" && for f in *; do printf '%s ' "$(python3 -c "import sys,hashlib; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest()[:12])" "$f")"; done)
  echo "format=$format frames=$(ls "$r/out" | wc -l) wall=$(echo "$end - $start" | bc)s coordinator: peak_rss=$((hwm / 1024))MB peak_anon=$(( $(cat "$r/anon" 2>/dev/null || echo 0) / 1024 ))MB cpu=${cpu}s assembly_ms=[$latency] sha256=[$sums]"
done
[ -n "${KEEP:-}" ] || rm -rf "$d"
