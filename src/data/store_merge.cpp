#include "data/store_merge.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/inverse_model.hpp"
#include "data/sentence_store.hpp"

namespace c2s {

namespace {

// Unites obs columns of the inputs: numeric where every input has the column
// as numeric, else categorical text; absent values are missing.
DataFrame merge_obs(const std::vector<SentenceStore>& stores, const std::string& batch_key,
                    const std::vector<std::string>& batch_names) {
  std::vector<std::string> order;
  std::unordered_map<std::string, bool> numeric;
  for (const auto& s : stores)
    for (const auto& c : s.obs().columns) {
      if (!numeric.count(c.name)) {
        order.push_back(c.name);
        numeric[c.name] = true;
      }
      numeric[c.name] = numeric[c.name] && c.kind == Column::Kind::Numeric;
    }
  DataFrame out;
  for (const auto& s : stores) out.index.insert(out.index.end(), s.cell_names().begin(), s.cell_names().end());
  for (const auto& name : order) {
    Column merged{.name = name, .kind = numeric[name] ? Column::Kind::Numeric : Column::Kind::String};
    std::vector<std::uint8_t> missing;
    for (const auto& s : stores) {
      const Column* c = s.obs().find(name);
      for (std::int64_t i = 0; i < s.n_cells(); ++i) {
        if (merged.kind == Column::Kind::Numeric) {
          merged.numbers.push_back(c ? c->numbers[std::size_t(i)] : std::nan(""));
        } else {
          merged.strings.push_back(c ? c->text(std::size_t(i)) : "");
          missing.push_back(!c || c->text(std::size_t(i)).empty());
        }
      }
    }
    if (merged.kind != Column::Kind::Numeric) {
      merged = merged.as_categorical();
      for (std::size_t i = 0; i < missing.size(); ++i)
        if (missing[i]) merged.codes[i] = -1;
    }
    out.columns.push_back(std::move(merged));
  }
  if (!batch_key.empty()) {
    Column batch{.name = batch_key, .kind = Column::Kind::String};
    for (std::size_t k = 0; k < stores.size(); ++k)
      for (std::int64_t i = 0; i < stores[k].n_cells(); ++i) batch.strings.push_back(batch_names[k]);
    std::erase_if(out.columns, [&](const Column& c) { return c.name == batch_key; });
    out.columns.push_back(batch.as_categorical());
  }
  return out;
}

}  // namespace

nlohmann::json merge_stores(const std::vector<std::string>& inputs, const std::string& output,
                            const MergeOptions& options) {
  if (inputs.size() < 2) throw UsageError("merge needs at least two stores");
  std::vector<SentenceStore> stores;
  std::vector<std::string> batch_names;
  for (const auto& p : inputs) {
    stores.emplace_back(p);
    batch_names.push_back(std::filesystem::path(p).stem().string());
  }
  std::unordered_set<std::string> distinct(batch_names.begin(), batch_names.end());
  if (distinct.size() != batch_names.size())
    for (std::size_t k = 0; k < batch_names.size(); ++k) batch_names[k] = fmt::format("{}_{}", batch_names[k], k);

  StoreHeader header;
  std::unordered_map<std::string, std::uint32_t> index;
  std::vector<std::vector<std::uint32_t>> remap(stores.size());
  nlohmann::json sources = nlohmann::json::array();
  std::int64_t total_cells = 0;
  for (std::size_t k = 0; k < stores.size(); ++k) {
    const auto& h = stores[k].header();
    for (std::size_t g = 0; g < h.genes.size(); ++g) {
      auto [it, added] = index.emplace(h.genes[g], std::uint32_t(header.genes.size()));
      if (added) {
        header.genes.push_back(h.genes[g]);
        header.source_genes.push_back(h.source_genes[g]);
        header.gene_n_cells.push_back(0);
      }
      header.gene_n_cells[it->second] += h.gene_n_cells[g];
      remap[k].push_back(it->second);
    }
    sources.push_back({{"store", inputs[k]}, {"cells", stores[k].n_cells()}, {"provenance", h.provenance}});
    total_cells += stores[k].n_cells();
  }
  header.provenance = {{"merged_from", sources}, {"c2s_version", C2S_VERSION}};

  std::unordered_set<std::string> names;
  std::int64_t duplicate_names = 0;
  for (const auto& s : stores)
    for (const auto& n : s.cell_names()) duplicate_names += !names.insert(n).second;
  if (duplicate_names > 0)
    warn(fmt::format("{} cell names occur in more than one store; use the '{}' column to tell them apart",
                     duplicate_names, options.batch_key.empty() ? "batch" : options.batch_key));

  DataFrame obs = merge_obs(stores, options.batch_key, batch_names);
  std::vector<std::int64_t> fit_cells = choose_fit_cells(total_cells, options.fit_sample_cells, options.fit_seed);
  std::vector<std::uint8_t> in_fit(std::size_t(total_cells), 0);
  for (auto c : fit_cells) in_fit[std::size_t(c)] = 1;

  SentenceStoreWriter writer(output, header);
  RankRuns points;
  Progress progress("merge", std::uint64_t(total_cells));
  CellBlock block;
  std::int64_t global = 0;
  for (std::size_t k = 0; k < stores.size(); ++k) {
    for (std::int64_t begin = 0; begin < stores[k].n_cells(); begin += 8192) {
      std::int64_t end = std::min(stores[k].n_cells(), begin + 8192);
      stores[k].read(begin, end, block);
      for (auto& g : block.genes) g = remap[k][g];
      for (std::size_t i = 0; i < block.size(); ++i, ++global) {
        if (in_fit[std::size_t(global)])
          points.add_cell(block.run_values.data() + block.run_offsets[i], block.run_lengths.data() + block.run_offsets[i],
                          std::size_t(block.run_offsets[i + 1] - block.run_offsets[i]));
      }
      writer.append(block);
      progress.advance(std::uint64_t(end - begin));
    }
  }
  progress.finish();
  InverseModel model = fit_inverse_model(points);
  writer.set_obs(obs);
  writer.set_inverse_model(model);
  writer.commit();
  return {{"store", output},
          {"inputs", inputs.size()},
          {"cells", total_cells},
          {"genes", header.genes.size()},
          {"inverse_model", model.to_json()}};
}

}  // namespace c2s
