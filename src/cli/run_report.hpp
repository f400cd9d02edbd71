// The report page of a `c2s pipeline` run folder, rebuilt from what the run
// logged (`c2s report RUN` runs it alone): RUN/summary.json (every step's
// summary and command line), the training logs and the figures the steps
// drew. Writes RUN/report/ (index.html and its PNGs) whole, atomically.
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

namespace c2s {

// Returns what it wrote (the page, the figures). Errors: a folder without
// summary.json, or a summary that is not a pipeline run's.
nlohmann::json write_run_report(const std::filesystem::path& run_dir);

}  // namespace c2s
