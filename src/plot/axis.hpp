// Axis scales: where a data value lies along an axis, which "nice" tick
// values (1, 2 or 5 times a power of ten) to mark, and how to label them.
#pragma once
#include <string>
#include <vector>

namespace c2s::plot {

struct Tick {
  double value = 0;
  std::string label;
};

struct Axis {
  double lo = 0, hi = 1;  // values at the start and the end of the axis
  bool log = false;       // logarithmic; then lo and hi are > 0

  // An axis over [min, max] widened by `pad` of its length at each end (in
  // decades when log). Empty (NaN) or single-valued ranges get a usable span.
  static Axis around(double min, double max, double pad, bool log = false);

  // 0 at lo, 1 at hi; NaN for values a log axis cannot show.
  double fraction(double value) const;
  // At most `max_count` ticks inside the axis, at least 2 where the range allows.
  std::vector<Tick> ticks(int max_count) const;
};

// Multiples of the largest step among 1, 2, 5 x 10^k that gives no more than
// `max_count` ticks in [lo, hi] (Heckbert's "nice numbers").
std::vector<Tick> linear_ticks(double lo, double hi, int max_count);
// Powers of ten (every k-th decade when many), or 1-2-5 within a decade or two.
std::vector<Tick> log_ticks(double lo, double hi, int max_count);

// The label of a tick on an axis whose ticks are `step` apart: as many
// decimals as the step needs, a true minus sign, "3×10⁶" for large or tiny
// magnitudes (`magnitude` is the largest |tick| on the axis).
std::string format_tick(double value, double step, double magnitude);

}  // namespace c2s::plot
