#include "tasks/cell_generation.hpp"

#include <chrono>

#include "core/error.hpp"
#include "data/reconstruction.hpp"
#include "engine/generator.hpp"
#include "tasks/gene_sentence_decoding.hpp"

namespace c2s {

CellGenerator::CellGenerator(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task,
                             std::vector<std::string> vocabulary, const std::vector<std::uint8_t>& known,
                             CellGenerationOptions options)
    : model_(model), tokenizer_(tokenizer), task_(std::move(task)), vocabulary_(std::move(vocabulary)), options_(options) {
  if (task_.task != PromptTask::CellTypeGeneration)
    throw Error("generate-cells", "the model was trained for " + std::string(task_name(task_.task)) +
                                      ", not cell_type_generation");
  end_ids_ = sentence_end_ids(tokenizer_, "generate-cells");
  if (options_.genes == 0) options_.genes = task_.top_k;
  if (options_.genes < 1) throw UsageError("genes per cell must be at least 1");
  if (options_.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  options_.sampling.validate();
  not_in_model_ = unknown_genes(known, vocabulary_.size(), "generate-cells");
  stats_.genes_not_in_model = not_in_model_.size();
}

std::vector<GeneratedCell> CellGenerator::generate(const std::vector<std::string>& cell_types, Progress* progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const PromptFormatter formatter = task_.formatter();
  PromptValues values = {{"num_genes", std::to_string(options_.genes)}, {"organism", task_.organism}};
  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < cell_types.size(); ++i) {
    values["cell_type"] = cell_types[i];
    inputs.push_back(formatter.format_input(i, values));
  }
  std::vector<std::vector<std::int64_t>> prompts;
  std::size_t longest = 0;
  for (const auto& p : tokenizer_.encode_batch(inputs, true)) {
    prompts.emplace_back(p.begin(), p.end());
    stats_.prompt_tokens += std::int64_t(p.size());
    longest = std::max(longest, p.size());
  }

  // The sentence sits in the response as the templates put it; the other
  // response placeholders (none in the built-in set) take the prompt's values.
  values.erase("cell_type");
  const GeneSentenceConstraint constraint(tokenizer_, vocabulary_,
                                          gene_sentence_frame(task_.templates, "cell_sentence", values), end_ids_);
  const GeneLimits limits{.max_genes = options_.genes, .forbidden = not_in_model_};
  GenerationOptions g;
  g.max_new_tokens = constraint.token_budget(options_.genes);
  const std::int64_t positions = model_.config().max_positions;
  if (positions > 0 && std::int64_t(longest) + g.max_new_tokens - 1 > positions)
    g.max_new_tokens = std::max<std::int64_t>(1, positions - std::int64_t(longest) + 1);
  g.eos_ids = end_ids_;
  g.batch_size = options_.batch_size;
  g.sampling = options_.sampling;
  stats_.token_budget = g.max_new_tokens;
  stats_.genes_left_out = options_.decoding == SentenceDecoding::Constrained ? constraint.genes_left_out() : 0;

  Generator generator(model_);
  const auto generations =
      options_.decoding == SentenceDecoding::Constrained
          ? generator.generate(prompts, g, constraint.allowed_tokens({limits}))
          : generator.generate(prompts, g);

  const SentenceParser parser(vocabulary_);
  std::vector<GeneratedCell> out(cell_types.size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& tokens = generations[i].tokens;
    GeneratedCell& cell = out[i];
    cell.text = tokenizer_.decode(std::vector<TokenId>(tokens.begin(), tokens.end()), true);
    cell.finish_reason = generations[i].finish_reason;
    if (options_.decoding == SentenceDecoding::Constrained) {
      const DecodedGenes decoded = constraint.decode(tokens, limits);
      if (decoded.invalid_at >= 0)
        throw Error("generate-cells", "cell " + std::to_string(i) + ": token " + std::to_string(decoded.invalid_at) +
                                          " breaks the gene constraint (a bug)");
      cell.genes = decoded.genes;
    } else {
      const ParsedSentence parsed = parser.parse(cell.text);
      cell.genes = parsed.genes;
      cell.unknown_words = parsed.unknown;
      cell.duplicate_genes = parsed.duplicates;
    }
    stats_.new_tokens += std::int64_t(tokens.size());
    if (cell.finish_reason == "length") ++stats_.cut_short;
  }
  if (progress) progress->advance(out.size());
  stats_.cells += std::int64_t(out.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace c2s
