// Heatmaps written as PNG and read back: cell colours, labels, NaN cells,
// degenerate input and errors.
#include "plot/heatmap.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "png_image.hpp"

namespace c2s::plot {
namespace {

using test::close_to;
using test::PngImage;
using test::ScratchDir;

Heatmap confusion_matrix() {
  Heatmap h;
  h.title = "Cell type annotation";
  h.x_label = "predicted";
  h.y_label = "true";
  h.rows = h.columns = 4;
  h.values = {812, 31,  4,   0,   //
              45,  603, 12,  3,   //
              2,   18,  455, 40,  //
              0,   7,   52,  230};
  h.row_labels = h.column_labels = {"B cell", "CD4+ T cell", "CD8+ T cell", "NK cell"};
  h.colorbar_label = "cells";
  return h;
}

// The colour near a cell's top-left corner, clear of the number in its middle.
Rgb corner_of(const PngImage& png, const PlotArea& area, std::size_t row, std::size_t column) {
  return png.pixel(int(area.x_pixel(column)) + 3, int(area.y_pixel(row)) + 3);
}

TEST(Heatmap, ConfusionMatrixCellsTakeColormapColours) {
  ScratchDir dir;
  const Heatmap h = confusion_matrix();
  const std::string path = dir.file("confusion.png");
  const PlotArea area = write_png(h, path);
  PngImage png(path);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width(), 800);
  EXPECT_EQ(png.height(), 600);
  EXPECT_NEAR(area.rect.w, area.rect.h, 4);  // square cells
  EXPECT_TRUE(close_to(colormap_color(Colormap::Viridis, 1), 0.02)(corner_of(png, area, 0, 0)));
  EXPECT_TRUE(close_to(colormap_color(Colormap::Viridis, 0), 0.02)(corner_of(png, area, 0, 3)));
  EXPECT_TRUE(close_to(colormap_color(Colormap::Viridis, 455.0 / 812), 0.02)(corner_of(png, area, 2, 2)));
  // White numbers on the dark cells, dark ones on the bright diagonal.
  const Rect dark_cell{area.x_pixel(3), area.y_pixel(0), area.rect.w / 4, area.rect.h / 4};
  EXPECT_GT(png.count(close_to({1, 1, 1}, 0.1), dark_cell), 10u);
  const Rect bright_cell{area.x_pixel(0), area.y_pixel(0), area.rect.w / 4, area.rect.h / 4};
  EXPECT_GT(png.count([](Rgb c) { return luminance(c) < 0.05; }, bright_cell), 10u);
}

TEST(Heatmap, FractionsWithBluesAndAFormat) {
  ScratchDir dir;
  Heatmap h = confusion_matrix();
  for (std::size_t r = 0; r < 4; ++r) {
    double sum = 0;
    for (std::size_t c = 0; c < 4; ++c) sum += h.values[r * 4 + c];
    for (std::size_t c = 0; c < 4; ++c) h.values[r * 4 + c] /= sum;
  }
  h.colormap = Colormap::Blues;
  h.value_format = "{:.2f}";
  h.vmin = 0;
  h.vmax = 1;
  h.colorbar_label = "fraction of true type";
  const PlotArea area = write_png(h, dir.file("fractions.png"));
  PngImage png(dir.file("fractions.png"));
  EXPECT_TRUE(close_to(colormap_color(Colormap::Blues, h.values[0]), 0.02)(corner_of(png, area, 0, 0)));
  EXPECT_TRUE(close_to(colormap_color(Colormap::Blues, 0), 0.02)(corner_of(png, area, 0, 3)));
}

TEST(Heatmap, NanCellsAreGreyAndEqualValuesDoNotCrash) {
  ScratchDir dir;
  Heatmap h;
  h.rows = 2, h.columns = 3;
  h.values = {1, NAN, 1, 1, 1, 1};
  const PlotArea area = write_png(h, dir.file("nan.png"));
  PngImage png(dir.file("nan.png"));
  EXPECT_TRUE(close_to(Rgb::hex(0xd9d9d9), 0.02)(corner_of(png, area, 0, 1)));

  h.values.assign(6, NAN);
  EXPECT_NO_THROW(write_png(h, dir.file("all_nan.png")));
  Heatmap empty;
  empty.title = "no cells";
  EXPECT_NO_THROW(write_png(empty, dir.file("empty.png")));
  EXPECT_TRUE(PngImage(dir.file("empty.png")).ok());
}

TEST(Heatmap, ManyCellsWithLongLabels) {
  ScratchDir dir;
  Heatmap h;
  h.title = "Gene programme scores";
  h.rows = 60, h.columns = 80;
  for (std::size_t i = 0; i < h.rows * h.columns; ++i) h.values.push_back(std::sin(i * 0.05) * (i % 17));
  for (std::size_t r = 0; r < h.rows; ++r) h.row_labels.push_back("programme " + std::to_string(r));
  for (std::size_t c = 0; c < h.columns; ++c)
    h.column_labels.push_back("a rather long cluster name number " + std::to_string(c));
  h.square_cells = false;
  const PlotArea area = write_png(h, dir.file("large_heatmap.png"));
  EXPECT_GT(area.rect.w, 300);
  EXPECT_TRUE(PngImage(dir.file("large_heatmap.png")).ok());
}

TEST(Heatmap, InvalidUtf8LabelsAreDrawnNotFatal) {
  ScratchDir dir;
  Heatmap h = confusion_matrix();
  h.row_labels[1] = "Schwann\xe9 cell";  // Latin-1, not UTF-8
  h.column_labels[2] = "\xff\xfe";
  const PlotArea area = write_png(h, dir.file("latin1.png"));
  PngImage png(dir.file("latin1.png"));
  // Drawing went on after the bad labels: the colour bar is there.
  EXPECT_GT(png.count(close_to(colormap_color(Colormap::Viridis, 1), 0.05), area.rect.right() + 5, area.rect.y,
                      png.width(), area.rect.bottom()),
            50u);
}

TEST(Heatmap, TinyCellsArePaintedAsAnImage) {
  ScratchDir dir;
  Heatmap h;
  h.rows = 400, h.columns = 1000;
  for (std::size_t r = 0; r < h.rows; ++r)
    for (std::size_t c = 0; c < h.columns; ++c) h.values.push_back(double(c));
  const PlotArea area = write_png(h, dir.file("tiny_cells.png"));
  PngImage png(dir.file("tiny_cells.png"));
  // Columns run from the low to the high end of the colormap.
  const int y = int(area.rect.y + area.rect.h / 2);
  EXPECT_TRUE(close_to(colormap_color(Colormap::Viridis, 0), 0.03)(png.pixel(int(area.rect.x) + 2, y)));
  EXPECT_TRUE(close_to(colormap_color(Colormap::Viridis, 1), 0.03)(png.pixel(int(area.rect.right()) - 3, y)));
}

TEST(Heatmap, BadInputThrowsNamingTheFile) {
  ScratchDir dir;
  const std::string path = dir.file("bad.png");
  Heatmap h = confusion_matrix();
  h.values.pop_back();
  try {
    write_png(h, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("15 values for 4 x 4 cells"), std::string::npos) << e.what();
  }
  h = confusion_matrix();
  h.row_labels.pop_back();
  EXPECT_THROW(write_png(h, path), Error);
  h = confusion_matrix();
  h.value_format = "{:.2q}";
  EXPECT_THROW(write_png(h, path), Error);
  EXPECT_THROW(write_png(confusion_matrix(), dir.file("missing/heatmap.png")), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
}

}  // namespace
}  // namespace c2s::plot
