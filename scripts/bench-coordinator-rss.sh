#!/bin/bash
# Coordinator peak RSS vs number of (small) frames in a job.
T="${TESSERA:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/tessera}"
for n in ${FRAMES:-1000 10000}; do
  d=/tmp/rss-$n; rm -rf $d; mkdir -p $d
  $T synth $d/shoot --frames $n --size 64x48 --seed 9 > /dev/null
  $T coordinator --listen ipc://$d/t.ipc --control ipc://$d/c.ipc --db $d/c.db --log-level error > $d/coord.log 2>&1 & CP=$!
  sleep 0.5
  $T worker --connect ipc://$d/t.ipc --slots 2 --log-level error & W1=$!
  $T worker --connect ipc://$d/t.ipc --slots 2 --log-level error & W2=$!
  start=$(date +%s.%N)
  J=$($T submit $d/shoot --out $d/out --coordinator ipc://$d/c.ipc --format jpeg)
  $T status $J --wait --coordinator ipc://$d/c.ipc --timeout 60 > /dev/null
  end=$(date +%s.%N)
  hwm=$(grep VmHWM /proc/$CP/status | awk '{print $2}')
  echo "frames=$n wall=$(echo "$end - $start" | bc) coordinator_peak_rss_kB=$hwm outputs=$(ls $d/out | wc -l)"
  kill $W1 $W2; sleep 0.5; kill $CP; wait 2>/dev/null
  rm -rf $d
done
