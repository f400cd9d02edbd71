#include "model/compute_options.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <thread>

#include "core/error.hpp"

namespace c2s {

at::ScalarType parse_compute_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return at::kFloat;
  if (name == "bf16" || name == "bfloat16") return at::kBFloat16;
  if (name == "fp16" || name == "float16") return at::kHalf;
  throw UsageError("unknown dtype '" + name + "' (use fp32, bf16 or fp16)");
}

std::string dtype_name(at::ScalarType dtype) {
  switch (dtype) {
    case at::kFloat: return "float32";
    case at::kBFloat16: return "bfloat16";
    case at::kHalf: return "float16";
    case at::kDouble: return "float64";
    default: return c10::toString(dtype);
  }
}

c10::Device default_device() {
  return at::hasCUDA() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
}

void set_compute_threads(int threads) {
  int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
}

std::string blas_kernels() {
  using CoreName = char* (*)();
  auto core_name = reinterpret_cast<CoreName>(::dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!core_name) return "";
  const char* name = core_name();
  return name ? name : "";
}

void choose_blas_kernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE")) return;  // the user's choice stands
  const std::string current = blas_kernels();
  // OpenBLAS's x86-64 kernel sets that predate AVX2.
  static const std::set<std::string> pre_avx2 = {
      "Unknown", "Katmai",        "Coppermine", "Northwood", "Prescott",    "Banias",    "Atom",
      "Core2",   "Penryn",        "Dunnington", "Nehalem",   "Athlon",      "Opteron",   "Opteron(SSE3)",
      "Barcelona", "Nano",        "Sandybridge", "Bobcat",   "Bulldozer",   "Piledriver", "Steamroller",
      "Excavator"};
  if (current.empty() || !pre_avx2.count(current)) return;
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512cd");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (!avx512 && !avx2) return;  // OpenBLAS's choice fits this CPU
  ::setenv("OPENBLAS_CORETYPE", avx512 ? "SkylakeX" : "Haswell", 1);
  ::execv("/proc/self/exe", argv);
}

}  // namespace c2s
