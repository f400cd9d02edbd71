// The inverse model's figures as PNG: expression against log10(1 + rank)
// with the fitted line, and reconstructed against original expression.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "data/inverse_model.hpp"

namespace c2s {

// Writes inverse_fit.png and reconstructed_vs_original.png into `dir`
// (created if missing); returns their paths.
nlohmann::json write_inverse_plots(const InverseModel& model, const RankRuns& runs, const std::string& dir);

}  // namespace c2s
