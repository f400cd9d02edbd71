// The seeded mutation loop the in-suite fuzz tests share: a time budget
// (C2S_FUZZ_SECONDS, else the test's own), a watchdog that aborts with the
// input saved when one input makes no progress for 20 s, and a failing input
// saved for replay. What to run and which inputs to keep is the test's.
#pragma once
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace c2s::testing_support {

using FuzzBytes = std::vector<std::uint8_t>;

inline std::string save_fuzz_input(const FuzzBytes& b, const std::string& name) {
  const auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(b.data()), static_cast<long>(b.size()));
  return path.string();
}

struct FuzzLoop {
  double default_seconds = 3.0;
  std::string name;                                       // prefix of saved inputs: NAME_hang.bin, NAME_failure.bin
  std::function<FuzzBytes(std::size_t run)> next;         // the input of run `run`
  std::function<void(const FuzzBytes& input)> run;        // throws on failure
  std::function<void(FuzzBytes&& input)> keep;            // after a run that passed: may add it to the corpus

  // Runs until the budget is spent or an input fails (an ADD_FAILURE naming
  // the saved input). Returns the inputs run; `seconds` is the budget used.
  std::size_t operator()(double& seconds) const {
    const char* env = std::getenv("C2S_FUZZ_SECONDS");
    seconds = env ? std::atof(env) : default_seconds;
    std::atomic<std::size_t> iteration{0};
    std::atomic<bool> done{false};
    FuzzBytes current;
    std::mutex current_mutex;
    std::thread watchdog([&] {
      std::size_t seen = 0;
      auto last_change = std::chrono::steady_clock::now();
      while (!done) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (iteration != seen) {
          seen = iteration;
          last_change = std::chrono::steady_clock::now();
        } else if (std::chrono::steady_clock::now() - last_change > std::chrono::seconds(20)) {
          std::lock_guard<std::mutex> lock(current_mutex);
          std::cerr << "fuzz input hangs; saved to " << save_fuzz_input(current, name + "_hang.bin") << "\n";
          std::abort();
        }
      }
    });
    const auto start = std::chrono::steady_clock::now();
    std::size_t runs = 0;
    for (; std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < seconds; ++runs) {
      FuzzBytes input = next(runs);
      {
        std::lock_guard<std::mutex> lock(current_mutex);
        current = input;
      }
      try {
        run(input);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "run " << runs << ": " << e.what() << "; input saved to "
                      << save_fuzz_input(input, name + "_failure.bin");
        break;
      }
      keep(std::move(input));
      ++iteration;
    }
    done = true;
    watchdog.join();
    return runs;
  }
};

}  // namespace c2s::testing_support
