// Test support: a written PNG read back with cairo, with pixel queries, and a
// scratch folder for chart outputs (kept in $C2S_PLOT_KEEP when set).
#pragma once
#include <cairo/cairo.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>

#include "plot/chart_frame.hpp"
#include "plot/colormap.hpp"

namespace c2s::plot::test {

class PngImage {
 public:
  explicit PngImage(const std::filesystem::path& path)
      : surface_(cairo_image_surface_create_from_png(path.c_str())) {}
  ~PngImage() { cairo_surface_destroy(surface_); }
  PngImage(const PngImage&) = delete;
  PngImage& operator=(const PngImage&) = delete;

  bool ok() const { return cairo_surface_status(surface_) == CAIRO_STATUS_SUCCESS; }
  int width() const { return cairo_image_surface_get_width(surface_); }
  int height() const { return cairo_image_surface_get_height(surface_); }

  // Charts are opaque, so premultiplied and plain values agree.
  Rgb pixel(int x, int y) const {
    const unsigned char* data = cairo_image_surface_get_data(surface_);
    const int stride = cairo_image_surface_get_stride(surface_);
    std::uint32_t p = *reinterpret_cast<const std::uint32_t*>(data + std::size_t(y) * stride + std::size_t(x) * 4);
    return {((p >> 16) & 0xff) / 255.0, ((p >> 8) & 0xff) / 255.0, (p & 0xff) / 255.0};
  }

  // Pixels in [x0, x1) x [y0, y1) (clamped to the image) for which `match` holds.
  std::size_t count(const std::function<bool(Rgb)>& match, double x0, double y0, double x1, double y1) const {
    std::size_t n = 0;
    for (int y = std::max(0, int(y0)); y < std::min(height(), int(y1)); ++y)
      for (int x = std::max(0, int(x0)); x < std::min(width(), int(x1)); ++x) n += match(pixel(x, y));
    return n;
  }
  std::size_t count(const std::function<bool(Rgb)>& match, const Rect& r) const {
    return count(match, r.x, r.y, r.right(), r.bottom());
  }
  // Whether a pixel within `radius` of (x, y) matches.
  bool near(const std::function<bool(Rgb)>& match, double x, double y, int radius) const {
    return count(match, x - radius, y - radius, x + radius + 1, y + radius + 1) > 0;
  }

 private:
  cairo_surface_t* surface_;
};

inline double distance(Rgb a, Rgb b) {
  return std::max({std::abs(a.r - b.r), std::abs(a.g - b.g), std::abs(a.b - b.b)});
}

inline std::function<bool(Rgb)> close_to(Rgb color, double tolerance = 0.06) {
  return [=](Rgb c) { return distance(c, color) <= tolerance; };
}

inline bool is_white(Rgb c) { return distance(c, {1, 1, 1}) < 0.01; }

// Whether a colour is on the colormap (up to `tolerance` per channel).
inline bool on_colormap(Rgb c, Colormap map = Colormap::Viridis, double tolerance = 0.03) {
  for (int i = 0; i <= 128; ++i)
    if (distance(c, colormap_color(map, i / 128.0)) <= tolerance) return true;
  return false;
}

// The inside of a rectangle, `inset` pixels from its edges (frame, grid).
inline Rect inner(const Rect& r, double inset = 3) {
  return {r.x + inset, r.y + inset, r.w - 2 * inset, r.h - 2 * inset};
}

class ScratchDir {
 public:
  ScratchDir() {
    if (const char* keep = std::getenv("C2S_PLOT_KEEP")) {
      path_ = keep;
      keep_ = true;
    } else {
      static int made = 0;
      path_ = std::filesystem::temp_directory_path() /
              ("c2s-plot-test-" + std::to_string(getpid()) + "-" + std::to_string(made++));
    }
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!keep_) std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

}  // namespace c2s::plot::test
