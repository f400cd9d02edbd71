// What a sentence store's values are, as its provenance records them: log1p
// of counts normalised to a target sum (c2s convert's default, with the log
// base used) or the input's values as given, and whether the input held
// integer counts. Merged stores answer for all their inputs alike.
#pragma once
#include <optional>

#include <nlohmann/json.hpp>

#include "data/sentence_store.hpp"

namespace c2s {

struct StoreValues {
  std::optional<double> log_base;  // set: values are log_base(1 + normalised count); unset: as given
  bool integer_counts = false;     // the input held integer counts
};

// From a store's provenance; nullopt when it does not say (or a merged
// store's inputs differ).
std::optional<StoreValues> recorded_store_values(const nlohmann::json& provenance);
inline std::optional<StoreValues> recorded_store_values(const SentenceStore& store) {
  return recorded_store_values(store.provenance());
}

}  // namespace c2s
