// Line chart drawing: ranges over all series, gaps at missing values, legend.
#include "plot/line_chart.hpp"

#include <cairo.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "plot/canvas.hpp"

namespace c2s::plot {

namespace {

double x_at(const LineSeries& s, std::size_t i) { return s.x.empty() ? double(i) : s.x[i]; }

bool drawable_y(double y, bool log) { return std::isfinite(y) && (!log || y > 0); }

Axis axis_for(const std::optional<std::pair<double, double>>& limits, double min, double max, double pad, bool log) {
  if (limits) {
    const double lo = std::min(limits->first, limits->second), hi = std::max(limits->first, limits->second);
    if (hi > lo && (!log || lo > 0)) return Axis{lo, hi, log};
    return Axis::around(lo, hi, 0, log);
  }
  return Axis::around(min, max, pad, log);
}

Rgb series_color(const LineChart& chart, std::size_t i) { return chart.series[i].color.value_or(category_color(i)); }

// Strokes the series (the caller clips to the plot area) and returns where
// its dots go: every point with markers, otherwise points standing alone
// between gaps, which make no line.
std::vector<std::pair<double, double>> draw_series(Canvas& canvas, const LineSeries& s, Rgb color,
                                                   const PlotArea& area, bool log) {
  cairo_t* cr = canvas.cr();
  canvas.set_color(color);
  canvas.set_line(1.8 * canvas.scale(), s.dashed);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  std::vector<std::pair<double, double>> dots;
  std::size_t run = 0;  // points in the current unbroken piece
  double last_x = 0, last_y = 0;
  for (std::size_t i = 0; i < s.y.size(); ++i) {
    const double x = x_at(s, i), y = s.y[i];
    if (!std::isfinite(x) || !drawable_y(y, log)) {
      if (run == 1 && !s.markers) dots.emplace_back(last_x, last_y);
      run = 0;
      continue;
    }
    // Far outside a fixed range cairo's fixed-point coordinates would overflow.
    const double px = std::clamp(area.x_pixel(x), -1e5, 1e5), py = std::clamp(area.y_pixel(y), -1e5, 1e5);
    if (run > 0) {
      cairo_line_to(cr, px, py);
      // Ink along long segments too, so that the legend avoids them.
      const double steps = std::floor(std::hypot(px - last_x, py - last_y) / 6);
      for (double k = 1; k < steps; ++k)
        canvas.mark_ink(last_x + (px - last_x) * k / steps, last_y + (py - last_y) * k / steps);
    } else {
      cairo_move_to(cr, px, py);
    }
    canvas.mark_ink(px, py);
    if (s.markers) dots.emplace_back(px, py);
    ++run, last_x = px, last_y = py;
  }
  if (run == 1 && !s.markers) dots.emplace_back(last_x, last_y);
  cairo_stroke(cr);
  canvas.set_line(canvas.scale());
  return dots;
}

// Dots are drawn unclipped, so that those on the plot area's edge stay whole.
void draw_dots(Canvas& canvas, const std::vector<std::pair<double, double>>& dots, Rgb color, const Rect& area,
               double radius) {
  cairo_t* cr = canvas.cr();
  canvas.set_color(color);
  for (const auto& [px, py] : dots) {
    if (px < area.x - 0.5 || px > area.right() + 0.5 || py < area.y - 0.5 || py > area.bottom() + 0.5) continue;
    cairo_arc(cr, px, py, radius, 0, 2 * std::numbers::pi);
    cairo_fill(cr);
  }
}

}  // namespace

PlotArea write_png(const LineChart& chart, const std::string& path) {
  AtomicOutput out(path);
  const double inf = std::numeric_limits<double>::infinity();
  double x_min = inf, x_max = -inf, y_min = inf, y_max = -inf;
  for (const LineSeries& s : chart.series) {
    if (!s.x.empty() && s.x.size() != s.y.size())
      throw Error(path, fmt::format("line chart series '{}' has {} x values but {} y values", s.name, s.x.size(),
                                    s.y.size()));
    for (std::size_t i = 0; i < s.y.size(); ++i) {
      const double x = x_at(s, i), y = s.y[i];
      if (!std::isfinite(x) || !drawable_y(y, chart.log_y)) continue;
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  const bool empty = !(x_min <= x_max);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (empty) x_min = x_max = y_min = y_max = nan;
  const Axis x_axis = axis_for(chart.x_limits, x_min, x_max, 0, false);
  const Axis y_axis = axis_for(chart.y_limits, y_min, y_max, 0.05, chart.log_y);

  std::vector<LegendEntry> legend;
  for (std::size_t i = 0; i < chart.series.size(); ++i)
    if (!chart.series[i].name.empty())
      legend.push_back({chart.series[i].name, series_color(chart, i),
                        chart.series[i].dashed ? LegendEntry::Swatch::DashedLine : LegendEntry::Swatch::Line});

  Canvas canvas(chart.width, chart.height, path);
  const double plot_height = canvas.layout_xy(chart, x_axis, y_axis, 0).area.rect.h;
  const XYLayout layout = canvas.layout_xy(chart, x_axis, y_axis, canvas.legend_reserve(legend, plot_height));
  const PlotArea& area = layout.area;

  canvas.draw_grid(layout);
  cairo_t* cr = canvas.cr();
  cairo_save(cr);
  cairo_rectangle(cr, area.rect.x, area.rect.y, area.rect.w, area.rect.h);
  cairo_clip(cr);
  if (empty) canvas.draw_no_data(area.rect);
  std::vector<std::vector<std::pair<double, double>>> dots;
  for (std::size_t i = 0; i < chart.series.size(); ++i)
    dots.push_back(draw_series(canvas, chart.series[i], series_color(chart, i), area, chart.log_y));
  cairo_restore(cr);

  canvas.draw_axes(layout, chart);
  for (std::size_t i = 0; i < chart.series.size(); ++i)
    draw_dots(canvas, dots[i], series_color(chart, i), area.rect, 3.2 * canvas.scale());
  canvas.place_legend(legend, area.rect, area.rect.right());
  canvas.save_png(out);
  return area;
}

}  // namespace c2s::plot
