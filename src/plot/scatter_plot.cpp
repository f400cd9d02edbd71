// Scatter plot drawing: data ranges, dots or binned density, overlay lines.
#include "plot/scatter_plot.hpp"

#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/random.hpp"
#include "plot/canvas.hpp"

namespace c2s::plot {

namespace {

using Limits = std::optional<std::pair<double, double>>;

bool within(double v, const Limits& limits) {
  if (!std::isfinite(v)) return false;
  if (!limits) return true;
  const auto [a, b] = *limits;
  return v >= std::min(a, b) && v <= std::max(a, b);
}

struct Extent {
  double x_min = std::numeric_limits<double>::quiet_NaN(), x_max = x_min, y_min = x_min, y_max = x_min;
  std::size_t count = 0;  // points drawn: finite and inside the limits
};

// One pass over the points: their range, and whether the categories are usable.
Extent measure(const ScatterPlot& plot, const std::string& path) {
  if (plot.x.size() != plot.y.size())
    throw Error(path, fmt::format("scatter plot has {} x values but {} y values", plot.x.size(), plot.y.size()));
  const bool categorised = !plot.categories.empty();
  if (categorised && plot.categories.size() != plot.x.size())
    throw Error(path,
                fmt::format("scatter plot has {} points but {} category ids", plot.x.size(), plot.categories.size()));
  if (!plot.rings.empty() && plot.rings.size() != plot.x.size())
    throw Error(path, fmt::format("scatter plot has {} points but {} ring flags", plot.x.size(), plot.rings.size()));
  const auto names = std::int64_t(plot.category_names.size());
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min, y_min = x_min, y_max = -x_min;
  std::size_t count = 0;
  for (std::size_t i = 0; i < plot.x.size(); ++i) {
    if (categorised && (plot.categories[i] < 0 || plot.categories[i] >= names))
      throw Error(path, fmt::format("scatter plot point {} has category id {}, but there are {} category names", i,
                                    plot.categories[i], names));
    const double x = plot.x[i], y = plot.y[i];
    if (!within(x, plot.x_limits) || !within(y, plot.y_limits)) continue;
    x_min = std::min(x_min, x), x_max = std::max(x_max, x);
    y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    ++count;
  }
  Extent e;
  e.count = count;
  if (count > 0) e.x_min = x_min, e.x_max = x_max, e.y_min = y_min, e.y_max = y_max;
  return e;
}

Axis axis_for(const Limits& limits, double min, double max, double pad) {
  if (!limits) return Axis::around(min, max, pad);
  const double lo = std::min(limits->first, limits->second), hi = std::max(limits->first, limits->second);
  return hi > lo ? Axis{lo, hi} : Axis::around(lo, hi, 0);
}

Rgb line_color(const OverlayLine& line, std::size_t i) {
  static constexpr Rgb palette[] = {Rgb::hex(0xd62728), Rgb::hex(0x333333), Rgb::hex(0xff7f0e), Rgb::hex(0x9467bd)};
  return line.color.value_or(palette[i % std::size(palette)]);
}

Rgb point_color(const ScatterPlot& plot, std::size_t i) {
  return plot.categories.empty() ? plot.point_color.value_or(category_color(0)) : category_color(plot.categories[i]);
}

void draw_dots(Canvas& canvas, const ScatterPlot& plot, const PlotArea& area, std::size_t count) {
  const double radius = (plot.point_radius > 0 ? plot.point_radius
                         : count <= 1000       ? 3.2
                         : count <= 5000       ? 2.4
                                               : 1.7) *
                        canvas.scale();
  const double alpha = plot.point_alpha > 0 ? std::min(1.0, plot.point_alpha)
                       : count <= 1000      ? 0.85
                       : count <= 5000      ? 0.65
                                            : 0.45;
  std::vector<std::size_t> order;
  order.reserve(count);
  for (std::size_t i = 0; i < plot.x.size(); ++i)
    if (within(plot.x[i], plot.x_limits) && within(plot.y[i], plot.y_limits)) order.push_back(i);
  // Categories drawn one after another would bury the first under the last;
  // a fixed shuffle interleaves them and keeps the image reproducible.
  if (!plot.categories.empty()) {
    Rng rng(0x5ca77e4);
    shuffle(order, rng);
  }
  // Rings go over the dots: the few marked points stay visible in a crowd.
  if (!plot.rings.empty())
    std::stable_partition(order.begin(), order.end(), [&](std::size_t i) { return plot.rings[i] == 0; });
  cairo_t* cr = canvas.cr();
  for (std::size_t i : order) {
    const double px = area.x_pixel(plot.x[i]), py = area.y_pixel(plot.y[i]);
    if (!plot.rings.empty() && plot.rings[i]) {
      // Rings opaque and a little larger, the dots under them faint: the
      // ringed group stands out of the crowd and the dots still show.
      canvas.set_color(point_color(plot, i), 1.0);
      cairo_set_line_width(cr, std::max(radius * 0.6, 1.3 * canvas.scale()));
      cairo_new_sub_path(cr);
      cairo_arc(cr, px, py, radius * 1.5, 0, 2 * std::numbers::pi);
      cairo_stroke(cr);
    } else {
      canvas.set_color(point_color(plot, i), plot.rings.empty() ? alpha : 0.5 * alpha);
      cairo_arc(cr, px, py, radius, 0, 2 * std::numbers::pi);
      cairo_fill(cr);
    }
    canvas.mark_ink(px, py);
  }
}

// Returns the largest count in a bin (at least 1 when any point was drawn).
std::uint32_t draw_density(Canvas& canvas, const ScatterPlot& plot, const PlotArea& area) {
  const Rect& r = area.rect;
  const double bin = std::max(1.0, plot.bin_pixels * canvas.scale());
  const int columns = std::max(1, int(r.w / bin)), rows = std::max(1, int(r.h / bin));
  const std::size_t bins = std::size_t(columns) * rows;
  const std::size_t kinds = plot.categories.empty() ? 1 : plot.category_names.size();
  std::vector<std::uint32_t> counts(bins * kinds, 0);
  for (std::size_t i = 0; i < plot.x.size(); ++i) {
    const double x = plot.x[i], y = plot.y[i];
    if (!within(x, plot.x_limits) || !within(y, plot.y_limits)) continue;
    const double fx = area.x.fraction(x), fy = area.y.fraction(y);
    if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1)) continue;
    const int column = std::min(columns - 1, int(fx * columns));
    const int row = std::min(rows - 1, int((1 - fy) * rows));
    const std::size_t kind = kinds == 1 ? 0 : std::size_t(plot.categories[i]);
    ++counts[(std::size_t(row) * columns + column) * kinds + kind];
  }
  std::vector<std::uint32_t> totals(bins, 0);
  for (std::size_t b = 0; b < bins; ++b)
    for (std::size_t k = 0; k < kinds; ++k) totals[b] += counts[b * kinds + k];
  const std::uint32_t most = *std::max_element(totals.begin(), totals.end());
  const double log_top = std::log(std::max<double>(most, 2));

  std::vector<std::uint32_t> pixels(bins, 0);  // transparent where empty
  for (std::size_t b = 0; b < bins; ++b) {
    if (totals[b] == 0) continue;
    const double t = std::log(double(totals[b])) / log_top;
    if (kinds == 1) {
      pixels[b] = Canvas::argb(colormap_color(Colormap::Viridis, t));
    } else {
      // The mean colour of the bin's points; fainter where there are few.
      Rgb mean;
      for (std::size_t k = 0; k < kinds; ++k) {
        const double share = double(counts[b * kinds + k]) / totals[b];
        const Rgb c = category_color(k);
        mean.r += share * c.r, mean.g += share * c.g, mean.b += share * c.b;
      }
      pixels[b] = Canvas::argb(mean, 0.35 + 0.65 * t);
    }
    const double cx = r.x + (double(b % columns) + 0.5) * r.w / columns;
    const double cy = r.y + (double(b / columns) + 0.5) * r.h / rows;
    canvas.mark_ink(cx, cy);
  }
  canvas.paint_pixels(pixels, columns, rows, r, false);
  return std::max<std::uint32_t>(most, 1);
}

void draw_overlay(Canvas& canvas, const OverlayLine& line, Rgb color, const PlotArea& area) {
  if (!std::isfinite(line.intercept) || !std::isfinite(line.slope)) return;
  // Clip in data space: cairo's fixed-point coordinates overflow for the
  // far-away ends of steep lines.
  double x0 = area.x.lo, x1 = area.x.hi;
  const double y_lo = area.y.lo, y_hi = area.y.hi;
  if (line.slope == 0) {
    if (line.intercept < y_lo || line.intercept > y_hi) return;
  } else {
    const double xa = (y_lo - line.intercept) / line.slope, xb = (y_hi - line.intercept) / line.slope;
    x0 = std::max(x0, std::min(xa, xb));
    x1 = std::min(x1, std::max(xa, xb));
    if (!(x1 > x0)) return;
  }
  cairo_t* cr = canvas.cr();
  canvas.set_color(color);
  canvas.set_line(2.2 * canvas.scale(), line.dashed);
  cairo_move_to(cr, area.x_pixel(x0), area.y_pixel(line.intercept + line.slope * x0));
  cairo_line_to(cr, area.x_pixel(x1), area.y_pixel(line.intercept + line.slope * x1));
  cairo_stroke(cr);
  canvas.set_line(canvas.scale());
  for (int i = 0; i <= 64; ++i) {
    const double x = x0 + (x1 - x0) * i / 64;
    canvas.mark_ink(area.x_pixel(x), area.y_pixel(line.intercept + line.slope * x), 4);
  }
}

}  // namespace

PlotArea write_png(const ScatterPlot& plot, const std::string& path) {
  AtomicOutput out(path);
  const Extent extent = measure(plot, path);
  const bool density = plot.style == ScatterStyle::Density ||
                       (plot.style == ScatterStyle::Auto && extent.count > plot.density_threshold);
  // Dots need room at the edges; density bins fill the range edge to edge.
  const double pad = density ? 0.02 : 0.05;
  const Axis x_axis = axis_for(plot.x_limits, extent.x_min, extent.x_max, pad);
  const Axis y_axis = axis_for(plot.y_limits, extent.y_min, extent.y_max, pad);

  std::vector<LegendEntry> legend;
  for (std::size_t k = 0; k < plot.category_names.size() && !plot.categories.empty(); ++k)
    legend.push_back(
        {plot.category_names[k], category_color(k), density ? LegendEntry::Swatch::Box : LegendEntry::Swatch::Dot});
  if (!plot.rings.empty() && !density) {
    if (!plot.dot_label.empty()) legend.push_back({plot.dot_label, Rgb::hex(0x555555), LegendEntry::Swatch::Dot});
    if (!plot.ring_label.empty()) legend.push_back({plot.ring_label, Rgb::hex(0x555555), LegendEntry::Swatch::Ring});
  }
  for (std::size_t i = 0; i < plot.lines.size(); ++i)
    if (!plot.lines[i].label.empty())
      legend.push_back({plot.lines[i].label, line_color(plot.lines[i], i),
                        plot.lines[i].dashed ? LegendEntry::Swatch::DashedLine : LegendEntry::Swatch::Line});

  Canvas canvas(plot.width, plot.height, path);
  const bool bar = density && plot.categories.empty() && extent.count > 0;
  // The largest bin count is known only after binning, which needs the
  // layout; the number of points bounds it, and its labels are no narrower.
  ColorBar color_bar{Axis{1, std::max(2.0, double(extent.count)), true}, Colormap::Viridis, plot.density_label};
  const double plot_height = canvas.layout_xy(plot, x_axis, y_axis, 0).area.rect.h;
  const double bar_width = bar ? canvas.color_bar_width(color_bar, plot_height) : 0;
  const double reserve = bar_width + canvas.legend_reserve(legend, plot_height);
  const XYLayout layout = canvas.layout_xy(plot, x_axis, y_axis, reserve);
  const PlotArea& area = layout.area;

  canvas.draw_grid(layout);
  cairo_t* cr = canvas.cr();
  cairo_save(cr);
  cairo_rectangle(cr, area.rect.x, area.rect.y, area.rect.w, area.rect.h);
  cairo_clip(cr);
  std::uint32_t most = 1;
  if (extent.count == 0)
    canvas.draw_no_data(area.rect);
  else if (density)
    most = draw_density(canvas, plot, area);
  else
    draw_dots(canvas, plot, area, extent.count);
  // Without data the lines would only cross out the "no data" note.
  for (std::size_t i = 0; i < plot.lines.size() && extent.count > 0; ++i)
    draw_overlay(canvas, plot.lines[i], line_color(plot.lines[i], i), area);
  cairo_restore(cr);

  canvas.draw_axes(layout, plot);
  if (bar) {
    color_bar.axis = Axis{1, std::max(2.0, double(most)), true};
    canvas.draw_color_bar(color_bar, area.rect.right(), area.rect.y, area.rect.h);
  }
  canvas.place_legend(legend, area.rect, area.rect.right() + bar_width);
  canvas.save_png(out);
  return area;
}

}  // namespace c2s::plot
