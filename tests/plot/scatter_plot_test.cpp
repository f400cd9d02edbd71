// Scatter plots written as PNG and read back: density and dots, overlay
// lines, categories, degenerate input and write errors.
#include "plot/scatter_plot.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <random>

#include "core/error.hpp"
#include "png_image.hpp"

namespace c2s::plot {
namespace {

using test::close_to;
using test::inner;
using test::is_white;
using test::on_colormap;
using test::PngImage;
using test::ScratchDir;

constexpr Rgb kFitRed = Rgb::hex(0xd62728);

// y = 0.5 + 0.8 x + noise, with its least-squares fit.
struct Cloud {
  std::vector<float> x, y;
  double intercept = 0, slope = 0;
};

Cloud make_cloud(std::size_t n, unsigned seed = 7) {
  Cloud c;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  c.x.resize(n), c.y.resize(n);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    c.x[i] = 2 * normal(rng);
    c.y[i] = 0.5f + 0.8f * c.x[i] + normal(rng);
    sx += c.x[i], sy += c.y[i], sxx += double(c.x[i]) * c.x[i], sxy += double(c.x[i]) * c.y[i];
  }
  c.slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  c.intercept = (sy - c.slope * sx) / n;
  return c;
}

// Temporary outputs are hidden files beside the target; none may be left.
int hidden_files(const ScratchDir& dir) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    n += entry.path().filename().string().starts_with(".");
  return n;
}

// How many of 9 evenly spaced points of y = a + b x (inside the plot) have the colour nearby.
int line_hits(const PngImage& png, const PlotArea& area, double a, double b, Rgb color) {
  int hits = 0;
  for (int i = 1; i <= 9; ++i) {
    const double x = area.x.lo + (area.x.hi - area.x.lo) * i / 10, y = a + b * x;
    if (y < area.y.lo || y > area.y.hi) continue;
    hits += png.near(close_to(color, 0.08), area.x_pixel(x), area.y_pixel(y), 2);
  }
  return hits;
}

TEST(ScatterPlot, ManyPointsDrawADensityWithColourBarAndFitLine) {
  ScratchDir dir;
  Cloud cloud = make_cloud(200000);
  ScatterPlot plot;
  plot.title = "Predicted vs. measured expression";
  plot.x_label = "measured log1p expression";
  plot.y_label = "predicted";
  plot.x = cloud.x;
  plot.y = cloud.y;
  plot.lines = {OverlayLine::fit(cloud.intercept, cloud.slope, "fit: y = 0.50 + 0.80x"), OverlayLine::identity()};
  const std::string path = dir.file("density.png");
  const PlotArea area = write_png(plot, path);

  PngImage png(path);
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(png.width(), 800);
  EXPECT_EQ(png.height(), 600);
  const double plot_pixels = area.rect.w * area.rect.h;
  EXPECT_GT(png.count([](Rgb c) { return on_colormap(c); }, inner(area.rect)), 0.1 * plot_pixels);
  EXPECT_GE(line_hits(png, area, cloud.intercept, cloud.slope, kFitRed), 7);
  // The colour bar right of the plot area: its top is yellow, its bottom purple.
  const Rect right_side{area.rect.right() + 5, area.rect.y, 60, area.rect.h};
  EXPECT_GT(png.count(close_to(colormap_color(Colormap::Viridis, 1)), right_side), 50u);
  EXPECT_GT(png.count(close_to(colormap_color(Colormap::Viridis, 0)), right_side), 50u);
  EXPECT_EQ(hidden_files(dir), 0);
}

TEST(ScatterPlot, FewPointsDrawDotsColouredByCategory) {
  ScratchDir dir;
  Cloud real = make_cloud(400, 1), generated = make_cloud(400, 2);
  std::vector<double> x, y;
  std::vector<std::int32_t> kind;
  for (std::size_t i = 0; i < 400; ++i) {
    x.push_back(real.x[i]), y.push_back(real.y[i]), kind.push_back(0);
    x.push_back(generated.x[i] + 3), y.push_back(generated.y[i] - 2), kind.push_back(1);
  }
  ScatterPlot plot;
  plot.title = "Embeddings";
  plot.x_label = "UMAP 1";
  plot.y_label = "UMAP 2";
  plot.x = x;
  plot.y = y;
  plot.categories = kind;
  plot.category_names = {"real cells", "generated cells"};
  const std::string path = dir.file("categories.png");
  const PlotArea area = write_png(plot, path);

  PngImage png(path);
  ASSERT_TRUE(png.ok());
  // Dots at alpha 0.85 over white (or over each other, then darker).
  for (std::size_t k = 0; k < 2; ++k) {
    const Rgb dot = mix({1, 1, 1}, category_color(k), 0.85);
    EXPECT_GT(png.count(close_to(dot, 0.1), inner(area.rect)), 500u) << k;
  }
  // A dot is drawn where a point lies.
  EXPECT_FALSE(is_white(png.pixel(int(area.x_pixel(x[0])), int(area.y_pixel(y[0])))));
}

TEST(ScatterPlot, RingsTellASecondGroupApartWithinACategory) {
  ScratchDir dir;
  // Two points far apart, same category: a dot and a ring.
  std::vector<double> x = {0, 10}, y = {0, 10};
  std::vector<std::int32_t> kind = {0, 0};
  std::vector<std::uint8_t> rings = {0, 1};
  ScatterPlot plot;
  plot.x = x;
  plot.y = y;
  plot.categories = kind;
  plot.category_names = {"B cells"};
  plot.rings = rings;
  plot.dot_label = "real";
  plot.ring_label = "generated";
  plot.point_radius = 6;
  const std::string path = dir.file("rings.png");
  const PlotArea area = write_png(plot, path);
  PngImage png(path);
  ASSERT_TRUE(png.ok());
  // The dot is filled at its centre, and fainter than without rings; the
  // ring is hollow there and opaque around it (radius 1.5 x 6 pixels).
  const Rgb dot = png.pixel(int(area.x_pixel(0)), int(area.y_pixel(0)));
  EXPECT_FALSE(is_white(dot));
  EXPECT_TRUE(close_to(mix({1, 1, 1}, category_color(0), 0.425), 0.08)(dot));
  const int rx = int(area.x_pixel(10)), ry = int(area.y_pixel(10));
  EXPECT_TRUE(is_white(png.pixel(rx, ry)));
  EXPECT_TRUE(png.near(close_to(category_color(0), 0.08), rx + 9, ry, 1));
  // A ring flag per point.
  std::vector<std::uint8_t> short_rings = {1};
  plot.rings = short_rings;
  try {
    write_png(plot, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("2 points but 1 ring flags"), std::string::npos) << e.what();
  }
}

TEST(ScatterPlot, ManyCategoriesPutTheLegendBesideThePlot) {
  ScratchDir dir;
  Cloud cloud = make_cloud(3000, 4);
  std::vector<std::int32_t> kind(cloud.x.size());
  ScatterPlot plot;
  plot.title = "Cell types";
  for (std::size_t i = 0; i < kind.size(); ++i) kind[i] = std::int32_t(i % 40);
  for (int k = 0; k < 40; ++k) plot.category_names.push_back("cell type number " + std::to_string(k));
  plot.x = cloud.x;
  plot.y = cloud.y;
  plot.categories = kind;
  const PlotArea area = write_png(plot, dir.file("many_categories.png"));
  PngImage png(dir.file("many_categories.png"));
  // 40 entries take two columns beside the plot area, within the image.
  EXPECT_GT(png.count(close_to(category_color(14), 0.03), area.rect.right() + 4, 0, png.width(), png.height()), 20u);
  EXPECT_GT(area.rect.w, 300);
  EXPECT_EQ(png.count([](Rgb c) { return !test::is_white(c); }, area.rect.right() + 4, area.rect.bottom() + 2,
                      png.width(), png.height()),
            0u);
}

TEST(ScatterPlot, DensityStyleKeepsCategoryColours) {
  ScratchDir dir;
  Cloud a = make_cloud(30000, 3);
  std::vector<float> x = a.x, y = a.y;
  std::vector<std::int32_t> kind(x.size(), 0);
  for (std::size_t i = 0; i < 30000; ++i) x.push_back(a.x[i] + 12), y.push_back(a.y[i]), kind.push_back(1);
  ScatterPlot plot;
  plot.x = x;
  plot.y = y;
  plot.categories = kind;
  plot.category_names = {"real", "generated"};
  const std::string path = dir.file("density_categories.png");
  const PlotArea area = write_png(plot, path);
  PngImage png(path);
  ASSERT_TRUE(png.ok());
  // The densest bins are opaque category colours.
  EXPECT_GT(png.count(close_to(category_color(0), 0.05), inner(area.rect)), 100u);
  EXPECT_GT(png.count(close_to(category_color(1), 0.05), inner(area.rect)), 100u);
}

TEST(ScatterPlot, TensOfMillionsOfPointsAreBinnedFromAFloatSpan) {
  ScratchDir dir;
  const std::size_t n = 5'000'000;
  std::vector<float> x(n), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = float(std::sin(i * 0.001) * (i % 997) / 997.0);
    y[i] = float(std::cos(i * 0.0007) * (i % 991) / 991.0);
  }
  ScatterPlot plot;
  plot.x = std::span<const float>(x);
  plot.y = std::span<const float>(y);
  const auto start = std::chrono::steady_clock::now();
  const PlotArea area = write_png(plot, dir.file("millions.png"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 10.0);
  PngImage png(dir.file("millions.png"));
  EXPECT_GT(png.count([](Rgb c) { return on_colormap(c); }, inner(area.rect)), 0.3 * area.rect.w * area.rect.h);
}

TEST(ScatterPlot, NoPointsStillWritesAChart) {
  ScratchDir dir;
  ScatterPlot plot;
  plot.title = "empty";
  plot.lines = {OverlayLine::identity()};
  const PlotArea area = write_png(plot, dir.file("empty.png"));
  PngImage png(dir.file("empty.png"));
  ASSERT_TRUE(png.ok());
  EXPECT_EQ(area.x.lo, 0);
  EXPECT_EQ(area.x.hi, 1);
}

TEST(ScatterPlot, NanAndInfinitePointsAreSkippedAndEqualXWidened) {
  ScratchDir dir;
  std::vector<double> x = {3, 3, 3, NAN, 3, INFINITY};
  std::vector<double> y = {1, 2, NAN, 4, 5, 6};
  ScatterPlot plot;
  plot.x = x;
  plot.y = y;
  const PlotArea area = write_png(plot, dir.file("equal_x.png"));
  EXPECT_LT(area.x.lo, 3);
  EXPECT_GT(area.x.hi, 3);
  EXPECT_LT(area.y.lo, 1);
  EXPECT_GT(area.y.hi, 5);
  EXPECT_LT(area.y.hi, 6);
  PngImage png(dir.file("equal_x.png"));
  EXPECT_FALSE(is_white(png.pixel(int(area.x_pixel(3)), int(area.y_pixel(2)))));

  std::vector<double> all_nan(50, NAN);
  plot.x = all_nan;
  plot.y = all_nan;
  EXPECT_NO_THROW(write_png(plot, dir.file("all_nan.png")));
}

TEST(ScatterPlot, LimitsFixTheAxesAndDropOutsidePoints) {
  ScratchDir dir;
  Cloud cloud = make_cloud(1000);
  ScatterPlot plot;
  plot.x = cloud.x;
  plot.y = cloud.y;
  plot.x_limits = {{0, 2}};
  plot.y_limits = {{5, -1}};
  plot.lines = {OverlayLine::fit(0, 1000, "steep")};
  const PlotArea area = write_png(plot, dir.file("limits.png"));
  EXPECT_EQ(area.x.lo, 0);
  EXPECT_EQ(area.x.hi, 2);
  EXPECT_EQ(area.y.lo, -1);
  EXPECT_EQ(area.y.hi, 5);
}

TEST(ScatterPlot, LargerImagesScale) {
  ScratchDir dir;
  Cloud cloud = make_cloud(3000);
  ScatterPlot plot;
  plot.title = "large";
  plot.width = 1600;
  plot.height = 1200;
  plot.x = cloud.x;
  plot.y = cloud.y;
  write_png(plot, dir.file("large.png"));
  PngImage png(dir.file("large.png"));
  EXPECT_EQ(png.width(), 1600);
  EXPECT_EQ(png.height(), 1200);
}

TEST(ScatterPlot, BadInputThrowsNamingTheFile) {
  ScratchDir dir;
  std::vector<double> x = {1, 2, 3}, y = {1, 2};
  ScatterPlot plot;
  plot.x = x;
  plot.y = y;
  const std::string path = dir.file("bad.png");
  try {
    write_png(plot, path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("3 x values but 2 y values"), std::string::npos) << e.what();
  }
  std::vector<double> y3 = {1, 2, 3};
  std::vector<std::int32_t> ids = {0, 1, 2};
  plot.y = y3;
  plot.categories = ids;
  plot.category_names = {"a", "b"};
  EXPECT_THROW(write_png(plot, path), Error);
  plot.categories = {};
  plot.width = 20;
  EXPECT_THROW(write_png(plot, path), Error);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(hidden_files(dir), 0);
}

TEST(ScatterPlot, UnwritableFolderThrowsNamingTheFile) {
  ScratchDir dir;
  std::vector<double> x = {1, 2}, y = {1, 2};
  ScatterPlot plot;
  plot.x = x;
  plot.y = y;
  const std::string missing = dir.file("no/such/folder/plot.png");
  try {
    write_png(plot, missing);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  // A file where the folder should be.
  write_png(plot, dir.file("file.png"));
  EXPECT_THROW(write_png(plot, dir.file("file.png/inner.png")), Error);
  if (geteuid() != 0) {  // root may write anywhere
    std::filesystem::create_directory(dir.file("locked"));
    std::filesystem::permissions(dir.file("locked"),
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
    EXPECT_THROW(write_png(plot, dir.file("locked/plot.png")), Error);
    std::filesystem::permissions(dir.file("locked"), std::filesystem::perms::owner_all);
  }
}

}  // namespace
}  // namespace c2s::plot
