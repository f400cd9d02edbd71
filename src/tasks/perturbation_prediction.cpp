#include "tasks/perturbation_prediction.hpp"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/error.hpp"

namespace c2s {

namespace {

constexpr const char* kSentence = "perturbed_cell_sentence";
constexpr std::size_t kChunk = 256;  // prompts per generator call (a batch is at most this)

std::string_view trimmed(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

}  // namespace

std::string sentence_in_response(const PromptTemplate& response_template, const PromptValues& values,
                                 const std::string& response) {
  // The template formatted around a marker gives its text before and after
  // the sentence for these values.
  static const std::string kMarker = "\x01\x02\x03";
  PromptValues v = values;
  v[kSentence] = kMarker;
  const std::string shape = response_template.format(v);
  const auto at = shape.find(kMarker);
  if (at == std::string::npos) throw Error(response_template.where(), "holds no {perturbed_cell_sentence}");
  const std::string_view before = trimmed(std::string_view(shape).substr(0, at));
  const std::string_view after = trimmed(std::string_view(shape).substr(at + kMarker.size()));
  std::string_view s = trimmed(response);
  if (!before.empty() && s.substr(0, before.size()) == before) s = trimmed(s.substr(before.size()));
  if (!after.empty() && s.size() >= after.size() && s.substr(s.size() - after.size()) == after)
    s = trimmed(s.substr(0, s.size() - after.size()));
  return std::string(s);
}

void check_perturbation_task(const ModelTask& task, const std::string& perturbation) {
  if (task.task != PromptTask::PerturbationPrediction)
    throw Error("perturb", "the model was trained for " + std::string(task_name(task.task)) +
                               ", not perturbation_prediction");
  if (perturbation.empty() || std::find(task.labels.begin(), task.labels.end(), perturbation) != task.labels.end())
    return;
  std::string known;
  for (const auto& p : task.labels) known += (known.empty() ? "'" : ", '") + p + "'";
  throw Error("--perturbation", "'" + perturbation + "' was not seen in training (the model knows " +
                                    (known.empty() ? std::string("none") : known) + ")");
}

PerturbationPredictor::PerturbationPredictor(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task,
                                             std::vector<std::string> vocabulary,
                                             const std::vector<std::uint8_t>& known, PerturbationOptions options)
    : model_(model),
      tokenizer_(tokenizer),
      task_(std::move(task)),
      formatter_(task_.formatter()),
      vocabulary_(std::move(vocabulary)),
      options_(options) {
  check_perturbation_task(task_);
  end_ids_ = sentence_end_ids(tokenizer_, "perturb");
  if (options_.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (options_.max_new_tokens < 0) throw UsageError("--max-new-tokens must not be negative");
  options_.sampling.validate();
  not_in_model_ = unknown_genes(known, vocabulary_.size(), "perturb");
  stats_.genes_not_in_model = not_in_model_.size();
}

PromptValues PerturbationPredictor::values_of(const ControlCell& cell, const std::string& perturbation) const {
  const std::string_view shown = first_genes(cell.sentence, task_.top_k);
  PromptValues v = {{"control_cell_sentence", std::string(shown)},
                    {"num_genes", std::to_string(count_genes(shown))},
                    {"organism", task_.organism},
                    {"perturbation_name", perturbation}};
  if (!task_.match_column.empty()) v["cell_type"] = cell.match;
  return v;
}

std::vector<PredictedSentence> PerturbationPredictor::predict(const std::vector<ControlCell>& controls,
                                                              const std::string& perturbation, Progress* progress) {
  check_perturbation_task(task_, perturbation);
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<PromptValues> values(controls.size());
  std::vector<std::string> inputs(controls.size());
  for (std::size_t i = 0; i < controls.size(); ++i) {
    values[i] = values_of(controls[i], perturbation);
    inputs[i] = formatter_.format_input(controls[i].key, values[i]);
  }
  std::vector<std::vector<std::int64_t>> prompts;
  for (const auto& p : tokenizer_.encode_batch(inputs, true)) {
    prompts.emplace_back(p.begin(), p.end());
    stats_.prompt_tokens += std::int64_t(p.size());
  }

  // Constrained: the sentence sits in the response as the templates put it
  // (the other response placeholders take the cell's values; one frame for
  // all cells), at most top-k genes, each once.
  const bool constrained = options_.decoding == SentenceDecoding::Constrained;
  std::optional<GeneSentenceConstraint> constraint;
  const GeneLimits limits{.max_genes = task_.top_k, .forbidden = not_in_model_};
  if (constrained && !controls.empty()) {
    auto frame_of = [&](const PromptValues& v) {
      PromptValues rest = v;
      rest.erase(kSentence);
      return gene_sentence_frame(task_.templates, kSentence, rest);
    };
    const GeneSentenceFrame frame = frame_of(values[0]);
    for (const auto& v : values) {
      const GeneSentenceFrame f = frame_of(v);
      if (f.before != frame.before || f.after != frame.after)
        throw Error("perturb", "the model's response templates put text that differs between cells around the "
                               "sentence; constrained decoding needs the same for every cell (use --free)");
    }
    constraint.emplace(tokenizer_, constraint_genes(vocabulary_, not_in_model_), frame, end_ids_);
    stats_.genes_left_out = constraint->genes_left_out();
  }

  // Constrained: room for top-k genes; free: for a sentence as long as the
  // controls' own sentences in the response template (with EOS), plus a
  // margin.
  std::int64_t limit = options_.max_new_tokens;
  if (limit == 0 && constraint) {
    limit = constraint->token_budget(task_.top_k);
  } else if (limit == 0) {
    std::vector<std::string> own(controls.size());
    for (std::size_t i = 0; i < controls.size(); ++i) {
      PromptValues v = values[i];
      v[kSentence] = v["control_cell_sentence"];
      own[i] = formatter_.format_response(controls[i].key, v);
    }
    std::int64_t longest = 0;
    for (const auto& ids : tokenizer_.encode_batch(own, false)) longest = std::max(longest, std::int64_t(ids.size()) + 1);
    limit = longest + longest / 10 + 8;
  }
  stats_.max_new_tokens = limit;
  GenerationOptions g;
  g.max_new_tokens = limit;
  g.sampling = options_.sampling;
  g.eos_ids = end_ids_;
  g.batch_size = options_.batch_size;
  g.validate();
  for (std::size_t i = 0; i < prompts.size(); ++i)  // before any work; the last new token is never run
    model_.check_input(prompts[i], limit - 1, "the prompt of control cell " + std::to_string(controls[i].key));

  // In chunks of a fixed size, for progress. The generator keys sampling
  // draws by (seed, position in its call): each chunk gets a seed of its own,
  // so a cell's draws depend on its position in `controls` alone, not on the
  // batch size.
  std::vector<PredictedSentence> out(controls.size());
  for (std::size_t begin = 0; begin < prompts.size(); begin += kChunk) {
    const std::size_t end = std::min(prompts.size(), begin + kChunk);
    std::vector<std::vector<std::int64_t>> part(prompts.begin() + std::ptrdiff_t(begin),
                                                prompts.begin() + std::ptrdiff_t(end));
    GenerationOptions gc = g;
    gc.sampling.seed = g.sampling.seed + 0x9e3779b97f4a7c15ull * std::uint64_t(begin / kChunk);
    Generator generator(model_);
    const auto generations = constraint ? generator.generate(part, gc, constraint->allowed_tokens({limits}))
                                        : generator.generate(part, gc);
    for (std::size_t k = 0; k < generations.size(); ++k) {
      const std::size_t i = begin + k;
      const auto& t = generations[k].tokens;
      PredictedSentence& p = out[i];
      p.text = tokenizer_.decode(std::vector<TokenId>(t.begin(), t.end()), true);
      p.finish_reason = generations[k].finish_reason;
      if (constraint) {
        const DecodedGenes decoded = constraint->decode(t, limits);
        if (decoded.invalid_at >= 0)
          throw Error("perturb", "control cell " + std::to_string(controls[i].key) + ": token " +
                                     std::to_string(decoded.invalid_at) + " breaks the gene constraint (a bug)");
        for (std::uint32_t gene : decoded.genes) p.sentence += (p.sentence.empty() ? "" : " ") + vocabulary_[gene];
      } else {
        const std::size_t choice = formatter_.response_choice(controls[i].key);
        p.sentence = sentence_in_response(formatter_.templates().response[choice], values[i], p.text);
      }
      stats_.new_tokens += std::int64_t(t.size());
      stats_.length_stops += p.finish_reason == "length";
    }
    if (progress) progress->advance(end - begin);
  }
  stats_.cells += std::int64_t(controls.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace c2s
