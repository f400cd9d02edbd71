// The 10x feature list -> var conversion shared by the matrix-market and
// HDF5 readers.
#include "io/tenx_features.hpp"

#include <unordered_map>
#include <unordered_set>

#include "core/progress.hpp"

namespace c2s {

TenxVar tenx_var(const TenxFeatures& features, const std::string& source) {
  const std::size_t n = features.ids.size();
  TenxVar out;
  out.column_of.resize(n);
  const std::string gex = "Gene Expression";
  bool any_gex = false, any_other = false;
  for (const auto& t : features.types) (t == gex ? any_gex : any_other) = true;
  const bool filter = any_gex && any_other;

  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < n; ++i) {
    if (filter && features.types[i] != gex) {
      out.column_of[i] = -1;
      continue;
    }
    out.column_of[i] = std::int32_t(kept.size());
    kept.push_back(i);
  }
  out.keeps_all = kept.size() == n;
  if (!out.keeps_all)
    Progress::note(source + ": kept " + std::to_string(kept.size()) + " Gene Expression features of " +
                   std::to_string(n));

  auto pick = [&](const std::vector<std::string>& from) {
    std::vector<std::string> v;
    v.reserve(kept.size());
    for (auto i : kept) v.push_back(from[i]);
    return v;
  };
  auto add = [&](const char* name, const std::vector<std::string>& from) {
    Column c;
    c.name = name;
    c.kind = Column::Kind::String;
    c.strings = pick(from);
    out.var.columns.push_back(std::move(c));
  };
  out.var.index = pick(features.names);
  make_index_unique(out.var.index);
  add("gene_ids", features.ids);
  if (!features.types.empty()) add("feature_types", features.types);
  if (!features.genomes.empty()) add("genome", features.genomes);
  return out;
}

}  // namespace c2s
