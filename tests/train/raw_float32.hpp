// Float32 tensors exchanged with Debian's python3-torch as raw little-endian
// files (exact, unlike any text form), and bit-for-bit comparison of them.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace c2s::testing_support {

inline void write_float32(const std::filesystem::path& file, const at::Tensor& t) {
  const auto c = t.detach().to(at::kFloat).contiguous();
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(c.data_ptr<float>()), std::streamsize(c.numel() * sizeof(float)));
  EXPECT_TRUE(out.good()) << file;
}

inline at::Tensor read_float32(const std::filesystem::path& file, at::IntArrayRef sizes) {
  auto t = at::empty(sizes, at::kFloat);
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(t.data_ptr<float>()), std::streamsize(t.numel() * sizeof(float)));
  EXPECT_TRUE(in.good() && in.gcount() == std::streamsize(t.numel() * sizeof(float))) << file;
  return t;
}

// The Python side: load(path, shape) and save(path, tensor), same layout.
inline const char* const kPythonRawFloat32 = R"PY(
import numpy as np, torch
def load(path, shape):
    return torch.from_numpy(np.fromfile(path, dtype='<f4').reshape(shape).copy())
def save(path, t):
    t.detach().numpy().astype('<f4').tofile(path)
)PY";

// "" when `got` and `want` are float32 tensors of one shape with the same
// bits in every element (so -0 differs from 0, and NaN equals the same NaN);
// otherwise how many elements differ and the first of them.
inline std::string bit_differences(const at::Tensor& got, const at::Tensor& want) {
  if (got.sizes() != want.sizes() || got.scalar_type() != at::kFloat || want.scalar_type() != at::kFloat)
    return "shape or dtype differs";
  const auto a = got.detach().contiguous(), b = want.detach().contiguous();
  const auto* x = a.data_ptr<float>();
  const auto* y = b.data_ptr<float>();
  std::int64_t differing = 0, first = -1;
  for (std::int64_t i = 0; i < a.numel(); ++i)
    if (std::memcmp(x + i, y + i, sizeof(float)) != 0 && differing++ == 0) first = i;
  if (differing == 0) return "";
  std::ostringstream out;
  out.precision(9);
  out << differing << " of " << a.numel() << " elements differ; first at " << first << ": " << x[first]
      << " vs " << y[first];
  return out.str();
}

}  // namespace c2s::testing_support
