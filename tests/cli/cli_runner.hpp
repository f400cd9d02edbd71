// Runs the built `c2s` binary as a user would and captures its exit code,
// stdout and stderr, for end-to-end tests.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.hpp"

namespace c2s::testing_support {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

// `args` is appended to the binary path as shell words (quote as needed);
// stdin is read from `stdin_path`.
inline CliResult run_c2s(const std::string& args, const std::string& stdin_path = "/dev/null") {
  static int counter = 0;
  const auto dir = process_dir("c2s_cli_runs");
  auto out = dir / ("out" + std::to_string(counter));
  auto err = dir / ("err" + std::to_string(counter++));
  std::string cmd = std::string(C2S_BINARY) + " " + args + " >" + out.string() + " 2>" + err.string() + " <" + stdin_path;
  int status = std::system(cmd.c_str());
  CliResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

// Runs a Python snippet with Debian's python3 (anndata, h5py, numpy).
inline int run_python(const std::string& code) {
  static int counter = 0;
  auto script = process_dir("c2s_test_scripts") / ("script_" + std::to_string(counter++) + ".py");
  std::ofstream(script) << code;
  return std::system(("/usr/bin/python3 " + script.string()).c_str());
}

inline std::size_t count_lines(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// One JSON value per line of `out` (an empty line is a parse error).
inline std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> lines;
  std::stringstream ss(out);
  std::string line;
  while (std::getline(ss, line)) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

// How many entries folder `p` holds (0: no output and no temporaries were left).
inline std::size_t entries(const std::filesystem::path& p) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(p)) ++n;
  return n;
}

// A clean failure: exit `code`, nothing on stdout, and exactly one
// "c2s: error: " line on stderr that contains `needle`.
inline void expect_clean_failure(const CliResult& r, const std::string& needle, int code = 1) {
  EXPECT_EQ(r.exit_code, code) << r.err;
  EXPECT_EQ(count_lines(r.err), 1u) << r.err;
  EXPECT_EQ(r.err.rfind("c2s: error: ", 0), 0u) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

// Runs `args --json -q`, expecting success, and parses the summary.
inline nlohmann::json run_json(const std::string& args) {
  CliResult r = run_c2s(args + " --json -q");
  EXPECT_EQ(r.exit_code, 0) << args << "\n" << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (...) {
    ADD_FAILURE() << "not JSON: " << r.out;
    return {};
  }
}

// A store of simulated cells (`simulate` with `simulate_args`, converted
// keeping cells of 20 genes or more, then `split` with `split_args`) and a
// tiny model trained on it from scratch (`train` with `train_args`), in the
// folder `dir`: what the model commands' end-to-end tests run on. `model` is
// the run's checkpoint `checkpoint`.
struct TrainedOnSimulated {
  std::string store, model;
};
inline TrainedOnSimulated train_on_simulated(const std::filesystem::path& dir, const std::string& simulate_args,
                                             const std::string& split_args, const std::string& train_args,
                                             const std::string& checkpoint) {
  TrainedOnSimulated r{(dir / "sim.c2s").string(), (dir / "run" / checkpoint).string()};
  run_json("simulate " + simulate_args + " -o " + (dir / "sim.h5ad").string());
  run_json("convert " + (dir / "sim.h5ad").string() + " -o " + r.store + " --min-genes 20");
  run_json("split " + r.store + split_args);
  run_json(train_args + " --data " + r.store + " -o " + (dir / "run").string());
  return r;
}

}  // namespace c2s::testing_support
