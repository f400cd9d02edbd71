// What every chart has around its data (size, title, axis labels) and where
// a written chart put its plot area, to map data values to pixels.
#pragma once
#include <string>

#include "plot/axis.hpp"

namespace c2s::plot {

struct ChartFrame {
  std::string title;
  std::string x_label, y_label;
  int width = 800, height = 600;  // pixels; text and lines scale with the size
};

struct Rect {
  double x = 0, y = 0, w = 0, h = 0;
  double right() const { return x + w; }
  double bottom() const { return y + h; }
};

// The rectangle the data was drawn in and the axes spanning it. For heatmaps
// x runs over [0, columns] and y over [rows, 0], so cell (r, c) has its
// top-left corner at (x_pixel(c), y_pixel(r)).
struct PlotArea {
  Rect rect;
  Axis x, y;
  double x_pixel(double value) const { return rect.x + x.fraction(value) * rect.w; }
  double y_pixel(double value) const { return rect.y + (1 - y.fraction(value)) * rect.h; }
};

}  // namespace c2s::plot
