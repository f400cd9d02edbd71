#include "data/store_values.hpp"

#include <cmath>

namespace c2s {

std::optional<StoreValues> recorded_store_values(const nlohmann::json& provenance) {
  if (provenance.contains("merged_from") && provenance["merged_from"].is_array()) {
    std::optional<StoreValues> all;
    for (const auto& input : provenance["merged_from"]) {
      auto v = input.contains("provenance") ? recorded_store_values(input["provenance"]) : std::nullopt;
      if (!v || (all && all->log_base != v->log_base)) return std::nullopt;
      if (all) v->integer_counts = v->integer_counts && all->integer_counts;
      all = v;
    }
    return all;
  }
  if (!provenance.contains("preprocessing") || !provenance["preprocessing"].is_object()) return std::nullopt;
  const auto& p = provenance["preprocessing"];
  StoreValues out;
  if (p.value("enabled", false)) {
    if (!p.contains("log_base") || !p["log_base"].is_number()) return std::nullopt;
    const double base = p["log_base"].get<double>();
    if (!(base > 1) || !std::isfinite(base)) return std::nullopt;
    out.log_base = base;
  }
  if (provenance.contains("preprocessing_result") && provenance["preprocessing_result"].is_object())
    out.integer_counts = provenance["preprocessing_result"].value("integer_valued", false);
  return out;
}

}  // namespace c2s
