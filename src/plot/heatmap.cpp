// Heatmap drawing: layout of the cell grid and its labels, cell values, colour bar.
#include "plot/heatmap.hpp"

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

constexpr Rgb kMissing = Rgb::hex(0xd9d9d9);

void check(const Heatmap& h, const std::string& path) {
  if (h.values.size() != h.rows * h.columns)
    throw Error(path, fmt::format("heatmap has {} values for {} x {} cells", h.values.size(), h.rows, h.columns));
  if (!h.row_labels.empty() && h.row_labels.size() != h.rows)
    throw Error(path, fmt::format("heatmap has {} row labels for {} rows", h.row_labels.size(), h.rows));
  if (!h.column_labels.empty() && h.column_labels.size() != h.columns)
    throw Error(path, fmt::format("heatmap has {} column labels for {} columns", h.column_labels.size(), h.columns));
}

// The user's format, or one chosen from the values: counts stay whole.
std::string value_format(const Heatmap& h, const std::string& path) {
  if (!h.value_format.empty()) {
    try {
      (void)fmt::format(fmt::runtime(h.value_format), 0.5);
    } catch (const fmt::format_error& e) {
      throw Error(path, fmt::format("heatmap value format '{}' is not valid: {}", h.value_format, e.what()));
    }
    return h.value_format;
  }
  bool whole = true;
  double largest = 0;
  for (double v : h.values) {
    if (!std::isfinite(v)) continue;
    whole = whole && v == std::round(v) && std::abs(v) < 1e15;
    largest = std::max(largest, std::abs(v));
  }
  if (whole || largest >= 100) return "{:.0f}";
  return largest >= 10 ? "{:.1f}" : "{:.2f}";
}

Axis color_axis(const Heatmap& h) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (double v : h.values)
    if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (h.vmin) lo = *h.vmin;
  if (h.vmax) hi = *h.vmax;
  if (!std::isfinite(lo) || !std::isfinite(hi)) return Axis{0, 1};
  if (lo > hi) std::swap(lo, hi);
  return hi > lo ? Axis{lo, hi} : Axis::around(lo, hi, 0);
}

// Every step-th label, so that labels in small cells do not overlap.
std::size_t label_step(double font, double cell) {
  return std::max<std::size_t>(1, std::size_t(std::ceil(font * 1.1 / cell)));
}

}  // namespace

PlotArea write_png(const Heatmap& h, const std::string& path) {
  AtomicOutput out(path);
  check(h, path);
  const std::string format = value_format(h, path);
  Canvas canvas(h.width, h.height, path);
  const double s = canvas.scale(), pad = canvas.pad(), tick = canvas.tick_size();
  const double gap = 6 * s, label_band = h.x_label.empty() ? 0 : canvas.label_size() * 1.1 + 8 * s;
  const double W = canvas.width(), H = canvas.height();

  const double top = canvas.top_margin(h.title);
  if (h.rows == 0 || h.columns == 0) {
    const Rect area{pad, top, W - 2 * pad, H - top - pad};
    canvas.draw_no_data(area);
    canvas.draw_title(h.title, W / 2);
    canvas.save_png(out);
    return {area, Axis{0, 1}, Axis{1, 0}};
  }

  const ColorBar bar{color_axis(h), h.colormap, h.colorbar_label};
  const double bar_width = canvas.color_bar_width(bar, H - top - pad);
  const double y_label_band = h.y_label.empty() ? 0 : canvas.label_size() * 1.1 + 8 * s;
  const double smallest_font = std::min(tick, 7 * s);

  // Label sizes follow the cell sizes, which follow the room the labels
  // leave: a second round fits the margins to the first round's fonts.
  std::vector<std::string> row_labels, column_labels;
  double row_font = tick, column_font = tick, column_band = 0, left = 0, avail_w = 0, avail_h = 0, cell_w = 0,
         cell_h = 0;
  bool slanted = false;
  for (int round = 0; round < 2; ++round) {
    row_labels.clear(), column_labels.clear();
    double row_width = 0, column_width = 0;
    for (const std::string& label : h.row_labels) {
      row_labels.push_back(canvas.fit_text(label, row_font, 0.3 * W, Canvas::Cut::Middle));
      row_width = std::max(row_width, canvas.text_width(row_labels.back(), row_font));
    }
    for (const std::string& label : h.column_labels) {
      column_labels.push_back(canvas.fit_text(label, column_font, 0.3 * H, Canvas::Cut::Middle));
      column_width = std::max(column_width, canvas.text_width(column_labels.back(), column_font));
    }
    left = pad + y_label_band + (row_labels.empty() ? 0 : row_width + gap);
    avail_w = std::max(10.0, W - left - pad - bar_width);
    cell_w = avail_w / h.columns;
    // Column labels lie flat when they fit their column, otherwise slanted.
    if (round == 0) slanted = !column_labels.empty() && column_width + gap > cell_w;
    if (slanted) {  // the first column's label reaches left, under the row labels
      left = std::max(left, pad + (column_width + column_font) * std::numbers::sqrt2 / 2 - cell_w / 2);
      avail_w = std::max(10.0, W - left - pad - bar_width);
      cell_w = avail_w / h.columns;
    }
    column_band = column_labels.empty() ? 0
                  : slanted             ? (column_width + column_font) * std::numbers::sqrt2 / 2 + gap
                                        : column_font + gap;
    avail_h = std::max(10.0, H - top - pad - label_band - column_band);
    cell_h = avail_h / h.rows;
    if (h.square_cells) cell_w = cell_h = std::min(cell_w, cell_h);
    if (round == 0) {
      row_font = std::clamp(cell_h * 0.8, smallest_font, tick);
      if (slanted) column_font = std::clamp(cell_w * 0.8, smallest_font, tick);
    }
  }
  // Centre the grid with its labels and colour bar where square cells leave room.
  const double x0 = std::round(left + (avail_w - cell_w * h.columns) / 2);
  const double y0 = std::round(top + (avail_h - cell_h * h.rows) / 2);
  auto edge_x = [&](std::size_t c) { return std::round(x0 + c * cell_w); };
  auto edge_y = [&](std::size_t r) { return std::round(y0 + r * cell_h); };
  const Rect grid{x0, y0, edge_x(h.columns) - x0, edge_y(h.rows) - y0};

  cairo_t* cr = canvas.cr();
  auto cell_color = [&](double v) {
    return std::isfinite(v) ? colormap_color(h.colormap, bar.axis.fraction(v)) : kMissing;
  };
  if (cell_w >= 4 && cell_h >= 4) {
    for (std::size_t r = 0; r < h.rows; ++r)
      for (std::size_t c = 0; c < h.columns; ++c) {
        canvas.set_color(cell_color(h.values[r * h.columns + c]));
        cairo_rectangle(cr, edge_x(c), edge_y(r), edge_x(c + 1) - edge_x(c), edge_y(r + 1) - edge_y(r));
        cairo_fill(cr);
      }
  } else {  // cells of a pixel or two: one image is much faster than millions of rectangles
    std::vector<std::uint32_t> pixels(h.values.size());
    for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = Canvas::argb(cell_color(h.values[i]));
    canvas.paint_pixels(pixels, int(h.columns), int(h.rows), grid, false);
  }

  // A frame keeps cells as pale as the background (Blues at 0) inside the grid.
  canvas.set_color(kInk);
  canvas.set_line(std::max(1.0, s));
  cairo_rectangle(cr, grid.x + 0.5, grid.y + 0.5, grid.w - 1, grid.h - 1);
  cairo_stroke(cr);

  if (h.annotate) {
    std::vector<std::string> texts(h.values.size());
    double widest = 0;
    double size = std::min(canvas.label_size(), cell_h * 0.42);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (!std::isfinite(h.values[i])) continue;
      texts[i] = fmt::format(fmt::runtime(format), h.values[i]);
      widest = std::max(widest, canvas.text_width(texts[i], size));
    }
    if (widest > cell_w * 0.88) size *= cell_w * 0.88 / widest;
    // Below this the numbers are unreadable; colours alone must do.
    if (size >= 6 * s)
      for (std::size_t r = 0; r < h.rows; ++r)
        for (std::size_t c = 0; c < h.columns; ++c) {
          const std::size_t i = r * h.columns + c;
          if (texts[i].empty()) continue;
          const Rgb ink = luminance(cell_color(h.values[i])) > 0.36 ? kInk : Rgb{1, 1, 1};
          canvas.text(texts[i], x0 + (c + 0.5) * cell_w, y0 + (r + 0.5) * cell_h, size, HAlign::Center,
                      VAlign::Middle, 0, ink);
        }
  }

  if (!row_labels.empty()) {
    const std::size_t step = label_step(row_font, cell_h);
    for (std::size_t r = 0; r < h.rows; r += step)
      canvas.text(row_labels[r], grid.x - gap, y0 + (r + 0.5) * cell_h, row_font, HAlign::Right, VAlign::Middle);
  }
  if (!column_labels.empty()) {
    const std::size_t step = slanted ? label_step(column_font * std::numbers::sqrt2, cell_w) : 1;
    for (std::size_t c = 0; c < h.columns; c += step) {
      const double cx = x0 + (c + 0.5) * cell_w;
      if (slanted)
        canvas.text(column_labels[c], cx, grid.bottom() + gap + column_font * 0.4, column_font, HAlign::Right,
                    VAlign::Middle, -std::numbers::pi / 4);
      else
        canvas.text(column_labels[c], cx, grid.bottom() + gap, column_font, HAlign::Center, VAlign::Top);
    }
  }
  if (!h.x_label.empty())
    canvas.text(canvas.fit_text(h.x_label, canvas.label_size(), W - 2 * pad), grid.x + grid.w / 2,
                grid.bottom() + column_band + 8 * s, canvas.label_size(), HAlign::Center, VAlign::Top);
  if (!h.y_label.empty())
    canvas.text(canvas.fit_text(h.y_label, canvas.label_size(), H - 2 * pad), grid.x - (left - pad),
                grid.y + grid.h / 2, canvas.label_size(), HAlign::Center, VAlign::Top, -std::numbers::pi / 2);
  canvas.draw_color_bar(bar, grid.right(), grid.y, grid.h);
  canvas.draw_title(h.title, grid.x + grid.w / 2);
  canvas.save_png(out);
  return {grid, Axis{0, double(h.columns)}, Axis{double(h.rows), 0}};
}

}  // namespace c2s::plot
