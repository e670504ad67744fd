#!/usr/bin/env bash
# Diagnostic: ResNet-50 and BERT-base HEFT on 2 GPUs under executor set-up variants.
export LD_LIBRARY_PATH="$(pwd)/.gpu/lib:${LD_LIBRARY_PATH:-}"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
run=results/gpu/h200x2-peers
for v in default serial grouped both; do
  case $v in default) a=; s=;; serial) a=; s=serial;; grouped) a=grouped; s=;; both) a=grouped; s=serial;; esac
  for m in resnet50 bert inceptionv3; do
    n=${m}_b1_op_k2_gpucost
    PLACEBENCH_ALLOC=$a PLACEBENCH_SETUP=$s timeout 200 .gpu/bench validate $run/profiled/h200/$n.json --graphs --processes 2 --samples 30 --repeats 3 \
      --schedule $run/hios/$n/schedules/$n@k2__heft.json --schedule $run/hios/$n/schedules/$n@k1__heft.json \
      --out $OUT/variant_${v}_$m.json 2>&1 | grep -E "measured|error" >> $OUT/log.txt
  done
done
tar -czf /tmp/v.tgz -C $OUT . && rm -rf $OUT/* && mv /tmp/v.tgz $OUT/
