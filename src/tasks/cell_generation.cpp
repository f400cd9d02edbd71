#include "tasks/cell_generation.hpp"

#include <chrono>
#include <map>

#include "core/error.hpp"
#include "data/reconstruction.hpp"
#include "engine/generator.hpp"
#include "tasks/gene_sentence_decoding.hpp"
#include "text/prompt_formatter.hpp"

namespace c2s {

namespace {

// The prompt placeholder holding what cells are asked for (cell_type, tissue).
std::string condition_placeholder(const ModelTask& task) {
  return std::string(task_spec(task.task).input_required.front());
}

}  // namespace

CellGenerator::CellGenerator(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task,
                             std::vector<std::string> vocabulary, const std::vector<std::uint8_t>& known,
                             CellGenerationOptions options)
    : model_(model), tokenizer_(tokenizer), task_(std::move(task)), vocabulary_(std::move(vocabulary)), options_(options) {
  if (task_.task != PromptTask::CellTypeGeneration && task_.task != PromptTask::TissueConditionalGeneration)
    throw Error("generate-cells", "the model was trained for " + std::string(task_name(task_.task)) +
                                      ", not cell_type_generation or tissue_conditional_generation");
  multi_cell_ = task_spec(task_.task).multi_cell;
  end_ids_ = sentence_end_ids(tokenizer_, "generate-cells");
  if (options_.genes == 0) options_.genes = task_.top_k;
  if (options_.genes < 1) throw UsageError("genes per cell must be at least 1");
  if (options_.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  options_.sampling.validate();
  not_in_model_ = unknown_genes(known, vocabulary_.size(), "generate-cells");
  stats_.genes_not_in_model = not_in_model_.size();
}

std::vector<GeneratedCell> CellGenerator::generate(const std::vector<CellRequest>& requests, Progress* progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const PromptFormatter formatter = task_.formatter();
  const std::string condition = condition_placeholder(task_);
  PromptValues values = {{"num_genes", std::to_string(options_.genes)}, {"organism", task_.organism}};
  std::vector<std::string> inputs;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const CellRequest& r = requests[i];
    if (r.cells < 1 || (!multi_cell_ && r.cells != 1))
      throw Error("generate-cells", "request " + std::to_string(i) + " asks for " + std::to_string(r.cells) +
                                        " cells; a " + std::string(task_name(task_.task)) + " model writes " +
                                        (multi_cell_ ? "one or more" : "one") + " a prompt");
    values[condition] = r.condition;
    if (multi_cell_) values["num_cells"] = std::to_string(r.cells);
    inputs.push_back(formatter.format_input(i, values));
  }
  std::vector<std::vector<std::int64_t>> prompts;
  std::size_t longest = 0;
  for (const auto& p : tokenizer_.encode_batch(inputs, true)) {
    prompts.emplace_back(p.begin(), p.end());
    stats_.prompt_tokens += std::int64_t(p.size());
    longest = std::max(longest, p.size());
  }

  // The sentences sit in the response as the templates put them; the other
  // response placeholders (none in the built-in sets) take the prompt's
  // values. A multi-cell frame holds the largest group; each prompt's limits
  // say how many of its cells it writes (one entry per group size).
  values.erase(condition);
  values.erase("num_cells");
  const GeneSentenceFrame frame = gene_sentence_frame(task_.templates, task_.answer_placeholder(), values);
  std::map<std::int64_t, std::size_t> limits_of_size;  // cells -> index into limits
  std::vector<GeneLimits> limits;
  for (const auto& r : requests)
    if (limits_of_size.emplace(r.cells, limits.size()).second)
      limits.push_back({.max_genes = options_.genes, .forbidden = not_in_model_, .sentences = std::size_t(r.cells)});
  const std::int64_t most_cells = limits_of_size.empty() ? 1 : limits_of_size.rbegin()->first;
  const GeneSentenceConstraint constraint(tokenizer_, constraint_genes(vocabulary_, not_in_model_),
                                          multi_cell_ ? multi_cell_frame(frame, std::size_t(most_cells)) : frame,
                                          end_ids_);
  GenerationOptions g;
  g.max_new_tokens = constraint.token_budget(options_.genes);
  const std::int64_t positions = model_.config().max_positions;
  if (positions > 0 && std::int64_t(longest) + g.max_new_tokens - 1 > positions)
    g.max_new_tokens = std::max<std::int64_t>(1, positions - std::int64_t(longest) + 1);
  g.eos_ids = end_ids_;
  g.batch_size = options_.batch_size;
  g.sampling = options_.sampling;
  stats_.token_budget = g.max_new_tokens;
  stats_.genes_left_out =
      options_.decoding == SentenceDecoding::Constrained ? constraint.genes_left_out() : 0;

  Generator generator(model_);
  std::vector<Generation> generations;
  if (options_.decoding == SentenceDecoding::Constrained) {
    // The mask picks a prompt's limits by the index it is called with.
    const AllowedTokens mask = constraint.allowed_tokens(limits);
    generations = generator.generate(
        prompts, g, [&](std::size_t prompt, std::span<const std::int64_t> generated, std::span<std::uint8_t> allowed) {
          mask(limits_of_size.at(requests[prompt].cells), generated, allowed);
        });
  } else {
    generations = generator.generate(prompts, g);
  }

  const SentenceParser parser(vocabulary_);
  std::vector<GeneratedCell> out;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& tokens = generations[i].tokens;
    const std::string text = tokenizer_.decode(std::vector<TokenId>(tokens.begin(), tokens.end()), true);
    // The text of each cell written.
    const std::vector<std::string> texts =
        multi_cell_ ? split_multi_cell_sentences(text) : std::vector<std::string>{text};
    std::vector<GeneratedCell> cells;
    if (options_.decoding == SentenceDecoding::Constrained) {
      const DecodedGenes decoded = constraint.decode(tokens, limits[limits_of_size.at(requests[i].cells)]);
      if (decoded.invalid_at >= 0)
        throw Error("generate-cells", "prompt " + std::to_string(i) + ": token " + std::to_string(decoded.invalid_at) +
                                          " breaks the gene constraint (a bug)");
      for (std::size_t k = 0; k < decoded.sentences(); ++k) {
        GeneratedCell& cell = cells.emplace_back();
        cell.genes.assign(decoded.genes.begin() + std::ptrdiff_t(decoded.sentence_offsets[k]),
                          decoded.genes.begin() + std::ptrdiff_t(decoded.sentence_offsets[k + 1]));
        cell.text = k < texts.size() ? texts[k] : "";
      }
    } else {
      for (const auto& t : texts) {
        const ParsedSentence parsed = parser.parse(t);
        GeneratedCell& cell = cells.emplace_back();
        cell.genes = parsed.genes;
        cell.text = t;
        cell.unknown_words = parsed.unknown;
        cell.duplicate_genes = parsed.duplicates;
      }
    }
    if (multi_cell_ && cells.size() > std::size_t(requests[i].cells)) {
      stats_.cells_extra += std::int64_t(cells.size()) - requests[i].cells;
      cells.resize(std::size_t(requests[i].cells));
    }
    stats_.cells_missing += requests[i].cells - std::int64_t(cells.size());
    for (auto& cell : cells) {
      cell.request = i;
      cell.finish_reason = generations[i].finish_reason;
      out.push_back(std::move(cell));
    }
    stats_.new_tokens += std::int64_t(tokens.size());
    if (generations[i].finish_reason == "length") ++stats_.cut_short;
  }
  if (progress) progress->advance(requests.size());
  stats_.prompts += std::int64_t(requests.size());
  stats_.cells += std::int64_t(out.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace c2s
