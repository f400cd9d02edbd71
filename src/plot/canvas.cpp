// Cairo drawing shared by all charts: text, axes, colour bars, legends and
// the PNG write.
#include "plot/canvas.hpp"

#include <cairo.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#include "core/error.hpp"

namespace c2s::plot {

namespace {

constexpr const char* kFont = "DejaVu Sans";
constexpr Rgb kGrid = Rgb::hex(0xe6e6e6);
constexpr Rgb kMuted = Rgb::hex(0x8c8c8c);

// DejaVu Sans metrics as fractions of the font size: the height of capitals
// and digits (for centring labels on ticks) and the depth of descenders.
constexpr double kCapHeight = 0.73;
constexpr double kAscent = 0.76;
constexpr double kDescent = 0.24;

// Cairo puts its context in an error state, and stops drawing, on invalid
// UTF-8; labels from data files may be Latin-1, so bad bytes become U+FFFD.
std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const std::size_t length = byte < 0x80           ? 1
                               : (byte >> 5) == 0x6  ? 2
                               : (byte >> 4) == 0xE  ? 3
                               : (byte >> 3) == 0x1E ? 4
                                                     : 0;
    bool ok = length > 0 && i + length <= text.size() && (byte != 0xC0 && byte != 0xC1);
    for (std::size_t k = 1; ok && k < length; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\uFFFD";
      ++i;
    }
  }
  return out;
}

}  // namespace

Canvas::Canvas(int width, int height, const std::string& path) : width_(width), height_(height), path_(path) {
  if (width < 100 || height < 100 || width > 16384 || height > 16384)
    throw Error(path, "chart size " + std::to_string(width) + "x" + std::to_string(height) +
                          " is outside 100 to 16384 pixels");
  scale_ = std::clamp(std::min(width / 800.0, height / 600.0), 0.6, 4.0);
  surface_ = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width, height);
  if (cairo_surface_status(surface_) != CAIRO_STATUS_SUCCESS) {
    std::string why = cairo_status_to_string(cairo_surface_status(surface_));
    cairo_surface_destroy(surface_);
    throw Error(path, "cannot create a " + std::to_string(width) + "x" + std::to_string(height) + " image: " + why);
  }
  cr_ = cairo_create(surface_);
  cairo_font_options_t* options = cairo_font_options_create();
  // Unhinted metrics: text widths then scale exactly with the font size.
  cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
  cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY);
  cairo_set_font_options(cr_, options);
  cairo_font_options_destroy(options);
  cairo_set_source_rgb(cr_, 1, 1, 1);
  cairo_paint(cr_);
  ink_columns_ = (width + kInkCell - 1) / kInkCell;
  ink_rows_ = (height + kInkCell - 1) / kInkCell;
  ink_.assign(std::size_t(ink_columns_) * ink_rows_, 0.0);
}

Canvas::~Canvas() {
  cairo_destroy(cr_);
  cairo_surface_destroy(surface_);
}

void Canvas::set_color(Rgb color, double alpha) { cairo_set_source_rgba(cr_, color.r, color.g, color.b, alpha); }

void Canvas::set_line(double width, bool dashed) {
  cairo_set_line_width(cr_, width);
  if (dashed) {
    const double dash[] = {6 * scale_, 4 * scale_};
    cairo_set_dash(cr_, dash, 2, 0);
  } else {
    cairo_set_dash(cr_, nullptr, 0, 0);
  }
}

void Canvas::select_font(double size, bool bold) const {
  cairo_select_font_face(cr_, kFont, CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr_, size);
}

double Canvas::text_width(std::string_view text, double size, bool bold) const {
  if (text.empty()) return 0;
  select_font(size, bold);
  const std::string s = valid_utf8(text);
  cairo_text_extents_t extents;
  cairo_text_extents(cr_, s.c_str(), &extents);
  return extents.x_advance;
}

void Canvas::text(std::string_view text, double x, double y, double size, HAlign h, VAlign v, double angle, Rgb color,
                  bool bold) {
  if (text.empty()) return;
  const double width = text_width(text, size, bold);
  const double dx = h == HAlign::Left ? 0 : h == HAlign::Center ? -width / 2 : -width;
  double dy = 0;
  switch (v) {
    case VAlign::Top:
      dy = kAscent * size;
      break;
    case VAlign::Middle:
      dy = kCapHeight * size / 2;
      break;
    case VAlign::Baseline:
      dy = 0;
      break;
    case VAlign::Bottom:
      dy = -kDescent * size;
      break;
  }
  const std::string s = valid_utf8(text);
  cairo_save(cr_);
  cairo_translate(cr_, x, y);
  cairo_rotate(cr_, angle);
  cairo_move_to(cr_, dx, dy);
  set_color(color);
  cairo_show_text(cr_, s.c_str());
  cairo_restore(cr_);
}

std::string Canvas::fit_text(const std::string& original, double size, double max_width, Cut cut) const {
  const std::string text = valid_utf8(original);
  if (text_width(text, size) <= max_width) return text;
  // Cut only between UTF-8 characters: starts[i] is where character i begins.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < text.size(); ++i)
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) starts.push_back(i);
  const std::size_t characters = starts.size();
  if (characters == 0) return text;
  auto shortened = [&](std::size_t keep) {
    const std::size_t front = cut == Cut::End ? keep : (keep + 1) / 2, back = keep - front;
    std::string out = text.substr(0, front < characters ? starts[front] : text.size()) + "\u2026";
    if (back > 0) out += text.substr(starts[characters - back]);
    return out;
  };
  // The most characters that still fit.
  std::size_t lo = 0, hi = characters - 1;
  while (lo < hi) {
    const std::size_t mid = (lo + hi + 1) / 2;
    if (text_width(shortened(mid), size) <= max_width)
      lo = mid;
    else
      hi = mid - 1;
  }
  return shortened(lo);
}

double Canvas::top_margin(const std::string& title) const {
  return title.empty() ? pad() + tick_size() * 0.6 : pad() + title_size() * 1.3 + 6 * scale_;
}

void Canvas::draw_title(const std::string& title, double center_x) {
  std::string fitted = fit_text(title, title_size(), width_ - 2 * pad());
  // Centred over the plot area unless that would push it off the image.
  const double half = text_width(fitted, title_size(), true) / 2;
  center_x = std::clamp(center_x, pad() + half, width_ - pad() - half);
  text(fitted, center_x, pad(), title_size(), HAlign::Center, VAlign::Top, 0, kInk, true);
}

void Canvas::draw_no_data(const Rect& area) {
  text("no data", area.x + area.w / 2, area.y + area.h / 2, label_size(), HAlign::Center, VAlign::Middle, 0, kMuted);
}

XYLayout Canvas::layout_xy(const ChartFrame& frame, const Axis& x, const Axis& y, double right_reserve) const {
  const double tick_gap = 4 * scale_, label_gap = 8 * scale_;
  const double axis_label_height = label_size() * 1.1;
  XYLayout layout;
  layout.area.x = x;
  layout.area.y = y;
  Rect& plot = layout.area.rect;
  // Whole pixels keep the frame, grid and density bins crisp.
  plot.y = std::round(top_margin(frame.title));
  const double bottom = pad() + (frame.x_label.empty() ? 0 : axis_label_height + label_gap) +
                        tick_size() * (kAscent + kDescent) + tick_gap + tick_length();
  plot.h = std::max(10.0, std::round(height_ - plot.y - bottom));

  layout.y_ticks = y.ticks(std::clamp(int(plot.h / (tick_size() * 4.5)), 2, 12));
  double y_label_width = 0;
  for (const Tick& t : layout.y_ticks) y_label_width = std::max(y_label_width, text_width(t.label, tick_size()));
  double left =
      pad() + (frame.y_label.empty() ? 0 : axis_label_height + label_gap) + y_label_width + tick_gap + tick_length();
  double right = pad() + right_reserve;

  // Two rounds: the first x ticks show how far their labels overhang the
  // plot area's ends, the second fits the margins to that.
  for (int round = 0; round < 2; ++round) {
    plot.x = std::round(left);
    plot.w = std::max(10.0, std::round(width_ - plot.x - right));
    const int most = std::clamp(int(plot.w / (tick_size() * 5.5)), 2, 15);
    for (int count = most; count >= 2; --count) {
      layout.x_ticks = x.ticks(count);
      bool crowded = false;
      for (std::size_t i = 1; i < layout.x_ticks.size() && !crowded; ++i) {
        const double space = (x.fraction(layout.x_ticks[i].value) - x.fraction(layout.x_ticks[i - 1].value)) * plot.w;
        const double need = (text_width(layout.x_ticks[i].label, tick_size()) +
                             text_width(layout.x_ticks[i - 1].label, tick_size())) /
                                2 +
                            tick_size();
        crowded = space < need;
      }
      if (!crowded) break;
    }
    if (layout.x_ticks.empty()) break;
    const Tick& first = layout.x_ticks.front();
    const Tick& last = layout.x_ticks.back();
    const double left_overhang = text_width(first.label, tick_size()) / 2 - x.fraction(first.value) * plot.w;
    const double right_overhang = text_width(last.label, tick_size()) / 2 - (1 - x.fraction(last.value)) * plot.w;
    // Tick labels hang below the plot area, so they may reach under a colour bar or legend.
    const double need_left = 0.75 * pad() + left_overhang;
    const double need_right = std::max(pad() + right_reserve, 0.75 * pad() + right_overhang);
    if (need_left <= left && need_right <= right) break;
    left = std::max(left, need_left);
    right = std::max(right, need_right);
  }
  return layout;
}

void Canvas::draw_grid(const XYLayout& layout) {
  const Rect& r = layout.area.rect;
  set_color(kGrid);
  set_line(1 * scale_);
  for (const Tick& t : layout.x_ticks) {
    const double px = std::round(layout.area.x_pixel(t.value)) + 0.5;
    cairo_move_to(cr_, px, r.y);
    cairo_line_to(cr_, px, r.bottom());
  }
  for (const Tick& t : layout.y_ticks) {
    const double py = std::round(layout.area.y_pixel(t.value)) + 0.5;
    cairo_move_to(cr_, r.x, py);
    cairo_line_to(cr_, r.right(), py);
  }
  cairo_stroke(cr_);
}

void Canvas::draw_axes(const XYLayout& layout, const ChartFrame& frame) {
  const Rect& r = layout.area.rect;
  const double tick_gap = 4 * scale_;
  set_color(kInk);
  set_line(std::max(1.0, 1 * scale_));
  cairo_rectangle(cr_, std::round(r.x) + 0.5, std::round(r.y) + 0.5, std::round(r.w), std::round(r.h));
  for (const Tick& t : layout.x_ticks) {
    const double px = std::round(layout.area.x_pixel(t.value)) + 0.5;
    cairo_move_to(cr_, px, r.bottom());
    cairo_line_to(cr_, px, r.bottom() + tick_length());
  }
  for (const Tick& t : layout.y_ticks) {
    const double py = std::round(layout.area.y_pixel(t.value)) + 0.5;
    cairo_move_to(cr_, r.x, py);
    cairo_line_to(cr_, r.x - tick_length(), py);
  }
  cairo_stroke(cr_);
  for (const Tick& t : layout.x_ticks)
    text(t.label, layout.area.x_pixel(t.value), r.bottom() + tick_length() + tick_gap, tick_size(), HAlign::Center,
         VAlign::Top);
  for (const Tick& t : layout.y_ticks)
    text(t.label, r.x - tick_length() - tick_gap, layout.area.y_pixel(t.value), tick_size(), HAlign::Right,
         VAlign::Middle);
  if (!frame.x_label.empty())
    text(fit_text(frame.x_label, label_size(), width_ - 2 * pad()), r.x + r.w / 2, height_ - pad(), label_size(),
         HAlign::Center, VAlign::Bottom);
  if (!frame.y_label.empty())
    text(fit_text(frame.y_label, label_size(), height_ - 2 * pad()), pad(), r.y + r.h / 2, label_size(),
         HAlign::Center, VAlign::Top, -std::numbers::pi / 2);
  draw_title(frame.title, r.x + r.w / 2);
}

namespace {
constexpr double kBarGap = 18, kBarWidth = 16;  // before scaling
}

double Canvas::color_bar_width(const ColorBar& bar, double bar_height) const {
  double labels = 0;
  for (const Tick& t : bar.axis.ticks(std::clamp(int(bar_height / (tick_size() * 4)), 2, 12)))
    labels = std::max(labels, text_width(t.label, tick_size()));
  return (kBarGap + kBarWidth + 4) * scale_ + tick_length() + labels +
         (bar.label.empty() ? 0 : 8 * scale_ + label_size() * 1.1);
}

void Canvas::draw_color_bar(const ColorBar& bar, double x, double top, double bar_height) {
  const Rect r{std::round(x + kBarGap * scale_), std::round(top), std::round(kBarWidth * scale_),
               std::round(bar_height)};
  constexpr int kSteps = 256;
  std::vector<std::uint32_t> pixels(kSteps);
  for (int i = 0; i < kSteps; ++i) pixels[i] = argb(colormap_color(bar.colormap, 1.0 - (i + 0.5) / kSteps));
  paint_pixels(pixels, 1, kSteps, r, true);
  set_color(kInk);
  set_line(std::max(1.0, 1 * scale_));
  cairo_rectangle(cr_, r.x + 0.5, r.y + 0.5, r.w, r.h);
  const auto ticks = bar.axis.ticks(std::clamp(int(bar_height / (tick_size() * 4)), 2, 12));
  double labels = 0;
  for (const Tick& t : ticks) {
    const double py = std::round(r.bottom() - bar.axis.fraction(t.value) * r.h) + 0.5;
    cairo_move_to(cr_, r.right(), py);
    cairo_line_to(cr_, r.right() + tick_length(), py);
    labels = std::max(labels, text_width(t.label, tick_size()));
  }
  cairo_stroke(cr_);
  const double label_x = r.right() + tick_length() + 4 * scale_;
  for (const Tick& t : ticks)
    text(t.label, label_x, r.bottom() - bar.axis.fraction(t.value) * r.h, tick_size(), HAlign::Left, VAlign::Middle);
  if (!bar.label.empty())
    text(fit_text(bar.label, label_size(), bar_height), label_x + labels + 8 * scale_, r.y + r.h / 2, label_size(),
         HAlign::Center, VAlign::Top, -std::numbers::pi / 2);
}

namespace {
constexpr double kSwatchWidth = 26, kSwatchGap = 7, kLegendPad = 8, kRowHeight = 1.5, kLegendGap = 12;
}

Canvas::LegendShape Canvas::legend_shape(const std::vector<LegendEntry>& entries, double max_height) const {
  LegendShape shape;
  if (entries.empty()) return shape;
  const double row = kRowHeight * tick_size();
  const auto fitting_rows = std::size_t(std::max(1.0, std::floor((max_height - 2 * kLegendPad * scale_) / row)));
  shape.columns = (entries.size() + fitting_rows - 1) / fitting_rows;
  shape.rows = (entries.size() + shape.columns - 1) / shape.columns;
  shape.label_width = width_ * 0.4 / shape.columns;
  double labels = 0;
  for (const LegendEntry& e : entries)
    labels =
        std::max(labels, text_width(fit_text(e.label, tick_size(), shape.label_width, Cut::Middle), tick_size()));
  shape.column_width = (kSwatchWidth + kSwatchGap) * scale_ + labels;
  const double column_gap = 14 * scale_;
  shape.width = 2 * kLegendPad * scale_ + shape.columns * shape.column_width + (shape.columns - 1) * column_gap;
  shape.height = 2 * kLegendPad * scale_ + shape.rows * row - 0.3 * tick_size();
  return shape;
}

double Canvas::legend_reserve(const std::vector<LegendEntry>& entries, double plot_height) const {
  if (entries.size() <= 8 && legend_shape(entries).width <= 0.3 * width_) return 0;
  return kLegendGap * scale_ + legend_shape(entries, plot_height).width;
}

void Canvas::draw_legend(const std::vector<LegendEntry>& entries, double x, double y, double max_height) {
  if (entries.empty()) return;
  const LegendShape shape = legend_shape(entries, max_height);
  const double w = shape.width, h = shape.height, s = scale_;
  cairo_new_path(cr_);
  const double radius = 3 * s;
  cairo_arc(cr_, x + w - radius, y + radius, radius, -std::numbers::pi / 2, 0);
  cairo_arc(cr_, x + w - radius, y + h - radius, radius, 0, std::numbers::pi / 2);
  cairo_arc(cr_, x + radius, y + h - radius, radius, std::numbers::pi / 2, std::numbers::pi);
  cairo_arc(cr_, x + radius, y + radius, radius, std::numbers::pi, 3 * std::numbers::pi / 2);
  cairo_close_path(cr_);
  cairo_set_source_rgba(cr_, 1, 1, 1, 0.88);
  cairo_fill_preserve(cr_);
  set_color(Rgb::hex(0xcccccc));
  set_line(std::max(1.0, s));
  cairo_stroke(cr_);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const LegendEntry& e = entries[i];
    const std::size_t column = i / shape.rows, row = i % shape.rows;
    const double cy = y + kLegendPad * s + (row + 0.5) * kRowHeight * tick_size() - 0.15 * tick_size();
    const double sx = x + kLegendPad * s + column * (shape.column_width + 14 * s);
    set_color(e.color);
    switch (e.swatch) {
      case LegendEntry::Swatch::Line:
      case LegendEntry::Swatch::DashedLine:
        set_line(2.2 * s, e.swatch == LegendEntry::Swatch::DashedLine);
        cairo_move_to(cr_, sx, cy);
        cairo_line_to(cr_, sx + kSwatchWidth * s, cy);
        cairo_stroke(cr_);
        set_line(s);
        break;
      case LegendEntry::Swatch::Dot:
        cairo_arc(cr_, sx + kSwatchWidth * s / 2, cy, 4.5 * s, 0, 2 * std::numbers::pi);
        cairo_fill(cr_);
        break;
      case LegendEntry::Swatch::Ring:
        set_line(1.6 * s);
        cairo_new_sub_path(cr_);  // no line from the current point
        cairo_arc(cr_, sx + kSwatchWidth * s / 2, cy, 4.5 * s, 0, 2 * std::numbers::pi);
        cairo_stroke(cr_);
        set_line(s);
        break;
      case LegendEntry::Swatch::Box:
        cairo_rectangle(cr_, sx + kSwatchWidth * s / 2 - 6 * s, cy - 6 * s, 12 * s, 12 * s);
        cairo_fill(cr_);
        break;
    }
    text(fit_text(e.label, tick_size(), shape.label_width, Cut::Middle), sx + (kSwatchWidth + kSwatchGap) * s, cy,
         tick_size(), HAlign::Left, VAlign::Middle);
  }
}

void Canvas::mark_ink(double x, double y, double weight) {
  if (!(x >= 0 && y >= 0 && x < width_ && y < height_)) return;
  ink_[std::size_t(y / kInkCell) * ink_columns_ + std::size_t(x / kInkCell)] += weight;
}

double Canvas::ink_in(const Rect& r) const {
  const int c0 = std::max(0, int(r.x / kInkCell)), c1 = std::min(ink_columns_ - 1, int(r.right() / kInkCell));
  const int r0 = std::max(0, int(r.y / kInkCell)), r1 = std::min(ink_rows_ - 1, int(r.bottom() / kInkCell));
  double sum = 0;
  for (int row = r0; row <= r1; ++row)
    for (int col = c0; col <= c1; ++col) sum += ink_[std::size_t(row) * ink_columns_ + col];
  return sum;
}

void Canvas::place_legend(const std::vector<LegendEntry>& entries, const Rect& area, double outside_x) {
  if (entries.empty()) return;
  if (legend_reserve(entries, area.h) > 0) {
    draw_legend(entries, outside_x + kLegendGap * scale_, area.y, area.h);
    return;
  }
  const LegendShape shape = legend_shape(entries, area.h - 16 * scale_);
  const double w = shape.width, h = shape.height, inset = 8 * scale_;
  const double left = area.x + inset, right = area.right() - inset - w;
  const double top = area.y + inset, bottom = area.bottom() - inset - h;
  const Rect corners[] = {{right, top, w, h}, {left, top, w, h}, {right, bottom, w, h}, {left, bottom, w, h}};
  const Rect* best = &corners[0];
  double least = ink_in(corners[0]);
  for (const Rect& c : corners) {
    const double ink = ink_in(c);
    if (ink < least) least = ink, best = &c;
  }
  draw_legend(entries, best->x, best->y, area.h - 16 * scale_);
}

std::uint32_t Canvas::argb(Rgb color, double alpha) {
  auto channel = [&](double v) { return std::uint32_t(std::lround(std::clamp(v * alpha, 0.0, 1.0) * 255)); };
  const std::uint32_t a = std::uint32_t(std::lround(std::clamp(alpha, 0.0, 1.0) * 255));
  return a << 24 | channel(color.r) << 16 | channel(color.g) << 8 | channel(color.b);
}

void Canvas::paint_pixels(const std::vector<std::uint32_t>& pixels, int columns, int rows, const Rect& area,
                          bool smooth) {
  if (columns <= 0 || rows <= 0) return;
  cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, columns, rows);
  if (cairo_surface_status(image) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(image);
    throw Error(path_, "cannot create a " + std::to_string(columns) + "x" + std::to_string(rows) + " image");
  }
  cairo_surface_flush(image);
  unsigned char* data = cairo_image_surface_get_data(image);
  const int stride = cairo_image_surface_get_stride(image);
  for (int row = 0; row < rows; ++row)
    std::memcpy(data + std::size_t(row) * stride, pixels.data() + std::size_t(row) * columns,
                std::size_t(columns) * sizeof(std::uint32_t));
  cairo_surface_mark_dirty(image);
  cairo_save(cr_);
  cairo_rectangle(cr_, area.x, area.y, area.w, area.h);
  cairo_clip(cr_);
  cairo_translate(cr_, area.x, area.y);
  cairo_scale(cr_, area.w / columns, area.h / rows);
  cairo_set_source_surface(cr_, image, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr_), smooth ? CAIRO_FILTER_BILINEAR : CAIRO_FILTER_NEAREST);
  // Without padding, smooth scaling would fade the outermost pixels to transparent.
  cairo_pattern_set_extend(cairo_get_source(cr_), CAIRO_EXTEND_PAD);
  cairo_paint(cr_);
  cairo_restore(cr_);
  cairo_surface_destroy(image);
}

void Canvas::save_png(AtomicOutput& out) {
  if (cairo_status(cr_) != CAIRO_STATUS_SUCCESS)
    throw Error(out.target().string(),
                std::string("cannot draw the chart: ") + cairo_status_to_string(cairo_status(cr_)));
  cairo_surface_flush(surface_);
  const cairo_status_t status = cairo_surface_write_to_png(surface_, out.temp_path().c_str());
  if (status != CAIRO_STATUS_SUCCESS)
    throw Error(out.target().string(), std::string("cannot write PNG: ") + cairo_status_to_string(status));
  out.commit();
}

}  // namespace c2s::plot
