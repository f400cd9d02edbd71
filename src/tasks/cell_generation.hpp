// Cell generation with a model trained for cell_type_generation (one cell a
// prompt, of a given type) or tissue_conditional_generation (a group of
// cells a prompt, from a given tissue, written as {multi_cell_sentences}):
// each prompt is formatted with the model's own templates (keyed by the
// prompt's index, so the paraphrases vary as in training) and sampled, each
// prompt from its own random stream, then
//   * constrained (the default): only genes of the vocabulary, each at most
//     once a cell, up to the requested number, the cells' fixed headers
//     ("Cell 2:") between them, then the response's end text and EOS
//     (gene_sentence_decoding.hpp);
//   * free (the reference package's way): unconstrained, then split into
//     cells at their headers and cleaned as the reference does (unknown
//     words dropped and counted, a repeated gene merged at its mean
//     position: data/reconstruction.hpp's SentenceParser).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "engine/token_sampler.hpp"
#include "model/causal_lm.hpp"
#include "tasks/gene_sentence_decoding.hpp"
#include "text/model_task.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

struct CellGenerationOptions {
  SentenceDecoding decoding = SentenceDecoding::Constrained;
  std::int64_t genes = 0;  // genes per cell ({num_genes}, and the constraint's limit); 0: the model's top-k
  SamplingOptions sampling{.do_sample = true, .top_k = 50};
  std::int64_t batch_size = 16;
};

// What one prompt asks for: cells of a type or tissue (a single-cell task:
// one cell).
struct CellRequest {
  std::string condition;
  std::int64_t cells = 1;
};

struct GeneratedCell {
  std::size_t request = 0;           // index of the request (prompt) that wrote it
  std::vector<std::uint32_t> genes;  // vocabulary indices, most expressed first, each once
  std::string text;                  // the generated text of this cell (special tokens left out)
  std::string finish_reason;         // its prompt's: "eos" or "length" (cut at the token budget)
  std::int64_t unknown_words = 0;    // free mode: words that are no vocabulary gene (dropped)
  std::int64_t duplicate_genes = 0;  // free mode: repeats merged into one gene
};

struct CellGenerationStats {
  std::int64_t prompts = 0, cells = 0;
  // Free mode, multi-cell: cells asked for but not written, and cells
  // written beyond those asked for (dropped).
  std::int64_t cells_missing = 0, cells_extra = 0;
  std::int64_t prompt_tokens = 0, new_tokens = 0;
  std::int64_t cut_short = 0;        // rows that reached the token budget
  std::int64_t token_budget = 0;     // new tokens per cell at most
  std::size_t genes_left_out = 0;    // constrained: vocabulary genes the tokenizer cannot write
  std::size_t genes_not_in_model = 0;  // vocabulary genes the model was not trained on (never written)
  double seconds = 0;
};

class CellGenerator {
 public:
  // `vocabulary`: the genes cells may hold (the store's, which reconstructs
  // them); `known`: per vocabulary gene, whether the model was trained on it
  // (check_store_genes); the others are never written in constrained mode.
  // Errors: a model not trained for cell_type_generation or
  // tissue_conditional_generation, a tokenizer without EOS.
  CellGenerator(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task, std::vector<std::string> vocabulary,
                const std::vector<std::uint8_t>& known, CellGenerationOptions options);

  std::int64_t genes_per_cell() const { return options_.genes; }
  bool multi_cell() const { return multi_cell_; }

  // The cells of each request, in request order (a request of a single-cell
  // task must ask for one cell). Request i's template and random stream are
  // keyed by i, so its cells do not depend on the batch or thread count.
  // Free mode may write fewer cells than asked (counted in the stats).
  std::vector<GeneratedCell> generate(const std::vector<CellRequest>& requests, Progress* progress = nullptr);
  const CellGenerationStats& stats() const { return stats_; }

 private:
  const CausalLM& model_;
  const Tokenizer& tokenizer_;
  ModelTask task_;
  std::vector<std::string> vocabulary_;
  CellGenerationOptions options_;
  std::vector<std::int64_t> end_ids_;
  std::vector<std::uint32_t> not_in_model_;
  bool multi_cell_ = false;
  CellGenerationStats stats_;
};

}  // namespace c2s
