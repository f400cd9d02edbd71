// Scatter plots of up to tens of millions of points: dots when there are few,
// a log-scaled 2-D density when many; straight overlay lines (a fit, y = x)
// and colouring by category, each with a legend entry.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "plot/chart_frame.hpp"
#include "plot/colormap.hpp"
#include "plot/value_span.hpp"

namespace c2s::plot {

// The straight line y = intercept + slope * x across the whole x axis.
struct OverlayLine {
  double intercept = 0, slope = 1;
  std::string label;         // legend text; empty: no legend entry
  std::optional<Rgb> color;  // default: red, then dark grey, orange, ...
  bool dashed = false;

  static OverlayLine identity(std::string label = "y = x") {
    return {0, 1, std::move(label), Rgb::hex(0x555555), true};
  }
  static OverlayLine fit(double intercept, double slope, std::string label) {
    return {intercept, slope, std::move(label), std::nullopt, false};
  }
};

enum class ScatterStyle {
  Auto,  // dots up to `density_threshold` points, density above
  Dots,
  Density,  // counts in square bins, colour on a log scale
};

struct ScatterPlot : ChartFrame {
  // Views of the caller's values: they must stay alive until write_png
  // returns. Points with a NaN or infinite coordinate are skipped.
  ValueSpan x, y;
  // Optional colouring: one id per point, indexing `category_names`. Also a
  // view. In density style each bin takes the mean colour of its points.
  std::span<const std::int32_t> categories;
  std::vector<std::string> category_names;

  // Optional second marker, to tell two groups apart within a category
  // (e.g. real and generated cells): one flag per point (also a view),
  // 1 = drawn as a ring, 0 = a filled dot. Dots style only; each marker
  // gets a legend entry (in grey) when its label is not empty.
  std::span<const std::uint8_t> rings;
  std::string dot_label, ring_label;

  std::vector<OverlayLine> lines;

  ScatterStyle style = ScatterStyle::Auto;
  std::size_t density_threshold = 20000;
  double bin_pixels = 3;  // side of a density bin
  std::string density_label = "points per bin";
  double point_radius = 0;         // pixels at 800x600; 0: chosen from the number of points
  double point_alpha = 0;          // 0: chosen from the number of points
  std::optional<Rgb> point_color;  // default: the first category colour (blue)

  // Fixed axis ranges; by default the data's range with a small margin.
  // Points outside are left out.
  std::optional<std::pair<double, double>> x_limits, y_limits;
};

// Draws the chart and writes it as a PNG (atomically: temporary file, then
// rename). Throws c2s::Error naming `path` on bad input or an unwritable
// folder. Returns where the data went, to map values to pixels.
PlotArea write_png(const ScatterPlot& plot, const std::string& path);

}  // namespace c2s::plot
