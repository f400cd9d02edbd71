// Train/validation/test assignment of a store's cells: by seeded fractions,
// or by whole groups of an obs column (e.g. donors) so that no group is in
// two splits. Recorded as the categorical obs column `split`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/sentence_store.hpp"

namespace c2s {

struct SplitOptions {
  std::vector<double> fractions{0.8, 0.1, 0.1};  // train, validation, test
  std::string by;                                 // obs column whose groups stay whole
  std::uint64_t seed = 42;
};

inline const std::vector<std::string> kSplitNames{"train", "validation", "test"};

// The `split` column for the store's cells.
Column assign_splits(const SentenceStore& store, const SplitOptions& options);
// Cells and (with `by`) groups per split.
nlohmann::json describe_splits(const SentenceStore& store, const Column& split, const std::string& by);
// The cells (ascending) whose `split` is `name`. An Error when the store has
// no split column or no cell in that split (naming the splits it has).
std::vector<std::int64_t> cells_in_split(const SentenceStore& store, const std::string& name);
// Whether the store has a split column with a cell in split `name`.
bool store_has_split(const SentenceStore& store, const std::string& name);

}  // namespace c2s
