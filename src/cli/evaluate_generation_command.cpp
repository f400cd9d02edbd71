// `c2s evaluate-generation --generated GEN.h5ad --data STORE -o DIR`: generated
// cells (c2s generate-cells' h5ad) against held-out real cells of the store:
// k-NN recognition of the requested type and MMD in the real cells' PCA
// space, beside naive cells made from the training cells' gene rankings and
// beside real training cells rebuilt from their sentences the same way.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <map>
#include <unordered_map>

#include "cli/command_context.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "data/gene_names.hpp"
#include "data/store_split.hpp"
#include "evaluation/csv_table.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation/generation_evaluation.hpp"
#include "evaluation/rank_baseline.hpp"

namespace c2s {

namespace {

namespace fs = std::filesystem;

struct EvaluateArgs {
  std::string generated, data, split = "test", train_split = "train", label_column = "cell_type", output;
  std::int64_t pcs = 50;
  std::uint64_t seed = 42;
};

const std::vector<std::string> kOutputFiles{"summary.json", "scores.csv", "predictions.csv", "generated_vs_real.png",
                                            "baseline_vs_real.png"};

// The sets judged beside the generated cells, in this order, and what they are.
const std::vector<std::pair<std::string, std::string>> kSets{
    {"generated", "the generated cells, as reconstructed in the h5ad"},
    {"sampled_ranks",
     "naive: per generated cell, each gene's rank drawn from a random training cell of its type (none if that cell's "
     "top-k sentence lacks it), genes by drawn rank, as many as the generated cell has"},
    {"mean_ranks",
     "naive: the type's genes by mean rank over its training cells' top-k sentences (an absent gene at the "
     "sentence's length), as many as the generated cell has"},
    {"train_cells",
     "reference: real training cells of the type, their top genes (as many as the generated cell has) "
     "reconstructed the same way"},
};

std::string columns_of(const DataFrame& frame) {
  std::string names;
  for (const auto& c : frame.columns) names += (names.empty() ? "" : ", ") + c.name;
  return names.empty() ? "none" : names;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

nlohmann::ordered_json accuracy_json(const std::vector<std::size_t>& ks, const std::vector<double>& accuracy) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < ks.size(); ++i)
    j[std::to_string(ks[i])] =
        i < accuracy.size() && std::isfinite(accuracy[i]) ? nlohmann::ordered_json(accuracy[i]) : nullptr;
  return j;
}

void run_evaluate_generation(const EvaluateArgs& a, const GlobalOptions& g) {
  const auto t0 = std::chrono::steady_clock::now();
  if (a.pcs < 1) throw UsageError(fmt::format("--pcs must be at least 1 (got {})", a.pcs));
  check_replaceable_folder(a.output, kOutputFiles, "write the evaluation to a new folder");
  AtomicOutput output(a.output);

  // The store: real cells of the evaluated split, training cells for the baselines.
  SentenceStore store(a.data);
  if (!store.inverse_model()) throw Error(a.data, "the store has no inverse model (run `c2s inverse fit`)");
  const Column* column = store.obs().find(a.label_column);
  if (!column)
    throw Error(a.data, fmt::format("no obs column '{}' (it has: {})", a.label_column, columns_of(store.obs())));
  const Column labels = column->kind == Column::Kind::Categorical ? *column : column->as_categorical();
  std::vector<std::int64_t> real_cells, train_cells;
  for (auto c : cells_in_split(store, a.split))
    if (labels.codes[std::size_t(c)] >= 0) real_cells.push_back(c);
  for (auto c : cells_in_split(store, a.train_split))
    if (labels.codes[std::size_t(c)] >= 0) train_cells.push_back(c);
  if (real_cells.size() < 2)
    throw Error(a.data, fmt::format("split '{}' has {} cells with a '{}' label: at least 2 are needed", a.split,
                                    real_cells.size(), a.label_column));

  // The generated cells: their requested types, genes and gene counts.
  auto source = open_matrix(a.generated);
  if (source->n_rows() < 2) throw Error(a.generated, "fewer than 2 generated cells");
  std::unordered_map<std::string, std::uint32_t> store_gene;
  for (std::size_t i = 0; i < store.genes().size(); ++i) store_gene.emplace(store.genes()[i], std::uint32_t(i));
  std::vector<std::int64_t> gene_of_column(std::size_t(source->n_cols()), -1);
  std::size_t matched = 0;
  for (std::size_t j = 0; j < gene_of_column.size(); ++j) {
    auto it = store_gene.find(upper_case(source->var().index[j]));
    if (it != store_gene.end()) gene_of_column[j] = it->second, ++matched;
  }
  if (matched * 2 < gene_of_column.size())
    throw Error(a.generated, fmt::format("only {} of its {} genes are genes of the store {} (another gene set?)",
                                         matched, gene_of_column.size(), a.data));
  const Column* requested_column = source->obs().find(a.label_column);
  if (!requested_column)
    throw Error(a.generated,
                fmt::format("no obs column '{}' (it has: {})", a.label_column, columns_of(source->obs())));

  // Classes: the labels of the real cells, then requested types they lack.
  std::vector<std::string> class_names;
  std::map<std::string, std::int32_t> class_of;
  auto class_index = [&](const std::string& name) {
    auto [it, added] = class_of.emplace(name, std::int32_t(class_names.size()));
    if (added) class_names.push_back(name);
    return it->second;
  };
  {
    std::vector<std::uint8_t> present(labels.categories.size(), 0);
    for (auto c : real_cells) present[std::size_t(labels.codes[std::size_t(c)])] = 1;
    for (std::size_t k = 0; k < present.size(); ++k)
      if (present[k]) class_index(labels.categories[k]);
  }
  std::vector<std::int32_t> real_classes;
  for (auto c : real_cells) real_classes.push_back(class_of.at(labels.categories[std::size_t(labels.codes[std::size_t(c)])]));
  const std::size_t n_gen = std::size_t(source->n_rows());
  std::vector<std::int32_t> gen_classes;
  for (std::size_t i = 0; i < n_gen; ++i) {
    const std::string type = requested_column->text(i);
    if (type.empty()) throw Error(a.generated, fmt::format("generated cell {} has no '{}'", i, a.label_column));
    gen_classes.push_back(class_index(type));
  }

  // Features: log-normalised expression over the real cells' genes.
  const std::vector<std::uint32_t> genes = default_feature_genes(store, real_cells);
  const double scale = natural_log_scale(store);
  std::vector<std::int64_t> feature_of_store_gene(std::size_t(store.n_genes()), -1);
  for (std::size_t j = 0; j < genes.size(); ++j) feature_of_store_gene[genes[j]] = std::int64_t(j);
  std::vector<std::int64_t> feature_of_column(gene_of_column.size(), -1);
  for (std::size_t j = 0; j < gene_of_column.size(); ++j)
    if (gene_of_column[j] >= 0) feature_of_column[j] = feature_of_store_gene[std::size_t(gene_of_column[j])];
  Progress::note(fmt::format("evaluate-generation: {} generated and {} real cells ({} split), {} genes, {} classes",
                             n_gen, real_cells.size(), a.split, genes.size(), class_names.size()));
  const DenseMatrix x_real = expression_matrix(store, real_cells, genes, scale);
  std::vector<CellSet> sets(kSets.size());
  sets[0] = {kSets[0].first, expression_matrix(*source, feature_of_column, genes.size(), scale), gen_classes};

  // Each generated cell's gene count: obs c2s_genes (generate-cells and
  // reconstruct write it), else its nonzero genes.
  std::vector<std::size_t> gene_count(n_gen, 0);
  if (const Column* counted = source->obs().find("c2s_genes"); counted && counted->kind == Column::Kind::Numeric) {
    for (std::size_t i = 0; i < n_gen; ++i)
      gene_count[i] = std::isfinite(counted->numbers[i]) ? std::size_t(std::max(0.0, counted->numbers[i])) : 0;
  } else {
    SparseRows rows;
    for (std::int64_t begin = 0; begin < source->n_rows(); begin += 4096) {
      source->read_rows(begin, std::min(source->n_rows(), begin + 4096), rows);
      for (std::int64_t r = 0; r < rows.n_rows(); ++r) {
        const auto values = rows.row_values(r);
        gene_count[std::size_t(begin + r)] = std::size_t(std::count_if(values.begin(), values.end(), [](float v) { return v != 0; }));
      }
    }
  }

  // The baselines and the reference, from the training cells of each type.
  std::vector<std::vector<std::uint32_t>> sampled, mean, train_sentences;
  std::vector<std::int32_t> baseline_classes;
  std::vector<std::string> types_without_training_cells;
  {
    std::vector<std::vector<std::int64_t>> train_of_class(class_names.size());
    for (auto c : train_cells) {
      auto it = class_of.find(labels.categories[std::size_t(labels.codes[std::size_t(c)])]);
      if (it != class_of.end()) train_of_class[std::size_t(it->second)].push_back(c);
    }
    for (std::size_t k = 0; k < class_names.size(); ++k) {
      std::vector<std::size_t> members;
      std::size_t longest = 0;
      for (std::size_t i = 0; i < n_gen; ++i)
        if (gen_classes[i] == std::int32_t(k)) members.push_back(i), longest = std::max(longest, gene_count[i]);
      if (members.empty()) continue;
      if (train_of_class[k].empty()) {
        types_without_training_cells.push_back(class_names[k]);
        continue;
      }
      const auto top = cell_top_genes(store, train_of_class[k], std::int64_t(std::max<std::size_t>(longest, 1)));
      const TypeRanking ranking(top, std::size_t(store.n_genes()));
      // Training cells for the reference: a seeded shuffle, taken in turn.
      std::vector<std::size_t> order(top.size());
      for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
      Rng shuffle_rng(a.seed, 0x7e57 + k);
      shuffle(order, shuffle_rng);
      for (std::size_t m = 0; m < members.size(); ++m) {
        const std::size_t i = members[m], n = gene_count[i];
        Rng rng(a.seed, i);
        sampled.push_back(ranking.sampled_rank_cell(n, rng));
        mean.push_back(ranking.mean_rank_cell(n));
        const auto& real = top[order[m % order.size()]];
        train_sentences.emplace_back(real.begin(), real.begin() + std::ptrdiff_t(std::min(n, real.size())));
        baseline_classes.push_back(std::int32_t(k));
      }
    }
  }
  for (const auto& t : types_without_training_cells)
    warn(fmt::format("evaluate-generation: no '{}' cell of split '{}': no baseline cells of that type", t, a.train_split));
  const InverseModel& inverse = *store.inverse_model();
  const auto n_store_genes = std::size_t(store.n_genes());
  sets[1] = {kSets[1].first, reconstructed_expression(sampled, inverse, n_store_genes, genes, scale), baseline_classes};
  sets[2] = {kSets[2].first, reconstructed_expression(mean, inverse, n_store_genes, genes, scale), baseline_classes};
  sets[3] = {kSets[3].first, reconstructed_expression(train_sentences, inverse, n_store_genes, genes, scale),
             baseline_classes};

  // The real cells rebuilt as the sets are: their top genes (as many as the
  // longest generated cell has) through the inverse model.
  const std::size_t rebuilt_genes = std::max<std::size_t>(1, *std::max_element(gene_count.begin(), gene_count.end()));
  const DenseMatrix x_rebuilt = reconstructed_expression(
      cell_top_genes(store, real_cells, std::int64_t(rebuilt_genes)), inverse, n_store_genes, genes, scale);

  GenerationEvaluationOptions options{.pcs = std::size_t(a.pcs), .seed = a.seed};
  std::vector<std::size_t> skipped_ks;
  std::erase_if(options.ks, [&](std::size_t k) {
    if (k <= real_cells.size()) return false;
    skipped_ks.push_back(k);
    return true;
  });
  if (options.ks.empty()) throw Error(a.data, fmt::format("split '{}' has too few cells for a 3-NN vote", a.split));
  Progress::note("evaluate-generation: PCA, k-NN and MMD");
  const GenerationEvaluation e = evaluate_generation(x_real, real_classes, class_names.size(), sets, options, x_rebuilt);

  // Files.
  const fs::path dir = output.temp_path();
  fs::create_directories(dir);
  std::vector<std::string> header = {"set", a.label_column, "cells", "real_cells"};
  for (auto k : e.ks) header.push_back(fmt::format("knn_k{}", k));
  for (auto k : e.ks) header.push_back(fmt::format("knn_rebuilt_k{}", k));
  header.push_back("mmd2");
  header.push_back("mmd2_rebuilt");
  CsvTable scores(header);
  nlohmann::ordered_json set_json = nlohmann::ordered_json::object();
  for (std::size_t s = 0; s < e.sets.size(); ++s) {
    const CellSetScores& r = e.sets[s];
    auto mmd = [](const std::optional<MmdResult>& m) {
      return m ? nlohmann::ordered_json(m->mmd2) : nlohmann::ordered_json(nullptr);
    };
    std::vector<std::string> all = {r.name, "all", std::to_string(sets[s].classes.size()),
                                    std::to_string(real_cells.size())};
    for (double acc : r.knn_accuracy) all.push_back(csv_number(acc));
    for (double acc : r.knn_rebuilt_accuracy) all.push_back(csv_number(acc));
    all.push_back(r.mmd ? csv_number(r.mmd->mmd2) : "");
    all.push_back(r.mmd_rebuilt ? csv_number(r.mmd_rebuilt->mmd2) : "");
    scores.add_row(std::move(all));
    nlohmann::ordered_json per_type = nlohmann::ordered_json::object();
    for (std::size_t k = 0; k < class_names.size(); ++k) {
      if (r.cells_per_class[k] == 0) continue;
      std::vector<std::string> row = {r.name, class_names[k], std::to_string(r.cells_per_class[k]),
                                      std::to_string(e.real_per_class[k])};
      for (double acc : r.knn_accuracy_per_class[k]) row.push_back(csv_number(acc));
      for (double acc : r.knn_rebuilt_accuracy_per_class[k]) row.push_back(csv_number(acc));
      row.push_back(r.mmd_per_class[k] ? csv_number(r.mmd_per_class[k]->mmd2) : "");
      row.push_back(r.mmd_rebuilt_per_class[k] ? csv_number(r.mmd_rebuilt_per_class[k]->mmd2) : "");
      scores.add_row(std::move(row));
      per_type[class_names[k]] = {{"cells", r.cells_per_class[k]},
                                  {"real_cells", e.real_per_class[k]},
                                  {"knn_accuracy", accuracy_json(e.ks, r.knn_accuracy_per_class[k])},
                                  {"knn_accuracy_rebuilt", accuracy_json(e.ks, r.knn_rebuilt_accuracy_per_class[k])},
                                  {"mmd2", mmd(r.mmd_per_class[k])},
                                  {"mmd2_rebuilt", mmd(r.mmd_rebuilt_per_class[k])}};
    }
    set_json[r.name] = {{"description", kSets[s].second},
                        {"cells", sets[s].classes.size()},
                        {"knn_accuracy", accuracy_json(e.ks, r.knn_accuracy)},
                        {"knn_accuracy_rebuilt", accuracy_json(e.ks, r.knn_rebuilt_accuracy)},
                        {"mmd2", mmd(r.mmd)},
                        {"mmd2_rebuilt", mmd(r.mmd_rebuilt)},
                        {"per_type", per_type}};
  }
  scores.write(dir / "scores.csv");
  std::vector<std::string> pred_header = {"cell", a.label_column, "genes"};
  for (auto k : e.ks) pred_header.push_back(fmt::format("knn_k{}", k));
  CsvTable predictions(pred_header);
  for (std::size_t i = 0; i < n_gen; ++i) {
    std::vector<std::string> row = {source->obs().index[i], class_names[std::size_t(gen_classes[i])],
                                    std::to_string(gene_count[i])};
    for (const auto& p : e.sets[0].knn_predictions) row.push_back(class_names[std::size_t(p[i])]);
    predictions.add_row(std::move(row));
  }
  predictions.write(dir / "predictions.csv");
  write_generation_scatter_png(e, 0, real_classes, gen_classes, class_names, dir / "generated_vs_real.png",
                               fmt::format("Generated cells (rings) and real {} cells (dots), PCA of the real cells", a.split));
  write_generation_scatter_png(e, 1, real_classes, baseline_classes, class_names, dir / "baseline_vs_real.png",
                               fmt::format("Naive sampled-rank cells (rings) and real {} cells (dots)", a.split));

  nlohmann::ordered_json summary = {
      {"generated", a.generated},
      {"data", a.data},
      {"split", a.split},
      {"train_split", a.train_split},
      {"label_column", a.label_column},
      {"generated_cells", n_gen},
      {"real_cells", real_cells.size()},
      {"classes", class_names},
      {"features",
       {{"genes", genes.size()},
        {"selection", genes.size() == n_store_genes
                          ? std::string("all genes")
                          : fmt::format("{} most variable genes of the real cells", genes.size())},
        {"values", scale != 1 ? "ln(1 + normalised count)" : "as stored"},
        {"generated_genes_in_store", matched}}},
      {"pcs", e.pcs},
      {"explained_variance_ratio", e.explained_variance_ratio},
      {"ks", e.ks},
      {"mmd_kernel",
       {{"kernel", "gaussian exp(-|x-y|^2 / (2 bandwidth^2)) on the PCA coordinates"},
        {"bandwidth", e.bandwidth},
        {"bandwidth_rule", "median distance between the real cells"},
        {"rebuilt_bandwidth", e.rebuilt_bandwidth},
        {"rebuilt_bandwidth_rule", "median distance between the rebuilt real cells"}}},
      {"rebuilt_real_cells",
       {{"genes", rebuilt_genes},
        {"how", "each real cell's top genes (as many as the longest generated cell) through the inverse model"}}},
      {"sets", set_json},
  };
  if (!skipped_ks.empty()) summary["ks_skipped"] = skipped_ks;
  if (!types_without_training_cells.empty()) summary["types_without_training_cells"] = types_without_training_cells;
  summary["seconds"] = seconds_since(t0);
  write_json_file(dir / "summary.json", summary);
  output.commit();

  // On stdout: the headline figures.
  nlohmann::ordered_json brief = {{"generated_cells", n_gen}, {"real_cells", real_cells.size()}, {"split", a.split}};
  for (const auto& r : e.sets)
    brief[r.name] = {{"knn_accuracy", accuracy_json(e.ks, r.knn_accuracy)},
                     {"knn_accuracy_rebuilt", accuracy_json(e.ks, r.knn_rebuilt_accuracy)},
                     {"mmd2", r.mmd ? nlohmann::ordered_json(r.mmd->mmd2) : nlohmann::ordered_json(nullptr)},
                     {"mmd2_rebuilt",
                      r.mmd_rebuilt ? nlohmann::ordered_json(r.mmd_rebuilt->mmd2) : nlohmann::ordered_json(nullptr)}};
  brief["output"] = a.output;
  brief["seconds"] = seconds_since(t0);
  emit_summary(g, nlohmann::json(brief));
}

}  // namespace

void add_evaluate_generation_command(CommandSet& set) {
  auto args = std::make_shared<EvaluateArgs>();
  auto* cmd = set.app.add_subcommand(
      "evaluate-generation",
      "Score generated cells against held-out real cells (k-NN type recognition, MMD) beside naive baselines");
  cmd->footer(
      "A k-NN classifier on the PCA of the real cells' log-normalised expression (split --split) is asked for\n"
      "each generated cell's type (k = 3, 5, 10, 25); MMD^2 compares generated and real cells in the same PCA\n"
      "space, over all cells and per type, with one kernel for every comparison. The same figures are given for\n"
      "naive cells made from the --train-split cells' gene rankings (sampled ranks, mean ranks) and for real\n"
      "training cells rebuilt from their top genes, each with as many genes as the generated cell it stands\n"
      "beside. Output folder: summary.json, scores.csv, predictions.csv, generated_vs_real.png,\n"
      "baseline_vs_real.png (docs/formats/evaluate-generation-output.md).");
  cmd->add_option("--generated", args->generated, "Generated cells (.h5ad, as c2s generate-cells writes)")->required();
  cmd->add_option("--data", args->data, "Sentence store of the real cells (split, inverse model)")->required();
  cmd->add_option("--split", args->split, "Split of the real cells to compare with")->capture_default_str();
  cmd->add_option("--train-split", args->train_split, "Split whose cells make the baselines")->capture_default_str();
  cmd->add_option("--label-column", args->label_column, "obs column of the cell type, in the store and the h5ad")
      ->capture_default_str();
  cmd->add_option("--pcs", args->pcs, "Principal components of the real cells")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the PCA, the MMD sample and the baselines")->capture_default_str();
  cmd->add_option("-o,--output", args->output, "Output folder")->required();
  set.add(cmd, [args, &g = set.global] { run_evaluate_generation(*args, g); });
}

}  // namespace c2s
