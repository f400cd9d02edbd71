// Perturbation prediction with a model trained for perturbation_prediction:
// each control cell's prompt is formatted with the model's own templates
// (its top-k sentence, the perturbation's name, its match value), the
// perturbed cell's sentence is generated (batched; sampled, each cell from
// its own random stream, or greedy) and taken out of the response template's
// text. Constrained (the default): the model may write only vocabulary genes
// it knows, each at most once, at most the model's top-k, then the response's
// end text and EOS (gene_sentence_decoding.hpp); free: any text, which the
// caller cleans when it turns sentences into expression
// (data/reconstruction.hpp: unknown words dropped and counted, repeated genes
// merged).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "engine/generator.hpp"
#include "model/causal_lm.hpp"
#include "tasks/gene_sentence_decoding.hpp"
#include "text/model_task.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

struct PerturbationOptions {
  SentenceDecoding decoding = SentenceDecoding::Constrained;
  std::int64_t batch_size = 16;      // prompts generated together
  // 0: constrained, what top-k genes can take; free, the longest response
  // the controls' own sentences make, + 10% and 8.
  std::int64_t max_new_tokens = 0;
  // Sampled by default: a mean shift is an expectation over perturbed cells,
  // which samples estimate and the mode (greedy) does not.
  SamplingOptions sampling{.do_sample = true, .top_k = 50};
};

// One control cell to perturb.
struct ControlCell {
  std::string sentence;  // its top-k genes, most expressed first
  std::uint64_t key = 0;  // the template-choice key: its index in the store
  std::string match;     // its value of the model's match column ("" when the model matched none)
};

struct PredictedSentence {
  std::string sentence;       // the perturbed cell's sentence: the response with the template's text taken off
  std::string text;           // the response as generated
  std::string finish_reason;  // eos or length
};

struct PerturbationStats {
  std::int64_t cells = 0;
  std::int64_t prompt_tokens = 0;
  std::int64_t new_tokens = 0;
  std::int64_t max_new_tokens = 0;  // the limit used
  std::int64_t length_stops = 0;    // responses cut at the limit
  std::size_t genes_left_out = 0;   // constrained: vocabulary genes the tokenizer cannot write
  std::size_t genes_not_in_model = 0;  // vocabulary genes the model was not trained on (never written when constrained)
  double seconds = 0;
};

class PerturbationPredictor {
 public:
  // `vocabulary`: the genes predicted cells may hold (the store's, which
  // reconstructs them); `known`: per vocabulary gene, whether the model was
  // trained on it (check_store_genes). Errors: a model not trained for
  // perturbation_prediction, a tokenizer without EOS; UsageError for
  // impossible options.
  PerturbationPredictor(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task,
                        std::vector<std::string> vocabulary, const std::vector<std::uint8_t>& known,
                        PerturbationOptions options);

  // One predicted sentence per control cell, in order. A cell's result does
  // not depend on the other cells or the batch size.
  std::vector<PredictedSentence> predict(const std::vector<ControlCell>& controls, const std::string& perturbation,
                                         Progress* progress = nullptr);
  const PerturbationStats& stats() const { return stats_; }

 private:
  PromptValues values_of(const ControlCell& cell, const std::string& perturbation) const;
  const CausalLM& model_;
  const Tokenizer& tokenizer_;
  ModelTask task_;
  PromptFormatter formatter_;
  std::vector<std::string> vocabulary_;
  PerturbationOptions options_;
  std::vector<std::int64_t> end_ids_;
  std::vector<std::uint32_t> not_in_model_;
  PerturbationStats stats_;
};

// Errors: a task other than perturbation_prediction; a `perturbation` (when
// given) not seen in training, naming those that were.
void check_perturbation_task(const ModelTask& task, const std::string& perturbation = "");

// The sentence in a response made from `response_template` (which holds
// {perturbed_cell_sentence} once): the template's literal text before and
// after it is taken off where the response has it; surrounding spaces too.
std::string sentence_in_response(const PromptTemplate& response_template, const PromptValues& values,
                                 const std::string& response);

}  // namespace c2s
