// Line charts of named series, such as training and validation loss curves.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plot/chart_frame.hpp"
#include "plot/colormap.hpp"
#include "plot/value_span.hpp"

namespace c2s::plot {

struct LineSeries {
  LineSeries() = default;
  LineSeries(std::string name, ValueSpan y) : name(std::move(name)), y(y) {}
  LineSeries(std::string name, ValueSpan x, ValueSpan y) : name(std::move(name)), x(x), y(y) {}

  std::string name;  // legend text; empty: no legend entry
  // Views of the caller's values, alive until write_png returns. With x
  // empty the points are at x = 0, 1, 2, ... A NaN or infinite value (or
  // one <= 0 on a log axis) leaves a gap in the line.
  ValueSpan x, y;
  std::optional<Rgb> color;  // default: the series' category colour
  bool dashed = false;
  bool markers = false;  // a dot on every point, for short series such as per-epoch scores
};

struct LineChart : ChartFrame {
  std::vector<LineSeries> series;
  bool log_y = false;  // losses spanning decades read better on a log axis
  // Fixed axis ranges; by default the data's range (with a margin in y).
  std::optional<std::pair<double, double>> x_limits, y_limits;
};

// Draws the chart and writes it as a PNG (atomically). Throws c2s::Error
// naming `path` on bad input or an unwritable folder.
PlotArea write_png(const LineChart& chart, const std::string& path);

}  // namespace c2s::plot
