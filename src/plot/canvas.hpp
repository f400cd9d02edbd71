// The drawing surface the charts share: text, the frame of an x-y chart with
// ticks and labels, colour bars, legends, and the atomic PNG write.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/atomic_output.hpp"
#include "plot/axis.hpp"
#include "plot/chart_frame.hpp"
#include "plot/colormap.hpp"

// Cairo's own declarations, so that this header needs no cairo include path.
typedef struct _cairo cairo_t;
typedef struct _cairo_surface cairo_surface_t;

namespace c2s::plot {

enum class HAlign { Left, Center, Right };
enum class VAlign { Top, Middle, Baseline, Bottom };

// Text and axes in near-black, which prints softer than pure black.
inline constexpr Rgb kInk = Rgb::hex(0x262626);

struct LegendEntry {
  enum class Swatch { Line, DashedLine, Dot, Ring, Box };
  std::string label;
  Rgb color;
  Swatch swatch = Swatch::Line;
};

struct ColorBar {
  Axis axis;  // values from the bottom of the bar to its top
  Colormap colormap = Colormap::Viridis;
  std::string label;
};

// An x-y chart's plot area and the ticks its axes carry.
struct XYLayout {
  PlotArea area;
  std::vector<Tick> x_ticks, y_ticks;
};

class Canvas {
 public:
  // A white width x height image; errors name `path`, the file being made.
  Canvas(int width, int height, const std::string& path);
  ~Canvas();
  Canvas(const Canvas&) = delete;
  Canvas& operator=(const Canvas&) = delete;

  cairo_t* cr() const { return cr_; }
  int width() const { return width_; }
  int height() const { return height_; }
  // Text sizes and line widths grow with the image, so that 1600x1200 looks
  // like 800x600 at twice the resolution.
  double scale() const { return scale_; }
  double title_size() const { return 17 * scale_; }
  double label_size() const { return 14 * scale_; }
  double tick_size() const { return 12 * scale_; }
  double pad() const { return 12 * scale_; }
  double tick_length() const { return 5 * scale_; }

  void set_color(Rgb color, double alpha = 1);
  void set_line(double width, bool dashed = false);

  double text_width(std::string_view text, double size, bool bold = false) const;
  // `angle` in radians, clockwise; -pi/2 reads bottom to top.
  void text(std::string_view text, double x, double y, double size, HAlign h, VAlign v, double angle = 0,
            Rgb color = kInk, bool bold = false);
  // `text` shortened with an ellipsis where it is wider than `max_width`;
  // names lose their middle, as they often differ only at the end
  // ("cluster 12", "CD4+ T cell, naive").
  enum class Cut { End, Middle };
  std::string fit_text(const std::string& text, double size, double max_width, Cut cut = Cut::End) const;

  // Space above the plot area: the title's, or a little padding without one.
  double top_margin(const std::string& title) const;
  void draw_title(const std::string& title, double center_x);
  void draw_no_data(const Rect& area);

  // Margins fitted to the title, tick and axis labels; `right_reserve` pixels
  // right of the plot area stay free for a colour bar or a legend.
  XYLayout layout_xy(const ChartFrame& frame, const Axis& x, const Axis& y, double right_reserve) const;
  // The grid goes under the data, the axes over it.
  void draw_grid(const XYLayout& layout);
  void draw_axes(const XYLayout& layout, const ChartFrame& frame);

  // A colour bar `bar_height` tall left-aligned at x: its width with labels,
  // and the drawing.
  double color_bar_width(const ColorBar& bar, double bar_height) const;
  void draw_color_bar(const ColorBar& bar, double x, double top, double bar_height);

  // A legend taller than `max_height` is laid out in several columns.
  struct LegendShape {
    std::size_t columns = 1, rows = 0;
    double column_width = 0, width = 0, height = 0;
    double label_width = 0;  // longer labels lose their middle
  };
  LegendShape legend_shape(const std::vector<LegendEntry>& entries, double max_height = 1e9) const;
  void draw_legend(const std::vector<LegendEntry>& entries, double x, double y, double max_height = 1e9);
  // Long or wide legends go beside the plot area, not over the data: the
  // width to keep free right of a plot area `plot_height` tall (0: inside).
  double legend_reserve(const std::vector<LegendEntry>& entries, double plot_height) const;
  // Beside the plot area from `outside_x` when legend_reserve kept room;
  // otherwise in the corner of `area` (upper right, upper left, lower right,
  // lower left, in that preference) hiding the least data marked so far.
  void place_legend(const std::vector<LegendEntry>& entries, const Rect& area, double outside_x);

  // Records that data was drawn at pixel (x, y), for legend placement.
  void mark_ink(double x, double y, double weight = 1);

  // Row-major premultiplied ARGB pixels (see `argb`) stretched over `area`;
  // `smooth` interpolates between them, otherwise each stays a sharp block.
  void paint_pixels(const std::vector<std::uint32_t>& pixels, int columns, int rows, const Rect& area, bool smooth);
  static std::uint32_t argb(Rgb color, double alpha = 1);

  // Writes the PNG to the output's temporary file and renames it into place.
  void save_png(AtomicOutput& out);

 private:
  void select_font(double size, bool bold) const;
  double ink_in(const Rect& r) const;

  int width_, height_;
  double scale_;
  std::string path_;
  cairo_surface_t* surface_ = nullptr;
  cairo_t* cr_ = nullptr;
  // Coarse grid of how much data lies under each kInkCell x kInkCell block.
  static constexpr int kInkCell = 8;
  int ink_columns_, ink_rows_;
  std::vector<double> ink_;
};

}  // namespace c2s::plot
