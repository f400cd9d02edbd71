// `c2s embed`: one vector per prompt (cell) from the model's last hidden
// states, mean over the prompt's tokens or its last token; written as .npy
// or JSON lines (docs/formats/embeddings.md).
#include <ATen/ATen.h>

#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>

#include "cli/model/model_command_names.hpp"
#include "cli/model/model_commands.hpp"
#include "cli/model/model_session.hpp"
#include "cli/model/result_lines.hpp"
#include "core/error.hpp"
#include "core/process_memory.hpp"
#include "core/progress.hpp"
#include "data/store_split.hpp"
#include "engine/prompt_embedder.hpp"
#include "evaluation/classification_metrics.hpp"
#include "evaluation/knn_classifier.hpp"
#include "io/anndata_writer.hpp"
#include "io/npy_writer.hpp"
#include "tasks/model_cells.hpp"

namespace c2s {

namespace {

// Shortest text that reads back as the same float32 (nlohmann would print
// the value widened to double, with up to 17 digits).
void append_float(std::string& out, float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// k-NN label transfer: the train split's cells (embedded) label the test
// split's; null when the cells do not hold both splits with labels.
nlohmann::json label_transfer(const SentenceStore& store, const std::vector<std::int64_t>& cells, const float* data,
                              std::int64_t H, const std::string& label_column, std::size_t k) {
  const Column* split = store.obs().find("split");
  const Column* truth = store.obs().find(label_column);
  if (!split || !truth) return nullptr;
  std::vector<std::size_t> train, test;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const std::size_t c = std::size_t(cells[i]);
    if (truth->text(c).empty()) continue;
    if (split->text(c) == "train") train.push_back(i);
    if (split->text(c) == "test") test.push_back(i);
  }
  if (train.empty() || test.empty()) return nullptr;
  std::map<std::string, std::int32_t> classes;
  for (std::size_t i : train) classes.emplace(truth->text(std::size_t(cells[i])), 0);
  std::vector<std::string> names;
  for (auto& [name, index] : classes) {
    index = std::int32_t(names.size());
    names.push_back(name);
  }
  auto rows_of = [&](const std::vector<std::size_t>& rows) {
    DenseMatrix m(rows.size(), std::size_t(H));
    for (std::size_t r = 0; r < rows.size(); ++r)
      std::copy(data + std::int64_t(rows[r]) * H, data + std::int64_t(rows[r] + 1) * H, m.row(r).begin());
    return m;
  };
  std::vector<std::int32_t> labels;
  for (std::size_t i : train) labels.push_back(classes.at(truth->text(std::size_t(cells[i]))));
  const std::size_t kk = std::min(k, train.size());
  KnnClassifier knn(rows_of(train), std::move(labels), names.size(), kk);
  const KnnPredictions p = knn.predict(rows_of(test));
  std::vector<std::string> actual, predicted;
  for (std::size_t r = 0; r < test.size(); ++r) {
    actual.push_back(truth->text(std::size_t(cells[test[r]])));
    predicted.push_back(names[std::size_t(p.label[r])]);
  }
  const ClassificationReport report = classification_report(actual, predicted, names);
  return {{"label_column", label_column}, {"k", kk},           {"train_cells", train.size()},
          {"test_cells", test.size()},   {"accuracy", report.accuracy}, {"macro_f1", report.macro_f1}};
}

}  // namespace

void add_embed_command(CommandSet& set) {
  struct Args {
    ModelArgs model;
    PromptArgs prompts;
    std::string pooling = "mean", output;
    std::string data, split = "all", label_column;
    std::int64_t max_cells = 0, knn_k = 15;
    InputOptions input;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = set.app.add_subcommand("embed", model_command_description("embed"));
  cmd->footer(
      "Mean pooling averages the last hidden states (after the final norm) over the prompt's own tokens: padding\n"
      "is left out, so an embedding does not depend on the prompts batched with it (the reference package\n"
      "averages over the padded batch). Output by extension: .npy (float32 [prompts, hidden]) or .jsonl;\n"
      "JSON lines on stdout without --output (docs/formats/embeddings.md).\n"
      "--data embeds cells instead of prompts: a sentence store or an h5ad (any input c2s convert reads),\n"
      "each cell's prompt formatted with the model's own templates (its c2s_task.json). An h5ad input may be\n"
      "written back as a copy with obsm[\"X_c2s\"] (-o OUT.h5ad). When the cells hold a train and a test\n"
      "split and labels, the summary has the k-NN label transfer accuracy (train labels the test).");
  add_model_options(cmd, args->model);
  add_prompt_options(cmd, args->prompts);
  cmd->add_option("--data", args->data, "Embed cells: a sentence store, or an h5ad / 10x / CSV input");
  cmd->add_option("--layer", args->input.matrix.layer, "h5ad input: read layers/<NAME> instead of X");
  cmd->add_flag("--raw", args->input.matrix.raw, "h5ad input: read raw/X instead of X");
  cmd->add_option("--split", args->split, "With --data: cells of this split only ('all': every cell)")
      ->capture_default_str();
  cmd->add_option("--max-cells", args->max_cells, "With --data: only the first N cells chosen (0: all)");
  cmd->add_option("--label-column", args->label_column,
                  "With --data: labels for the k-NN transfer (default: the model's label column)");
  cmd->add_option("--knn-k", args->knn_k, "Neighbours of the k-NN label transfer")->capture_default_str();
  cmd->add_option("--pooling", args->pooling, "mean (over the prompt's tokens) or last (its last token)")
      ->capture_default_str();
  cmd->add_option("-o,--output", args->output,
                  "FILE.npy, FILE.jsonl (default: JSON lines on stdout) or, for an h5ad --data, FILE.h5ad");

  set.add(cmd, [args, &g = set.global] {
    const Args& a = *args;
    const Pooling pooling = parse_pooling(a.pooling);
    const std::string ext = a.output.empty() ? "jsonl" : extension_of(a.output);
    if (ext != "npy" && ext != "jsonl" && ext != "h5ad")
      throw UsageError("--output: '" + a.output +
                       "' must end in .npy, .jsonl or .h5ad (the format follows the extension)");
    if (ext == "h5ad" && extension_of(a.data) != "h5ad")
      throw UsageError("--output: an .h5ad output is a copy of an h5ad --data with obsm[\"X_c2s\"]");
    if (a.max_cells < 0) throw UsageError("--max-cells must not be negative");
    if (a.knn_k < 1) throw UsageError("--knn-k must be at least 1");
    // The prompts: given, or one per cell of --data in the model's own format.
    std::vector<PromptInput> prompts;
    std::optional<ModelTask> task;
    std::unique_ptr<ModelCells> input;
    std::vector<std::int64_t> cells;
    if (!a.data.empty()) {
      if (!a.prompts.prompt.empty() || !a.prompts.prompts_file.empty())
        throw UsageError("give --data or --prompt/--prompts, not both");
      task = read_model_task(a.model.model);
      if (!task)
        throw Error(a.model.model, "no c2s_task.json: embed --data formats each cell as the model was trained, so "
                                   "it needs a model trained by `c2s train --data` (or give --prompts)");
      if (task->task != PromptTask::CellTypePrediction && task->task != PromptTask::LabelPrediction)
        throw Error(a.model.model, "the model was trained for " + std::string(task_name(task->task)) +
                                       ", whose prompts hold no single cell's sentence to embed");
      input = std::make_unique<ModelCells>(a.data, *task, std::filesystem::temp_directory_path(), a.input);
      cells = input->cells(a.split, a.max_cells);
      const std::vector<std::string> sentences = input->sentences(cells);
      const PromptFormatter formatter = task->formatter();
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const std::uint64_t key = std::uint64_t(cells[i]);
        prompts.push_back(PromptInput{formatter.format_input(key, task->cell_values(sentences[i])), {},
                                      nlohmann::json{{"cell", input->store().cell_names()[key]}}});
      }
    } else {
      prompts = read_prompts(a.prompts);
    }
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
    if (input) {
      summary["input"] = input->describe();
      summary["split"] = a.split;
      summary["label_transfer"] = label_transfer(input->store(), cells, data, H,
                                                 a.label_column.empty() ? task->label_column : a.label_column,
                                                 std::size_t(a.knn_k));
    }
    if (ext == "h5ad") {
      // The user's h5ad with the embeddings in obsm (cells not embedded: NaN).
      AnnDataAdditions add;
      ObsmMatrix m{.key = "X_c2s", .values = {}, .n_dims = H};
      m.values.assign(std::size_t(input->store().n_cells() * H), std::nanf(""));
      for (std::size_t i = 0; i < cells.size(); ++i)
        std::copy(data + std::int64_t(i) * H, data + std::int64_t(i + 1) * H,
                  m.values.begin() + cells[i] * H);
      add.obsm.push_back(std::move(m));
      copy_anndata_with(a.data, a.output, add);
      summary["output"] = a.output;
      summary["obsm"] = "X_c2s";
      emit_summary(g, nlohmann::json(summary));
      return;
    }
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
