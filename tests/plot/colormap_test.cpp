// Colormap values against matplotlib's, and the categorical palette.
#include "plot/colormap.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace c2s::plot {
namespace {

TEST(Colormap, ViridisEndsAndMiddleMatchMatplotlib) {
  auto near = [](Rgb a, Rgb b) {
    return std::abs(a.r - b.r) < 0.01 && std::abs(a.g - b.g) < 0.01 && std::abs(a.b - b.b) < 0.01;
  };
  EXPECT_TRUE(near(colormap_color(Colormap::Viridis, 0), Rgb::hex(0x440154)));
  EXPECT_TRUE(near(colormap_color(Colormap::Viridis, 1), Rgb::hex(0xfde725)));
  EXPECT_TRUE(near(colormap_color(Colormap::Viridis, 0.5), Rgb::hex(0x21918c)));
  EXPECT_TRUE(near(colormap_color(Colormap::Viridis, NAN), Rgb::hex(0x440154)));
  EXPECT_TRUE(near(colormap_color(Colormap::Viridis, 7), Rgb::hex(0xfde725)));
  EXPECT_TRUE(near(colormap_color(Colormap::Blues, 0), Rgb::hex(0xf7fbff)));
  EXPECT_TRUE(near(colormap_color(Colormap::Blues, 1), Rgb::hex(0x08306b)));
}

TEST(Colormap, CategoriesStartWithTab10AndStayDistinct) {
  EXPECT_EQ(category_color(0), Rgb::hex(0x1f77b4));
  EXPECT_EQ(category_color(1), Rgb::hex(0xff7f0e));
  for (std::size_t i = 0; i < 60; ++i)
    for (std::size_t j = 0; j < i; ++j) {
      const Rgb a = category_color(i), b = category_color(j);
      EXPECT_GT(std::abs(a.r - b.r) + std::abs(a.g - b.g) + std::abs(a.b - b.b), 0.02) << i << " " << j;
    }
  EXPECT_NEAR(luminance({1, 1, 1}), 1, 1e-12);
  EXPECT_NEAR(luminance({0, 0, 0}), 0, 1e-12);
}

}  // namespace
}  // namespace c2s::plot
