// `c2s generate --model DIR --prompt TEXT | --prompts FILE.jsonl`: batched
// generation (greedy by default, or sampled), one JSON line per prompt, with
// the sampling defaults of the folder's generation_config.json.
#include <ATen/Parallel.h>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "cli/model/result_lines.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "engine/generator.hpp"
#include "model/compute_options.hpp"

namespace c2s {

void add_generate_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    PromptArgs prompts;
    std::optional<std::int64_t> max_new_tokens, top_k;
    std::optional<double> temperature, top_p, repetition_penalty;
    bool do_sample = false, greedy = false, ignore_eos = false, no_shared_prefix = false;
    std::uint64_t seed = 0;
    std::vector<std::string> stop;
    std::string output;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("generate", model_command_description("generate"));
  add_model_options(cmd, args->model);
  add_prompt_options(cmd, args->prompts);
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "New tokens per prompt at most (default: generation_config.json, else 64)");
  cmd->add_flag("--do-sample", args->do_sample, "Sample instead of greedy decoding");
  cmd->add_flag("--greedy", args->greedy, "Greedy decoding even if generation_config.json asks for sampling");
  cmd->add_option("--temperature", args->temperature, "Sampling temperature");
  cmd->add_option("--top-k", args->top_k, "Sample among the k best tokens (transformers' default 50; 0 = off)");
  cmd->add_option("--top-p", args->top_p, "Nucleus sampling: smallest set of tokens with this probability");
  cmd->add_option("--repetition-penalty", args->repetition_penalty, "Penalty on tokens already present (1 = none)");
  cmd->add_option("--seed", args->seed, "Seed of the sampling draws (each prompt draws from its own stream)");
  cmd->add_option("--stop", args->stop, "Stop a prompt's generation once its text contains this (repeatable)");
  cmd->add_flag("--ignore-eos", args->ignore_eos, "Do not stop at end-of-sequence tokens");
  cmd->add_flag("--no-shared-prefix", args->no_shared_prefix, "Run every prompt's common prefix again for each prompt");
  cmd->add_option("--output", args->output, "Write the results (JSONL) here instead of stdout");
  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    if (a.do_sample && a.greedy) throw UsageError("--do-sample and --greedy exclude each other");
    auto prompts = read_prompts(a.prompts);
    // Opened before any work, so that a bad output path fails at once.
    ResultLines out(a.output);
    auto session = open_model_session(a.model, g);
    const auto& model = *session.model;
    auto ids = prompt_token_ids(prompts, session);

    GenerationDefaults defaults = read_generation_defaults(a.model.model, model.config());
    GenerationOptions options;
    options.max_new_tokens = a.max_new_tokens.value_or(defaults.max_new_tokens.value_or(64));
    options.batch_size = a.model.batch_size;
    options.share_prefix = !a.no_shared_prefix;
    options.stop_strings = a.stop;
    if (!a.ignore_eos) options.eos_ids = defaults.eos_token_ids;
    auto& s = options.sampling;
    s.do_sample = a.greedy ? false : (a.do_sample || defaults.do_sample.value_or(false));
    s.temperature = a.temperature.value_or(defaults.temperature.value_or(1.0));
    s.top_k = a.top_k.value_or(defaults.top_k.value_or(50));
    s.top_p = a.top_p.value_or(defaults.top_p.value_or(1.0));
    s.repetition_penalty = a.repetition_penalty.value_or(defaults.repetition_penalty.value_or(1.0));
    s.seed = a.seed;
    options.validate();
    for (std::size_t i = 0; i < ids.size(); ++i)  // before any work; the last new token is never run
      model.check_input(ids[i], options.max_new_tokens - 1, "prompt " + std::to_string(i + 1));

    const Tokenizer* tokenizer = session.tokenizer.get();
    TokenDecoder decoder;
    if (tokenizer)
      decoder = [tokenizer](std::span<const std::int64_t> t) {
        std::vector<TokenId> v(t.begin(), t.end());
        return tokenizer->decode(v, true);
      };
    Generator generator(model);
    auto results = generator.generate(ids, options, {}, decoder);
    const auto& st = generator.stats();

    std::int64_t new_tokens = 0, prompt_tokens = 0;
    for (std::size_t i = 0; i < results.size(); ++i) {
      auto line = result_head(i, prompts[i], {"prompt_tokens", "tokens", "text", "finish_reason"});
      line["prompt_tokens"] = ids[i].size();
      line["tokens"] = results[i].tokens;
      if (decoder) line["text"] = decoder(results[i].tokens);
      line["finish_reason"] = results[i].finish_reason;
      new_tokens += std::int64_t(results[i].tokens.size());
      prompt_tokens += std::int64_t(ids[i].size());
      out.add(line.dump());
    }
    auto rate = [](double n, double s) { return s > 0 ? n / s : 0.0; };
    nlohmann::ordered_json summary = {
        {"prompts", results.size()},
        {"prompt_tokens", prompt_tokens},
        {"new_tokens", new_tokens},
        {"dtype", dtype_name(model.options().dtype)},
        {"device", model.options().device.str()},
        {"threads", at::get_num_threads()},
        {"blas_kernels", blas_kernels()},
        {"load_seconds", session.load_seconds},
        {"prefill_tokens", st.prefill_tokens},
        {"shared_prefix_tokens", st.shared_prefix_tokens},
        {"prefill_seconds", st.prefill_seconds},
        {"prefill_tokens_per_s", rate(double(st.prefill_tokens), st.prefill_seconds)},
        {"decode_tokens", st.decode_tokens},
        {"decode_seconds", st.decode_seconds},
        {"decode_tokens_per_s", rate(double(st.decode_tokens), st.decode_seconds)},
        {"weights_bytes", model.parameter_bytes()},
        {"kv_cache_bytes", st.kv_cache_bytes},
        {"peak_rss_bytes", peak_resident_bytes()},
    };
    out.finish(g, std::move(summary));
  });
}

}  // namespace c2s
