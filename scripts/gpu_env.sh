# Sourced by every scripts/gpu_*.sh run on a lent GPU machine: the libraries carried in .gpu/
# (scripts/gpu_prepare.sh), and NVLink multicast off, which can take a shared host's GPUs out
# of service. A carried `.gpu/pack` is unpacked first (every time: a warm
# machine may keep an older `.gpu/bench`).
if [ -e .gpu/pack/gpu.tar.xz ]; then
  tar -xJf .gpu/pack/gpu.tar.xz -C .gpu
fi
export LD_LIBRARY_PATH="$(pwd)/.gpu/lib:${LD_LIBRARY_PATH:-}"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
