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
  // Text shown after the bar (e.g. a training step's loss and learning rate).
  void set_detail(std::string detail) { detail_ = std::move(detail); }
  void finish();
  // Whether the bar is drawn (stderr is a terminal and not --quiet).
  bool drawing() const;

  static void set_quiet(bool quiet);
  static bool quiet();
  // A one-line message on stderr (suppressed by --quiet), e.g. a warning.
  static void note(const std::string& line);

 private:
  void draw(bool final);
  std::string stage_, unit_, detail_;
  std::uint64_t total_, done_ = 0;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// Warnings always reach stderr (even under --quiet): they concern the data.
void warn(const std::string& message);

}  // namespace c2s
