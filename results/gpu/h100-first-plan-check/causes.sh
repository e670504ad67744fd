export LD_LIBRARY_PATH="$(pwd)/.gpu/lib:${LD_LIBRARY_PATH:-}"
pb=results/gpu/h100-stage-segments/place/bert_b1_op_k1_gpucost/placements/h100__bert_b1_op_k1_gpucost__dp.json
pi=results/gpu/h100-stage-segments/place/inceptionv3_b1_op_k1_gpucost/placements/h100__inceptionv3_b1_op_k1_gpucost__dp.json
wb=inputs/profiled/h100/bert_b1_op_k1_gpucost.json
wi=inputs/profiled/h100/inceptionv3_b1_op_k1_gpucost.json
v() { timeout 100 .gpu/bench validate "$@" --graphs --samples 30 --repeats 3 --in-process 2>&1 | grep -E "ms, measured|rror:" | sed 's/.*measured \([0-9.]*\) ms.*/\1/' | tr '\n' ' '; echo; }
for e in "CUDA_DEVICE_MAX_CONNECTIONS=1" "CUDA_DEVICE_MAX_CONNECTIONS=32"; do
  echo "bert $e: $(env $e bash -c "$(declare -f v); v $wb $pb $pb $pb")"
  echo "incep $e: $(env $e bash -c "$(declare -f v); v $wi $pi $pi $pi")"
done
echo "bert latency: $(v $wb $pb $pb $pb --latency)"
echo "incep latency: $(v $wi $pi $pi $pi --latency)"
echo "bert eager: $(timeout 100 .gpu/bench validate $wb $pb $pb $pb --samples 30 --repeats 3 --in-process 2>&1 | grep -E 'ms, measured' | sed 's/.*measured \([0-9.]*\) ms.*/\1/' | tr '\n' ' ')"
