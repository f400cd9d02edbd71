// Line charts written as PNG and read back: series colours along their
// paths, log axes, gaps, degenerate input and errors.
#include "plot/line_chart.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "png_image.hpp"

namespace c2s::plot {
namespace {

using test::close_to;
using test::PngImage;
using test::ScratchDir;

TEST(LineChart, LossCurvesOnALogAxis) {
  ScratchDir dir;
  std::vector<double> steps, train, val_steps, val;
  for (int i = 0; i <= 2000; i += 10) {
    steps.push_back(i);
    train.push_back(3.0 * std::exp(-i / 400.0) + 0.4 + 0.05 * std::sin(i * 0.37));
  }
  for (int i = 0; i <= 2000; i += 250) {
    val_steps.push_back(i);
    val.push_back(3.1 * std::exp(-i / 450.0) + 0.5);
  }
  LineChart chart;
  chart.title = "Training loss";
  chart.x_label = "step";
  chart.y_label = "cross-entropy loss";
  chart.log_y = true;
  chart.series.emplace_back("training", steps, train);
  chart.series.emplace_back("validation", val_steps, val);
  chart.series.back().markers = true;
  const std::string path = dir.file("loss.png");
  const PlotArea area = write_png(chart, path);

  PngImage png(path);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width(), 800);
  EXPECT_EQ(png.height(), 600);
  EXPECT_TRUE(area.y.log);
  int hits = 0;
  for (std::size_t i = 5; i < steps.size(); i += 20)
    hits += png.near(close_to(category_color(0), 0.1), area.x_pixel(steps[i]), area.y_pixel(train[i]), 2);
  EXPECT_GE(hits, 7);
  for (std::size_t i = 0; i < val.size(); ++i)
    EXPECT_TRUE(png.near(close_to(category_color(1), 0.1), area.x_pixel(val_steps[i]), area.y_pixel(val[i]), 2)) << i;
}

TEST(LineChart, GapsImplicitXAndSinglePoints) {
  ScratchDir dir;
  std::vector<float> y = {1, 2, NAN, 4, 5, INFINITY, 3};  // the 3 stands alone
  std::vector<double> lone = {2.5};
  LineChart chart;
  chart.series.emplace_back("with gaps", y);
  chart.series.emplace_back("one point", lone);
  chart.series.back().color = Rgb::hex(0x2ca02c);
  const PlotArea area = write_png(chart, dir.file("gaps.png"));
  EXPECT_EQ(area.x.lo, 0);
  EXPECT_EQ(area.x.hi, 6);
  PngImage png(dir.file("gaps.png"));
  EXPECT_TRUE(png.near(close_to(category_color(0), 0.1), area.x_pixel(6), area.y_pixel(3), 2));
  EXPECT_TRUE(png.near(close_to(Rgb::hex(0x2ca02c), 0.1), area.x_pixel(0), area.y_pixel(2.5), 2));
  // No line across the gap: halfway between points 1 and 3 the series' colour is absent.
  EXPECT_FALSE(png.near(close_to(category_color(0), 0.25), area.x_pixel(2), area.y_pixel(3), 1));
}

TEST(LineChart, DegenerateInputDoesNotCrash) {
  ScratchDir dir;
  LineChart empty;
  empty.title = "nothing yet";
  EXPECT_NO_THROW(write_png(empty, dir.file("empty.png")));
  EXPECT_TRUE(PngImage(dir.file("empty.png")).ok());

  std::vector<double> flat(10, 0.7), negative = {-1, -2, 0};
  LineChart chart;
  chart.series.emplace_back("flat", flat);
  chart.series.emplace_back("not on a log axis", negative);
  chart.log_y = true;
  const PlotArea area = write_png(chart, dir.file("flat.png"));
  EXPECT_LT(area.y.lo, 0.7);
  EXPECT_GT(area.y.hi, 0.7);

  chart.y_limits = {{0, 1}};  // 0 cannot be on a log axis
  EXPECT_NO_THROW(write_png(chart, dir.file("bad_limits.png")));
}

TEST(LineChart, MismatchedSeriesThrowNamingFileAndSeries) {
  ScratchDir dir;
  std::vector<double> x = {1, 2, 3}, y = {1, 2};
  LineChart chart;
  chart.series.emplace_back("validation", x, y);
  try {
    write_png(chart, dir.file("bad.png"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(dir.file("bad.png")), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("validation"), std::string::npos) << e.what();
  }
  EXPECT_THROW(write_png(LineChart{}, dir.file("missing/folder.png")), Error);
}

TEST(LineChart, ManySeriesMoveTheLegendOutside) {
  ScratchDir dir;
  std::vector<std::vector<double>> ys(12);
  LineChart chart;
  chart.title = "Per-cell-type accuracy";
  chart.x_label = "epoch";
  chart.y_label = "accuracy";
  for (std::size_t k = 0; k < ys.size(); ++k) {
    for (int e = 0; e < 10; ++e) ys[k].push_back(0.5 + 0.4 * (1 - std::exp(-e / (1.0 + k))));
    chart.series.emplace_back("cell type " + std::to_string(k), ys[k]);
  }
  const PlotArea area = write_png(chart, dir.file("many_series.png"));
  // The legend beside the plot area shows the last series' colour.
  PngImage png(dir.file("many_series.png"));
  EXPECT_GT(png.count(close_to(category_color(11), 0.05), area.rect.right() + 4, 0, png.width(), png.height()), 20u);
}

}  // namespace
}  // namespace c2s::plot
