// Chart colours: RGB values, the viridis and blues colormaps for continuous
// values, and the categorical palette for groups and series.
#pragma once
#include <cstddef>
#include <cstdint>

namespace c2s::plot {

struct Rgb {
  double r = 0, g = 0, b = 0;  // each in [0, 1]

  static constexpr Rgb hex(std::uint32_t rgb) {
    return {((rgb >> 16) & 0xff) / 255.0, ((rgb >> 8) & 0xff) / 255.0, (rgb & 0xff) / 255.0};
  }
  friend bool operator==(const Rgb&, const Rgb&) = default;
};

// Perceptually uniform maps: viridis (matplotlib's default) and the
// ColorBrewer "Blues" ramp that confusion matrices are often drawn with.
enum class Colormap { Viridis, Blues };

// The colour at `t` in [0, 1]; values outside are clamped, NaN gives the low end.
Rgb colormap_color(Colormap map, double t);

// The i-th colour of matplotlib's tab10, then tab20's lighter shades, then
// generated hues.
Rgb category_color(std::size_t i);

// Relative luminance (WCAG), used to pick dark or light text over a colour.
double luminance(Rgb c);

// `a` at t = 0, `b` at t = 1.
Rgb mix(Rgb a, Rgb b, double t);

}  // namespace c2s::plot
