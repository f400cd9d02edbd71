// `c2s info STORE`: what a sentence store holds.
#include <algorithm>
#include <map>

#include "cli/command_context.hpp"
#include "data/sentence_store.hpp"

namespace c2s {

void add_info_command(CommandSet& set) {
  auto store_path = std::make_shared<std::string>();
  auto* cmd = set.app.add_subcommand("info", "Describe a sentence store");
  cmd->add_option("store", *store_path, "Sentence store")->required();
  set.add(cmd, [store_path, &g = set.global] {
    SentenceStore store(*store_path);
    nlohmann::json obs = nlohmann::json::object();
    for (const auto& c : store.obs().columns) {
      nlohmann::json col;
      if (c.kind == Column::Kind::Numeric) {
        col["kind"] = "numeric";
      } else {
        std::map<std::string, std::int64_t> counts;
        for (std::size_t i = 0; i < c.size(); ++i) ++counts[c.text(i)];
        col["kind"] = c.kind == Column::Kind::Categorical ? "categorical" : "string";
        col["distinct"] = counts.size();
        if (counts.size() <= 50) col["counts"] = counts;
      }
      obs[c.name] = col;
    }
    const auto& counts = store.header().gene_n_cells;
    std::vector<std::size_t> order(counts.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::size_t top = std::min<std::size_t>(10, order.size());
    std::partial_sort(order.begin(), order.begin() + long(top), order.end(),
                      [&](std::size_t a, std::size_t b) { return counts[a] > counts[b]; });
    nlohmann::json common = nlohmann::json::array();
    for (std::size_t i = 0; i < top; ++i) common.push_back({store.genes()[order[i]], counts[order[i]]});
    nlohmann::json summary = {
        {"store", *store_path},
        {"cells", store.n_cells()},
        {"genes", store.n_genes()},
        {"entries", store.n_entries()},
        {"mean_genes_per_cell", store.n_cells() ? double(store.n_entries()) / double(store.n_cells()) : 0.0},
        {"obs", obs},
        {"most_common_genes", common},
        {"inverse_model", store.inverse_model() ? store.inverse_model()->to_json() : nlohmann::json(nullptr)},
        {"provenance", store.provenance()}};
    if (store.n_cells() > 0)
      summary["first_cell"] = {{"name", store.cell_names()[0]}, {"top_genes", store.sentence(0, 20)}};
    emit_summary(g, summary);
  });
}

}  // namespace c2s
