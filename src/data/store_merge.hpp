// Merging sentence stores: vocabularies united (first-seen order, cell counts
// summed), gene indices remapped, obs columns united, an optional batch
// column naming each cell's source, and the inverse model refitted.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2s {

struct MergeOptions {
  std::string batch_key = "batch";  // obs column with each input's file stem; empty = none
  std::int64_t fit_sample_cells = 20000;
  std::uint64_t fit_seed = 0;
};

// Writes the merged store atomically; returns a summary.
nlohmann::json merge_stores(const std::vector<std::string>& inputs, const std::string& output,
                            const MergeOptions& options);

}  // namespace c2s
