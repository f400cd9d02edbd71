#include "model/compute_options.hpp"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

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

}  // namespace c2s
