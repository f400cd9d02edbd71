#include "cli/model/model_session.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "core/error.hpp"
#include "io/line_reader.hpp"
#include "model/compute_options.hpp"

namespace c2s {

void add_model_options(CLI::App* cmd, ModelArgs& args) {
  cmd->add_option("--model", args.model, "Hugging Face model folder (config.json, *.safetensors, tokenizer)")->required();
  cmd->add_option("--dtype", args.dtype, "Compute dtype: fp32, bf16 or fp16")->capture_default_str();
  cmd->add_option("--batch-size", args.batch_size, "Prompts run together")->capture_default_str()->check(CLI::Range(1, 65536));
}

void add_cell_sampling_options(CLI::App* cmd, SamplingOptions& sampling, const std::string& seed_note) {
  cmd->add_option("--temperature", sampling.temperature, "Sampling temperature")->capture_default_str();
  cmd->add_option("--top-k", sampling.top_k, "Sample among the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--top-p", sampling.top_p, "Nucleus sampling: smallest set of tokens with this probability")
      ->capture_default_str();
  cmd->add_option("--seed", sampling.seed, "Seed of the sampling draws" + seed_note)->capture_default_str();
}

ModelSession open_model_session(const ModelArgs& args, const GlobalOptions& global) {
  ComputeOptions options{parse_compute_dtype(args.dtype), default_device()};
  set_compute_threads(global.threads);
  auto t0 = std::chrono::steady_clock::now();
  ModelSession s;
  s.model = load_causal_lm(args.model, options);
  const std::filesystem::path folder(args.model);
  if (std::filesystem::exists(folder / "tokenizer.json") || std::filesystem::exists(folder / "tokenizer.model"))
    s.tokenizer = load_tokenizer(folder);
  s.load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return s;
}

void add_prompt_options(CLI::App* cmd, PromptArgs& args) {
  cmd->add_option("--prompt", args.prompt, "One prompt text");
  cmd->add_option("--prompts", args.prompts_file,
                  "JSONL of prompts, one object per line with \"prompt\", \"model_input\" or \"ids\" (- = stdin)");
}

namespace {

PromptInput prompt_from_line(const std::string& line, const std::string& where) {
  nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw Error(where, "not a JSON object");
  PromptInput p;
  p.source = j;
  for (const char* key : {"prompt", "model_input"})
    if (j.contains(key)) {
      if (!j[key].is_string()) throw Error(where, std::string("\"") + key + "\" must be a string");
      p.text = j[key].get<std::string>();
      return p;
    }
  if (j.contains("ids")) {
    if (!j["ids"].is_array() || j["ids"].empty()) throw Error(where, "\"ids\" must be a non-empty list of token ids");
    for (const auto& v : j["ids"]) {
      if (!v.is_number_integer()) throw Error(where, "\"ids\" must hold integers");
      p.ids.push_back(v.get<std::int64_t>());
    }
    return p;
  }
  throw Error(where, "needs \"prompt\", \"model_input\" or \"ids\"");
}

}  // namespace

std::vector<PromptInput> read_prompts(const PromptArgs& args) {
  if (args.prompt.empty() == args.prompts_file.empty()) throw UsageError("give exactly one of --prompt and --prompts");
  if (!args.prompt.empty()) return {PromptInput{args.prompt, {}, nullptr}};
  LineReader reader(args.prompts_file);
  std::vector<PromptInput> prompts;
  std::string_view line;
  while (reader.next(line)) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    prompts.push_back(prompt_from_line(std::string(line), reader.where()));
  }
  if (prompts.empty()) throw Error(reader.path(), "no prompts");
  return prompts;
}

std::vector<std::vector<std::int64_t>> prompt_token_ids(const std::vector<PromptInput>& prompts, const ModelSession& session) {
  std::vector<std::string> texts;
  for (const auto& p : prompts)
    if (p.text) texts.push_back(*p.text);
  if (!texts.empty() && !session.tokenizer)
    throw Error("the model folder has no tokenizer (tokenizer.json or tokenizer.model): give token ids instead of text");
  std::vector<std::vector<TokenId>> encoded;
  if (!texts.empty()) encoded = session.tokenizer->encode_batch(texts, true);
  std::vector<std::vector<std::int64_t>> out;
  std::size_t next_text = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].text) {
      const auto& e = encoded[next_text++];
      out.emplace_back(e.begin(), e.end());
    } else {
      out.push_back(prompts[i].ids);
    }
    session.model->check_input(out.back(), 0, "prompt " + std::to_string(i + 1));
  }
  return out;
}

std::vector<std::int64_t> parse_id_list(const std::string& text, const std::string& flag) {
  std::vector<std::int64_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    std::size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size()) throw UsageError(flag + ": '" + item + "' is not a token id (expected e.g. 5,17,42)");
    ids.push_back(v);
    start = end + 1;
  }
  return ids;
}

}  // namespace c2s
