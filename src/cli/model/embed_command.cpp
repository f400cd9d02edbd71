// `c2s embed`: one vector per prompt (cell) from the model's last hidden
// states, mean over the prompt's tokens or its last token; written as .npy
// or JSON lines (docs/formats/embeddings.md).
#include <ATen/ATen.h>

#include <charconv>
#include <cmath>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "cli/model/result_lines.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "engine/prompt_embedder.hpp"
#include "io/npy_writer.hpp"

namespace c2s {

namespace {

// Shortest text that reads back as the same float32 (nlohmann would print
// the value widened to double, with up to 17 digits).
void append_float(std::string& out, float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

void add_embed_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    PromptArgs prompts;
    std::string pooling = "mean", output;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("embed", model_command_description("embed"));
  cmd->footer(
      "Mean pooling averages the last hidden states (after the final norm) over the prompt's own tokens: padding\n"
      "is left out, so an embedding does not depend on the prompts batched with it (the reference package\n"
      "averages over the padded batch). Output by extension: .npy (float32 [prompts, hidden]) or .jsonl;\n"
      "JSON lines on stdout without --output (docs/formats/embeddings.md).");
  add_model_options(cmd, args->model);
  add_prompt_options(cmd, args->prompts);
  cmd->add_option("--pooling", args->pooling, "mean (over the prompt's tokens) or last (its last token)")
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output, "FILE.npy or FILE.jsonl (default: JSON lines on stdout)");

  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    const Pooling pooling = parse_pooling(a.pooling);
    const std::string ext = a.output.empty() ? "jsonl" : extension_of(a.output);
    if (ext != "npy" && ext != "jsonl")
      throw UsageError("--output: '" + a.output + "' must end in .npy or .jsonl (the format follows the extension)");
    std::vector<PromptInput> prompts = read_prompts(a.prompts);
    // Opened (or checked) before the model loads: a bad path fails at once.
    std::unique_ptr<ResultLines> lines;
    if (ext == "jsonl") {
      lines = std::make_unique<ResultLines>(a.output);
    } else {
      AtomicOutput check(a.output);  // checks the folder; the file is written at the end
    }

    ModelSession session = open_model_session(a.model, g);
    std::vector<std::vector<std::int64_t>> ids = prompt_token_ids(prompts, session);
    PromptEmbedder embedder(*session.model);
    Progress progress("embed", prompts.size(), "prompts");
    at::Tensor embeddings = embedder.embed(ids, pooling, a.model.batch_size, &progress).contiguous();
    progress.finish();

    const std::int64_t H = embeddings.size(1);
    const float* data = embeddings.data_ptr<float>();
    for (std::size_t i = 0; i < prompts.size(); ++i)
      for (std::int64_t k = 0; k < H; ++k)
        if (!std::isfinite(data[std::int64_t(i) * H + k]))
          throw Error("prompt " + std::to_string(i + 1),
                      "the embedding has NaN or infinite values (the model overflowed its dtype; try --dtype fp32)");
    const auto& st = embedder.stats();
    const auto& model = *session.model;
    nlohmann::ordered_json summary = {{"format", ext},
                                      {"pooling", pooling_name(pooling)},
                                      {"prompts", st.prompts},
                                      {"hidden_size", H},
                                      {"tokens", st.tokens},
                                      {"padded_tokens", st.padded_tokens},
                                      {"dtype", dtype_name(model.options().dtype)},
                                      {"device", model.options().device.str()},
                                      {"load_seconds", session.load_seconds},
                                      {"seconds", st.seconds},
                                      {"peak_rss_bytes", peak_resident_bytes()}};
    if (ext == "npy") {
      write_npy_float32(a.output, data, std::int64_t(prompts.size()), H);
      summary["output"] = a.output;
      emit_summary(g, nlohmann::json(summary));
      return;
    }
    const std::vector<std::string> reserved = {"embedding"};
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      std::string line = result_head(i, prompts[i], reserved).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      line.pop_back();  // the closing brace: the embedding follows
      line += ",\"embedding\":[";
      for (std::int64_t k = 0; k < H; ++k) {
        if (k) line += ',';
        append_float(line, data[std::int64_t(i) * H + k]);
      }
      line += "]}";
      lines->add(std::move(line));
    }
    lines->finish(g, std::move(summary));
  });
}

}  // namespace c2s
