// A read-only view of float or double values, so that charts of tens of
// millions of points plot the caller's arrays without copying them.
#pragma once
#include <cstddef>
#include <span>
#include <vector>

namespace c2s::plot {

class ValueSpan {
 public:
  ValueSpan() = default;
  ValueSpan(std::span<const float> values) : floats_(values.data()), size_(values.size()) {}
  ValueSpan(std::span<const double> values) : doubles_(values.data()), size_(values.size()) {}
  ValueSpan(const std::vector<float>& values) : ValueSpan(std::span<const float>(values)) {}
  ValueSpan(const std::vector<double>& values) : ValueSpan(std::span<const double>(values)) {}
  // A temporary vector would be gone before the chart is drawn.
  ValueSpan(std::vector<float>&&) = delete;
  ValueSpan(std::vector<double>&&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  double operator[](std::size_t i) const { return floats_ ? double(floats_[i]) : doubles_[i]; }

 private:
  const float* floats_ = nullptr;
  const double* doubles_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace c2s::plot
