#!/bin/bash
# Coordinator peak RSS vs number of (small) frames in a job.
T="${TESSERA:-$(cd "$(dirname "$0")/.." && pwd)/.build/release/tessera}"
for n in ${FRAMES:-1000 10000}; do
  d=/tmp/rss-$n; rm -rf $d; mkdir -p $d
  $T synth $d/shoot --frames $n --size 64x48 --seed 9 > /dev/null
  # CURVE keys: one for the workers, one for this operator; the coordinator makes its own.
  $T keygen worker --dir $d/keys > /dev/null && $T keygen operator --dir $d/keys > /dev/null
  $T keys allow workers $d/keys/worker.pub --role worker --db $d/c.db > /dev/null
  $T keys allow bench $d/keys/operator.pub --role operator --db $d/c.db > /dev/null
  export TESSERA_KEY=$d/keys/operator.key TESSERA_COORDINATOR_KEY=$d/coordinator.pub
  $T coordinator --listen ipc://$d/t.ipc --control ipc://$d/c.ipc --db $d/c.db --log-level error > $d/coord.log 2>&1 & CP=$!
  sleep 0.5
  $T worker --connect ipc://$d/t.ipc --slots 2 --log-level error --key $d/keys/worker.key & W1=$!
  $T worker --connect ipc://$d/t.ipc --slots 2 --log-level error --key $d/keys/worker.key & W2=$!
  start=$(date +%s.%N)
  J=$($T submit $d/shoot --out $d/out --coordinator ipc://$d/c.ipc --format jpeg)
  $T status $J --wait --coordinator ipc://$d/c.ipc --timeout 60 > /dev/null
  end=$(date +%s.%N)
  hwm=$(grep VmHWM /proc/$CP/status | awk '{print $2}')
  echo "frames=$n wall=$(echo "$end - $start" | bc) coordinator_peak_rss_kB=$hwm outputs=$(ls $d/out | wc -l)"
  kill $W1 $W2; sleep 0.5; kill $CP; wait 2>/dev/null
  rm -rf $d
done
