// From sentences back to expression with the inverse model: stored cells, or
// any text sentences (a model's output) cleaned as the reference does
// (upper-case, unknown words dropped and counted, a repeated gene merged at
// its average position), written as an h5ad over the vocabulary's genes.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/inverse_model.hpp"
#include "data/sentence_store.hpp"
#include "io/anndata_writer.hpp"

namespace c2s {

// A text sentence mapped onto a vocabulary.
struct ParsedSentence {
  std::vector<std::uint32_t> genes;  // vocabulary indices, most expressed first, unique
  std::int64_t words = 0;            // words in the text
  std::int64_t unknown = 0;          // words that are not vocabulary genes (dropped)
  std::int64_t duplicates = 0;       // extra occurrences merged into one gene
};

class SentenceParser {
 public:
  explicit SentenceParser(const std::vector<std::string>& vocabulary);
  ParsedSentence parse(const std::string& text) const;

 private:
  std::vector<std::string> vocabulary_;
  std::unordered_map<std::string, std::uint32_t> index_;
};

// Expression of the gene at 0-based rank `rank` (clipped at 0: the linear
// model goes negative past rank 10^(intercept/-slope) - 1).
float reconstructed_value(const InverseModel& model, std::size_t rank);

struct ReconstructOptions {
  std::int64_t top_k = 0;  // stored cells: use only the first k genes (0 = all)
};

// All cells of a store -> h5ad (obs as stored, var = vocabulary).
nlohmann::json reconstruct_store(const SentenceStore& store, const std::string& out_h5ad,
                                 const ReconstructOptions& options);

// Text sentences -> h5ad; `obs` rows (index = cell names) must match them.
// `uns`: more scalars to record beside the inverse model's.
nlohmann::json reconstruct_sentences(const std::vector<std::string>& sentences, const DataFrame& obs,
                                     const std::vector<std::string>& vocabulary,
                                     const std::vector<std::int64_t>& gene_n_cells, const InverseModel& model,
                                     const std::string& out_h5ad,
                                     const std::vector<std::pair<std::string, UnsScalar>>& uns = {});

}  // namespace c2s
