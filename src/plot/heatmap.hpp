// Heatmaps with row and column labels, values written in the cells and a
// colour bar, e.g. confusion matrices of counts or fractions.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "plot/chart_frame.hpp"
#include "plot/colormap.hpp"

namespace c2s::plot {

struct Heatmap : ChartFrame {
  std::size_t rows = 0, columns = 0;
  std::vector<double> values;                          // rows x columns, row by row; NaN cells are grey and blank
  std::vector<std::string> row_labels, column_labels;  // empty, or one per row / column

  bool annotate = true;  // write each cell's value in it, where the text fits
  // A fmt format such as "{:.2f}"; empty: whole numbers as such, others
  // with 2 decimals (1 from 10 on, none from 100 on).
  std::string value_format;
  Colormap colormap = Colormap::Viridis;
  std::optional<double> vmin, vmax;  // ends of the colour scale; default: the values' range
  std::string colorbar_label;
  bool square_cells = true;
};

// Draws the chart and writes it as a PNG (atomically). Throws c2s::Error
// naming `path` on bad input or an unwritable folder. The returned area has
// x over [0, columns] and y over [rows, 0] (row 0 at the top).
PlotArea write_png(const Heatmap& heatmap, const std::string& path);

}  // namespace c2s::plot
