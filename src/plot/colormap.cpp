// Colormap tables and the categorical palette.
#include "plot/colormap.hpp"

#include <algorithm>
#include <array>
#include <cmath>

namespace c2s::plot {

namespace {

// matplotlib's viridis (CC0), every 8th of its 256 entries plus the last;
// linear interpolation between them stays within 2/255 of the full table.
constexpr std::array<Rgb, 33> kViridis = {{
    {0.267004, 0.004874, 0.329415}, {0.277018, 0.050344, 0.375715}, {0.282327, 0.094955, 0.417331},
    {0.282884, 0.135920, 0.453427}, {0.278826, 0.175490, 0.483397}, {0.270595, 0.214069, 0.507052},
    {0.258965, 0.251537, 0.524736}, {0.244972, 0.287675, 0.537260}, {0.229739, 0.322361, 0.545706},
    {0.214298, 0.355619, 0.551184}, {0.199430, 0.387607, 0.554642}, {0.185556, 0.418570, 0.556753},
    {0.172719, 0.448791, 0.557885}, {0.160665, 0.478540, 0.558115}, {0.149039, 0.508051, 0.557250},
    {0.137770, 0.537492, 0.554906}, {0.127568, 0.566949, 0.550556}, {0.120565, 0.596422, 0.543611},
    {0.120638, 0.625828, 0.533488}, {0.132268, 0.655014, 0.519661}, {0.157851, 0.683765, 0.501686},
    {0.196571, 0.711827, 0.479221}, {0.246070, 0.738910, 0.452024}, {0.304148, 0.764704, 0.419943},
    {0.369214, 0.788888, 0.382914}, {0.440137, 0.811138, 0.340967}, {0.515992, 0.831158, 0.294279},
    {0.595839, 0.848717, 0.243329}, {0.678489, 0.863742, 0.189503}, {0.762373, 0.876424, 0.137064},
    {0.845561, 0.887322, 0.099702}, {0.926106, 0.897330, 0.104071}, {0.993248, 0.906157, 0.143936},
}};

// ColorBrewer's 9-class "Blues", the anchors of matplotlib's Blues.
constexpr std::array<Rgb, 9> kBlues = {{
    Rgb::hex(0xf7fbff),
    Rgb::hex(0xdeebf7),
    Rgb::hex(0xc6dbef),
    Rgb::hex(0x9ecae1),
    Rgb::hex(0x6baed6),
    Rgb::hex(0x4292c6),
    Rgb::hex(0x2171b5),
    Rgb::hex(0x08519c),
    Rgb::hex(0x08306b),
}};

// tab10 then the lighter halves of tab20: distinct, colour-blind-tolerant
// first choices, and what readers of matplotlib figures expect.
constexpr std::array<Rgb, 20> kCategories = {{
    Rgb::hex(0x1f77b4), Rgb::hex(0xff7f0e), Rgb::hex(0x2ca02c), Rgb::hex(0xd62728), Rgb::hex(0x9467bd),
    Rgb::hex(0x8c564b), Rgb::hex(0xe377c2), Rgb::hex(0x7f7f7f), Rgb::hex(0xbcbd22), Rgb::hex(0x17becf),
    Rgb::hex(0xaec7e8), Rgb::hex(0xffbb78), Rgb::hex(0x98df8a), Rgb::hex(0xff9896), Rgb::hex(0xc5b0d5),
    Rgb::hex(0xc49c94), Rgb::hex(0xf7b6d2), Rgb::hex(0xc7c7c7), Rgb::hex(0xdbdb8d), Rgb::hex(0x9edae5),
}};

}  // namespace

Rgb mix(Rgb a, Rgb b, double t) { return {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }

Rgb colormap_color(Colormap map, double t) {
  if (!(t > 0)) t = 0;  // also catches NaN
  if (t > 1) t = 1;
  if (map == Colormap::Blues) {
    double pos = t * (kBlues.size() - 1);
    auto i = std::min<std::size_t>(std::size_t(pos), kBlues.size() - 2);
    return mix(kBlues[i], kBlues[i + 1], pos - double(i));
  }
  // Anchor k sits at table entry 8k of 255, the last one at 255.
  double entry = t * 255.0;
  auto k = std::min<std::size_t>(std::size_t(entry / 8.0), kViridis.size() - 2);
  double from = 8.0 * double(k), to = std::min(255.0, 8.0 * double(k + 1));
  return mix(kViridis[k], kViridis[k + 1], (entry - from) / (to - from));
}

Rgb category_color(std::size_t i) {
  if (i < kCategories.size()) return kCategories[i];
  // Beyond the table, hues a golden angle apart stay distinct for many
  // categories (cell types of an atlas run into the hundreds).
  const double hue = std::fmod(double(i) * 0.6180339887498949, 1.0) * 6.0;
  const double value = (i / 2) % 2 ? 0.62 : 0.85, saturation = i % 2 ? 0.75 : 0.55;
  const double chroma = value * saturation, x = chroma * (1 - std::abs(std::fmod(hue, 2.0) - 1)), m = value - chroma;
  const Rgb sectors[] = {{chroma, x, 0}, {x, chroma, 0}, {0, chroma, x},
                         {0, x, chroma}, {x, 0, chroma}, {chroma, 0, x}};
  const Rgb c = sectors[std::min(5, int(hue))];
  return {c.r + m, c.g + m, c.b + m};
}

double luminance(Rgb c) {
  auto linear = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * linear(c.r) + 0.7152 * linear(c.g) + 0.0722 * linear(c.b);
}

}  // namespace c2s::plot
