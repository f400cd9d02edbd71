#include "core/progress.hpp"

#include <unistd.h>

#include <cstdio>
#include <fmt/format.h>

namespace c2s {

namespace {
bool g_quiet = false;

std::string human_count(double x) {
  if (x >= 1e9) return fmt::format("{:.2f}G", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.2f}M", x / 1e6);
  if (x >= 1e4) return fmt::format("{:.1f}k", x / 1e3);
  return fmt::format("{:.0f}", x);
}

std::string human_time(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{}m{:02d}s", int(s / 60), int(s) % 60);
  return fmt::format("{}h{:02d}m", int(s / 3600), int(s / 60) % 60);
}
}  // namespace

void Progress::set_quiet(bool quiet) { g_quiet = quiet; }
bool Progress::quiet() { return g_quiet; }

void Progress::note(const std::string& line) {
  if (!g_quiet) std::fprintf(stderr, "%s\n", line.c_str());
}

void warn(const std::string& message) { std::fprintf(stderr, "c2s: warning: %s\n", message.c_str()); }

Progress::Progress(std::string stage, std::uint64_t total, std::string unit)
    : stage_(std::move(stage)), unit_(std::move(unit)), total_(total), tty_(isatty(STDERR_FILENO) == 1) {
  start_ = last_draw_ = std::chrono::steady_clock::now();
  if (!g_quiet && tty_) draw(false);
}

Progress::~Progress() {
  if (!finished_ && !g_quiet && tty_) std::fprintf(stderr, "\n");
}

void Progress::advance(std::uint64_t n) {
  done_ += n;
  if (g_quiet || !tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ > std::chrono::milliseconds(200)) {
    last_draw_ = now;
    draw(false);
  }
}

bool Progress::drawing() const { return tty_ && !g_quiet; }

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!g_quiet) draw(true);
}

void Progress::draw(bool final) {
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  double rate = secs > 0 ? done_ / secs : 0;
  if (!tty_) {
    if (final)
      std::fprintf(stderr, "%s: %s %s in %.2fs (%s/s)\n", stage_.c_str(), human_count(done_).c_str(), unit_.c_str(),
                   secs, human_count(rate).c_str());
    return;
  }
  std::string line;
  if (total_ > 0) {
    double frac = std::min(1.0, double(done_) / total_);
    int width = 30, filled = int(frac * width);
    std::string eta = (rate > 0 && !final) ? " ETA " + human_time((total_ - std::min(done_, total_)) / rate) : "";
    line = fmt::format("\r{} [{}{}] {:3.0f}% {}/{} {} {}/s {}{}", stage_, std::string(filled, '#'),
                       std::string(width - filled, '.'), frac * 100, human_count(done_), human_count(total_), unit_,
                       human_count(rate), human_time(secs), eta);
  } else {
    line = fmt::format("\r{} {} {} {}/s {}", stage_, human_count(done_), unit_, human_count(rate), human_time(secs));
  }
  if (!detail_.empty()) line += "  " + detail_;
  std::fprintf(stderr, "%s\033[K%s", line.c_str(), final ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace c2s
