#include "data/reconstruction.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <sstream>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/gene_names.hpp"
#include "io/anndata_writer.hpp"

namespace c2s {

SentenceParser::SentenceParser(const std::vector<std::string>& vocabulary) : vocabulary_(vocabulary) {
  for (std::size_t i = 0; i < vocabulary.size(); ++i) index_.emplace(vocabulary[i], std::uint32_t(i));
}

ParsedSentence SentenceParser::parse(const std::string& text) const {
  // The reference's post-processing: unknown words hold their place while
  // duplicates are merged, each duplicated gene (in order of first
  // occurrence) removed and re-inserted at the integer mean of its positions.
  constexpr std::uint32_t kUnknown = UINT32_MAX;
  ParsedSentence out;
  std::vector<std::uint32_t> words;
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    while (!w.empty() && (w.back() == '.' || w.back() == ',')) w.pop_back();  // sentence punctuation
    if (w.empty()) continue;
    auto it = index_.find(upper_case(w));
    words.push_back(it == index_.end() ? kUnknown : it->second);
    ++out.words;
    if (it == index_.end()) ++out.unknown;
  }
  std::unordered_map<std::uint32_t, std::int64_t> occurrences;
  std::vector<std::uint32_t> first_order;
  for (auto g : words)
    if (g != kUnknown && occurrences[g]++ == 0) first_order.push_back(g);
  for (auto g : first_order) {
    if (occurrences[g] < 2) continue;
    out.duplicates += occurrences[g] - 1;
    std::int64_t sum = 0, count = 0;
    for (std::size_t i = 0; i < words.size(); ++i)
      if (words[i] == g) sum += std::int64_t(i), ++count;
    std::int64_t average = sum / count;
    std::erase(words, g);
    words.insert(words.begin() + std::min<std::int64_t>(average, std::int64_t(words.size())), g);
  }
  for (auto g : words)
    if (g != kUnknown) out.genes.push_back(g);
  return out;
}

float reconstructed_value(const InverseModel& model, std::size_t rank) {
  return float(std::max(0.0, model.predict(double(rank))));
}

namespace {

DataFrame vocabulary_var(const std::vector<std::string>& vocabulary, const std::vector<std::int64_t>& n_cells) {
  DataFrame var;
  var.index = vocabulary;
  Column counts{.name = "n_cells", .kind = Column::Kind::Numeric};
  for (auto c : n_cells) counts.numbers.push_back(double(c));
  var.columns.push_back(std::move(counts));
  return var;
}

void append_row(SparseRows& rows, const std::vector<std::uint32_t>& genes, const InverseModel& model) {
  std::vector<std::pair<std::int32_t, float>> entries;
  for (std::size_t r = 0; r < genes.size(); ++r) {
    float v = reconstructed_value(model, r);
    if (v > 0) entries.emplace_back(std::int32_t(genes[r]), v);
  }
  std::sort(entries.begin(), entries.end());
  for (auto& [g, v] : entries) {
    rows.indices.push_back(g);
    rows.values.push_back(v);
  }
  rows.indptr.push_back(std::int64_t(rows.indices.size()));
}

void add_model_uns(AnnDataWriter& writer, const InverseModel& model) {
  writer.add_uns("c2s_inverse_slope", model.slope);
  writer.add_uns("c2s_inverse_intercept", model.intercept);
  writer.add_uns("c2s_version", std::string(C2S_VERSION));
}

}  // namespace

nlohmann::json reconstruct_store(const SentenceStore& store, const std::string& out_h5ad,
                                 const ReconstructOptions& options) {
  if (!store.inverse_model()) throw Error(store.path(), "the store has no inverse model (run `c2s inverse fit`)");
  const InverseModel& model = *store.inverse_model();
  AnnDataWriter writer(out_h5ad, store.n_genes());
  Progress progress("reconstruct", std::uint64_t(store.n_cells()));
  CellBlock block;
  SparseRows rows;
  std::vector<std::uint32_t> genes;
  for (std::int64_t begin = 0; begin < store.n_cells(); begin += 4096) {
    std::int64_t end = std::min(store.n_cells(), begin + 4096);
    store.read(begin, end, block);
    rows.clear(begin, store.n_genes());
    for (std::size_t i = 0; i < block.size(); ++i) {
      std::int64_t a = block.offsets[i], b = block.offsets[i + 1];
      if (options.top_k > 0) b = std::min(b, a + options.top_k);
      genes.assign(block.genes.begin() + a, block.genes.begin() + b);
      append_row(rows, genes, model);
    }
    writer.append_rows(rows);
    progress.advance(std::uint64_t(end - begin));
  }
  progress.finish();
  DataFrame obs = store.obs();
  obs.index = store.cell_names();
  writer.set_obs(obs);
  writer.set_var(vocabulary_var(store.genes(), store.header().gene_n_cells));
  add_model_uns(writer, model);
  writer.commit();
  return {{"output", out_h5ad}, {"cells", store.n_cells()}, {"genes", store.n_genes()}};
}

nlohmann::json reconstruct_sentences(const std::vector<std::string>& sentences, const DataFrame& obs,
                                     const std::vector<std::string>& vocabulary,
                                     const std::vector<std::int64_t>& gene_n_cells, const InverseModel& model,
                                     const std::string& out_h5ad,
                                     const std::vector<std::pair<std::string, UnsScalar>>& uns) {
  if (obs.n_rows() != sentences.size()) throw Error(out_h5ad, "obs rows differ from sentences");
  SentenceParser parser(vocabulary);
  AnnDataWriter writer(out_h5ad, std::int64_t(vocabulary.size()));
  SparseRows rows;
  rows.clear(0, std::int64_t(vocabulary.size()));
  Column unknown{.name = "c2s_unknown_words", .kind = Column::Kind::Numeric};
  Column duplicates{.name = "c2s_duplicate_genes", .kind = Column::Kind::Numeric};
  Column kept{.name = "c2s_genes", .kind = Column::Kind::Numeric};
  std::int64_t total_words = 0, total_unknown = 0, total_duplicates = 0;
  for (const auto& s : sentences) {
    ParsedSentence p = parser.parse(s);
    append_row(rows, p.genes, model);
    unknown.numbers.push_back(double(p.unknown));
    duplicates.numbers.push_back(double(p.duplicates));
    kept.numbers.push_back(double(p.genes.size()));
    total_words += p.words;
    total_unknown += p.unknown;
    total_duplicates += p.duplicates;
  }
  writer.append_rows(rows);
  DataFrame out_obs = obs;
  for (Column* c : {&kept, &unknown, &duplicates}) {
    std::erase_if(out_obs.columns, [&](const Column& x) { return x.name == c->name; });
    out_obs.columns.push_back(std::move(*c));
  }
  writer.set_obs(out_obs);
  writer.set_var(vocabulary_var(vocabulary, gene_n_cells));
  add_model_uns(writer, model);
  for (const auto& [key, value] : uns) writer.add_uns(key, value);
  writer.commit();
  return {{"output", out_h5ad},
          {"cells", sentences.size()},
          {"words", total_words},
          {"unknown_words_dropped", total_unknown},
          {"duplicate_genes_merged", total_duplicates}};
}

}  // namespace c2s
