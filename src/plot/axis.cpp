// Tick selection and tick labels for linear and logarithmic axes.
#include "plot/axis.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace c2s::plot {

namespace {

// Readers expect U+2212, not a hyphen, in front of negative numbers.
std::string with_true_minus(std::string s) {
  if (!s.empty() && s[0] == '-') s.replace(0, 1, "\u2212");
  return s;
}

std::string superscript(int n) {
  static const std::array<const char*, 10> digits = {"\u2070", "\u00b9", "\u00b2", "\u00b3", "\u2074",
                                                     "\u2075", "\u2076", "\u2077", "\u2078", "\u2079"};
  std::string out = n < 0 ? "\u207b" : "";
  for (char c : std::to_string(std::abs(n))) out += digits[c - '0'];
  return out;
}

double pow10(int e) { return std::pow(10.0, e); }

// 10^e times m, computed so that e.g. 3 x 10^-1 is the double nearest 0.3.
double scaled(double m, int e) { return e >= 0 ? m * pow10(e) : m / pow10(-e); }

// The label of m x 10^e on a log axis: plain for everyday magnitudes.
std::string power_label(int m, int e) {
  if (e >= -2 && e <= 3) return fmt::format("{:.{}f}", scaled(m, e), std::max(0, -e));
  if (m == 1) return "10" + superscript(e);
  return fmt::format("{}\u00d710{}", m, superscript(e));
}

}  // namespace

Axis Axis::around(double min, double max, double pad, bool log) {
  if (log) {
    if (!(min > 0) || !std::isfinite(max) || !std::isfinite(min)) return {1, 10, true};
    double l0 = std::log10(min), l1 = std::log10(max);
    double d = l1 - l0 < 1e-9 ? 0.5 : (l1 - l0) * pad;
    return {std::pow(10.0, l0 - d), std::pow(10.0, l1 + d), true};
  }
  if (!std::isfinite(min) || !std::isfinite(max)) return {0, 1, false};
  double magnitude = std::max(std::abs(min), std::abs(max));
  if (max - min <= 1e-12 * magnitude) {
    double d = magnitude > 0 ? 0.1 * magnitude : 0.5;
    return {min - d, max + d, false};
  }
  double d = (max - min) * pad;
  return {min - d, max + d, false};
}

double Axis::fraction(double value) const {
  if (log) {
    if (!(value > 0)) return std::nan("");
    return (std::log10(value) - std::log10(lo)) / (std::log10(hi) - std::log10(lo));
  }
  return (value - lo) / (hi - lo);
}

std::vector<Tick> Axis::ticks(int max_count) const {
  return log ? log_ticks(lo, hi, max_count) : linear_ticks(lo, hi, max_count);
}

std::vector<Tick> linear_ticks(double lo, double hi, int max_count) {
  if (lo > hi) std::swap(lo, hi);
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_count < 1) return {};
  if (!(hi > lo)) return {{lo, format_tick(lo, 1, std::abs(lo))}};
  max_count = std::max(max_count, 2);
  const double span = hi - lo;
  // Start a decade below the step that would give ~10 x max_count ticks and
  // take the first (smallest) step that fits.
  int e = int(std::floor(std::log10(span / (10.0 * max_count))));
  for (;; ++e) {
    for (int m : {1, 2, 5}) {
      const double step = scaled(m, e);
      const double eps = 1e-9;
      const double first = std::ceil(lo / step - eps), last = std::floor(hi / step + eps);
      if (last - first + 1 > max_count) continue;
      std::vector<Tick> ticks;
      double magnitude = std::max(std::abs(first), std::abs(last)) * step;
      for (double i = first; i <= last; ++i) {
        double v = scaled(m * i, e);
        if (std::abs(v) < step * 1e-9) v = 0;
        ticks.push_back({v, format_tick(v, step, magnitude)});
      }
      return ticks;
    }
  }
}

std::vector<Tick> log_ticks(double lo, double hi, int max_count) {
  if (lo > hi) std::swap(lo, hi);
  if (!(lo > 0) || !std::isfinite(hi) || max_count < 1) return {};
  const int e0 = int(std::floor(std::log10(lo))), e1 = int(std::ceil(std::log10(hi)));
  auto generate = [&](std::initializer_list<int> mantissas, int stride) {
    std::vector<Tick> ticks;
    for (int e = e0; e <= e1; ++e) {
      if (((e % stride) + stride) % stride != 0) continue;
      for (int m : mantissas) {
        double v = scaled(m, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back({v, power_label(m, e)});
      }
    }
    return ticks;
  };
  std::vector<Tick> decades;
  for (int stride = 1;; ++stride) {
    decades = generate({1}, stride);
    if (int(decades.size()) <= max_count) break;
  }
  if (decades.size() >= 3) return decades;
  auto one_two_five = generate({1, 2, 5}, 1);
  if (one_two_five.size() >= 2 && int(one_two_five.size()) <= max_count) return one_two_five;
  if (decades.size() >= 2) return decades;
  // Less than a decade: ordinary ticks read better than one lonely power of ten.
  return linear_ticks(lo, hi, max_count);
}

std::string format_tick(double value, double step, double magnitude) {
  if (value == 0) return "0";
  const int step_exponent = int(std::floor(std::log10(step) + 1e-9));
  if (magnitude >= 1e6 || magnitude < 1e-3) {
    const int e = int(std::floor(std::log10(magnitude) + 1e-9));
    const double mantissa = value / std::pow(10.0, e);
    const int decimals = std::max(0, e - step_exponent);
    return with_true_minus(fmt::format("{:.{}f}\u00d710{}", mantissa, decimals, superscript(e)));
  }
  return with_true_minus(fmt::format("{:.{}f}", value, std::max(0, -step_exponent)));
}

}  // namespace c2s::plot
