#!/bin/bash
# Coordinator peak RSS on a job of big frames with many worker slots, with and without a tight
# bytes-in-flight bound (--max-inflight-mb). Release build; whole-frame tasks, so each decode
# task ships the RAW file (a 24 MP synthetic DNG is ~46 MB).
# Usage: FRAMES=8 WORKERS=4 SLOTS=2 SIZE=6000x4000 BOUNDS="1024 100" scripts/bench-inflight-rss.sh
T="${TESSERA:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/tessera}"
FRAMES=${FRAMES:-8}; WORKERS=${WORKERS:-4}; SLOTS=${SLOTS:-2}; SIZE=${SIZE:-6000x4000}
d=/tmp/inflight-rss-$$; rm -rf $d; mkdir -p $d
$T synth $d/shoot --frames $FRAMES --size $SIZE --seed 9 > /dev/null
echo "shoot: $FRAMES frames $SIZE, $(du -sm $d/shoot | cut -f1) MB; $WORKERS workers x $SLOTS slots"
for mb in ${BOUNDS:-1024 100}; do
  r=$d/run-$mb; mkdir -p $r
  $T coordinator --listen ipc://$r/t.ipc --control ipc://$r/c.ipc --db $r/c.db --max-inflight-mb $mb --log-level error --insecure > $r/coord.log 2>&1 & CP=$!
  for _ in $(seq 50); do [ -S $r/c.ipc ] && break; sleep 0.1; done
  WP=()
  for i in $(seq $WORKERS); do
    $T worker --connect ipc://$r/t.ipc --slots $SLOTS --name w$i --log-level error --insecure & WP+=($!)
  done
  start=$(date +%s.%N)
  J=$($T submit $d/shoot --out $r/out --coordinator ipc://$r/c.ipc --format jpeg --insecure)
  $T status $J --wait --coordinator ipc://$r/c.ipc --timeout 600 --insecure > /dev/null
  end=$(date +%s.%N)
  hwm=$(grep VmHWM /proc/$CP/status | awk '{print $2}')
  echo "max-inflight-mb=$mb wall=$(echo "$end - $start" | bc) s coordinator_peak_rss=$((hwm / 1024)) MB outputs=$(ls $r/out | wc -l)"
  kill "${WP[@]}"; wait "${WP[@]}" 2>/dev/null; kill $CP; wait $CP 2>/dev/null
done
rm -rf $d
