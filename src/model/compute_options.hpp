// Where and in what precision a model computes: the dtype (fp32, bf16, fp16)
// and the device, taken from the libtorch build (CUDA when it has CUDA and a
// GPU is present, else the CPU) and never hard-coded.
#pragma once
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace c2s {

struct ComputeOptions {
  at::ScalarType dtype = at::kFloat;
  c10::Device device = c10::Device(c10::kCPU);
};

// "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16"; anything else is a UsageError.
at::ScalarType parse_compute_dtype(const std::string& name);
std::string dtype_name(at::ScalarType dtype);  // float32, bfloat16, float16 (config.json's torch_dtype)
// The device this build computes on by default.
c10::Device default_device();
// libtorch's intra-op threads (it defaults to one here): `threads` or, for 0, all cores.
void set_compute_threads(int threads);

// Debian 12's OpenBLAS (0.3.21) does not know recent CPUs (Emerald Rapids,
// for one) and then runs its Prescott (SSE3) kernels: float32 matrix products
// 4x slower than its AVX-512 ones on this machine (measured). When OpenBLAS
// picked kernels older than the CPU supports and OPENBLAS_CORETYPE is unset,
// this sets it (SkylakeX on AVX-512 CPUs, Haswell on AVX2) and re-executes
// the program with the same arguments; OpenBLAS reads the variable only when
// it loads. Call it first thing in main. It returns when nothing needs doing
// (or the re-execution failed, which costs only speed).
void choose_blas_kernels(char** argv);
// The kernels OpenBLAS runs ("SkylakeX", "Haswell", ...); "" when the BLAS
// is not OpenBLAS.
std::string blas_kernels();

}  // namespace c2s
