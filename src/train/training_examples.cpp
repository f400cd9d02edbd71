#include "train/training_examples.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/line_reader.hpp"

namespace c2s {

void TrainingExamples::add(std::span<const TokenId> prompt, std::span<const TokenId> response, TokenId eos,
                           std::int64_t max_tokens) {
  std::int64_t n = std::int64_t(prompt.size() + response.size()) + 1;
  const bool cut = max_tokens > 0 && n > max_tokens;
  if (cut) n = max_tokens;
  std::int64_t taken = 0;
  auto take = [&](std::int64_t id) {
    if (taken++ < n) ids_.push_back(id);
  };
  for (TokenId t : prompt) take(t);
  for (TokenId t : response) take(t);
  take(eos);
  offsets_.push_back(ids_.size());
  prompt_tokens_.push_back(std::min<std::int64_t>(std::int64_t(prompt.size()), n));
  truncated_ += cut;
}

TrainingExamples tokenize_examples(std::span<const FormattedPrompt> pairs, const Tokenizer& tokenizer,
                                   std::int64_t max_tokens) {
  const auto eos = tokenizer.special_ids().eos;
  if (!eos) throw Error("tokenizer", "has no end-of-sequence token, which training appends to every response");
  std::vector<std::string> inputs, responses;
  inputs.reserve(pairs.size());
  responses.reserve(pairs.size());
  for (const auto& p : pairs) {
    inputs.push_back(p.model_input);
    responses.push_back(p.response);
  }
  const auto prompt_ids = tokenizer.encode_batch(inputs, true);
  const auto response_ids = tokenizer.encode_batch(responses, false);
  TrainingExamples out;
  for (std::size_t i = 0; i < pairs.size(); ++i) out.add(prompt_ids[i], response_ids[i], *eos, max_tokens);
  return out;
}

std::vector<FormattedPrompt> format_plan(const SentenceStore& store, const ExamplePlan& plan,
                                         const PromptFormatter& formatter, const CountThinning* thinning) {
  StoreSentences sentences;
  sentences.load(store, plan.cells, plan.options.top_k, false, nullptr, thinning);
  std::vector<FormattedPrompt> out;
  out.reserve(plan.size());
  for (std::size_t i = 0; i < plan.size(); ++i) out.push_back(format_example(plan, i, sentences, formatter));
  return out;
}

std::vector<FormattedPrompt> read_task_examples(const std::filesystem::path& path) {
  LineReader reader(path.string());
  std::vector<FormattedPrompt> out;
  std::string_view line;
  while (reader.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error(reader.where(), "not a JSON object");
    FormattedPrompt p;
    for (auto [key, field] : {std::pair{"model_input", &p.model_input}, std::pair{"response", &p.response}}) {
      if (!j.contains(key) || !j[key].is_string())
        throw Error(reader.where(), std::string("needs a string \"") + key + "\" (task examples from c2s prompts)");
      *field = j[key].get<std::string>();
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) throw Error(reader.path(), "no examples");
  return out;
}

}  // namespace c2s
