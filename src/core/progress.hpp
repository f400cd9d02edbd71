// The one progress reporter: a bar with rate and ETA when stderr is a
// terminal, one plain line per stage otherwise, nothing under --quiet.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace c2s {

class Progress {
 public:
  // A stage of `total` units (0 = unknown) named for the user, e.g. "convert".
  Progress(std::string stage, std::uint64_t total, std::string unit = "cells");
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::uint64_t n);
  void finish();

  static void set_quiet(bool quiet);
  static bool quiet();
  // A one-line message on stderr (suppressed by --quiet), e.g. a warning.
  static void note(const std::string& line);

 private:
  void draw(bool final);
  std::string stage_, unit_;
  std::uint64_t total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Warnings always reach stderr (even under --quiet): they concern the data.
void warn(const std::string& message);

}  // namespace c2s
