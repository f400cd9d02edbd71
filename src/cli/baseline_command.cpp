// `c2s baseline STORE --label-column COL`: how well cells' labels follow
// from their expression without a language model. k-NN on PCA of the
// training cells and logistic regression on the expression, fitted on one
// split and scored on another: the figures a C2S model has to beat.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <optional>
#include <tuple>

#include "cli/command_context.hpp"
#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "core/progress.hpp"
#include "data/store_split.hpp"
#include "evaluation/classification_metrics.hpp"
#include "evaluation/csv_table.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation/knn_classifier.hpp"
#include "evaluation/logistic_regression.hpp"
#include "evaluation/pca.hpp"

namespace c2s {

namespace {

namespace fs = std::filesystem;

struct BaselineArgs {
  std::string store, label_column, train_split = "train", test_split = "test", output;
  std::int64_t k = 15, pcs = 50;
  std::uint64_t seed = 42;
};

// What the command writes into -o DIR.
const std::vector<std::string> kOutputFiles{
    "predictions.csv",    "summary.json",        "knn_confusion.csv",    "knn_confusion.png",
    "knn_per_class.csv",  "logreg_confusion.csv", "logreg_confusion.png", "logreg_per_class.csv"};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The cells of a split that have a label, and their class codes.
struct LabelledCells {
  std::vector<std::int64_t> cells;
  std::vector<std::int32_t> classes;
  std::int64_t unlabelled = 0;
};

LabelledCells labelled(const std::vector<std::int64_t>& cells, const Column& labels) {
  LabelledCells out;
  for (auto c : cells) {
    const std::int32_t code = labels.codes[std::size_t(c)];
    if (code < 0) {
      ++out.unlabelled;
      continue;
    }
    out.cells.push_back(c);
    out.classes.push_back(code);
  }
  return out;
}

std::vector<std::string> names_of(const std::vector<std::int32_t>& classes, const std::vector<std::string>& labels) {
  std::vector<std::string> out;
  out.reserve(classes.size());
  for (auto c : classes) out.push_back(labels[std::size_t(c)]);
  return out;
}

void run_baseline(const BaselineArgs& a, const GlobalOptions& g) {
  const auto t0 = std::chrono::steady_clock::now();
  if (a.k < 1) throw UsageError(fmt::format("--k must be at least 1 (got {})", a.k));
  if (a.pcs < 1) throw UsageError(fmt::format("--pcs must be at least 1 (got {})", a.pcs));
  std::optional<AtomicOutput> output;  // checks the parent folder before any work
  if (!a.output.empty()) {
    check_replaceable_folder(a.output, kOutputFiles, "write the baseline to a new folder");
    output.emplace(a.output);
  }

  SentenceStore store(a.store);
  const Column* column = store.obs().find(a.label_column);
  if (!column) {
    std::string names;
    for (const auto& c : store.obs().columns) names += (names.empty() ? "" : ", ") + c.name;
    throw Error(store.path(), fmt::format("no obs column '{}' (it has: {})", a.label_column, names));
  }
  // A categorical column keeps its categories' order; others are sorted.
  const Column labels = column->kind == Column::Kind::Categorical ? *column : column->as_categorical();
  const LabelledCells train = labelled(cells_in_split(store, a.train_split), labels);
  const LabelledCells test = labelled(cells_in_split(store, a.test_split), labels);
  if (train.cells.empty())
    throw Error(store.path(), fmt::format("no cell of split '{}' has a '{}' label", a.train_split, a.label_column));
  if (test.cells.empty())
    throw Error(store.path(), fmt::format("no cell of split '{}' has a '{}' label", a.test_split, a.label_column));
  if (std::size_t(a.k) > train.cells.size())
    throw Error(store.path(), fmt::format("--k {} is more than the {} labelled cells of split '{}'", a.k,
                                          train.cells.size(), a.train_split));

  // The classes: the column's labels that occur in either split.
  std::vector<std::uint8_t> seen(labels.categories.size(), 0);
  for (auto c : train.classes) seen[std::size_t(c)] = 1;
  if (std::count(seen.begin(), seen.end(), 1) < 2)
    throw Error(store.path(), fmt::format("the cells of split '{}' have a single '{}' label: nothing to tell apart",
                                          a.train_split, a.label_column));
  for (auto c : test.classes) seen[std::size_t(c)] = 1;
  std::vector<std::string> class_names;
  for (std::size_t c = 0; c < seen.size(); ++c)
    if (seen[c]) class_names.push_back(labels.categories[c]);
  std::vector<std::int32_t> train_class(train.classes.size());
  {
    std::vector<std::int32_t> remap(seen.size(), -1);
    for (std::size_t c = 0, next = 0; c < seen.size(); ++c)
      if (seen[c]) remap[c] = std::int32_t(next++);
    for (std::size_t i = 0; i < train.classes.size(); ++i) train_class[i] = remap[std::size_t(train.classes[i])];
  }
  const std::vector<std::string> test_truth = names_of(test.classes, labels.categories);

  // Features: log-normalised expression (natural log, as scanpy's log1p).
  auto t = std::chrono::steady_clock::now();
  const std::vector<std::uint32_t> genes = default_feature_genes(store, train.cells);
  const std::size_t max_pcs = std::min(train.cells.size(), genes.size());
  if (std::size_t(a.pcs) > max_pcs)
    throw Error(store.path(), fmt::format("--pcs {} is more than the {} training cells x {} genes allow ({})", a.pcs,
                                          train.cells.size(), genes.size(), max_pcs));
  const double scale = natural_log_scale(store);
  Progress::note(fmt::format("baseline: {} training and {} test cells, {} genes, {} classes", train.cells.size(),
                             test.cells.size(), genes.size(), class_names.size()));
  const DenseMatrix x_train = expression_matrix(store, train.cells, genes, scale);
  const DenseMatrix x_test = expression_matrix(store, test.cells, genes, scale);
  const double features_seconds = seconds_since(t);

  // k-NN on PCA of the training cells.
  t = std::chrono::steady_clock::now();
  Progress::note(fmt::format("baseline: PCA ({} components) and {}-NN", a.pcs, a.k));
  const Pca pca = fit_pca(x_train, {.components = std::size_t(a.pcs), .seed = a.seed});
  const KnnClassifier knn(pca.transform(x_train), train_class, class_names.size(), std::size_t(a.k));
  const KnnPredictions knn_out = knn.predict(pca.transform(x_test));
  const double knn_seconds = seconds_since(t);
  const ClassificationReport knn_report =
      classification_report(test_truth, names_of(knn_out.label, class_names), class_names);

  // Logistic regression on the expression.
  t = std::chrono::steady_clock::now();
  const LogisticRegressionOptions lr_options;
  Progress::note(fmt::format("baseline: logistic regression (C = {}, L-BFGS, up to {} iterations)", lr_options.C,
                             lr_options.max_iterations));
  const LogisticRegression lr = fit_logistic_regression(x_train, train_class, class_names.size(), lr_options);
  const std::vector<double> proba = lr.predict_proba(x_test);
  const double lr_seconds = seconds_since(t);
  std::vector<std::int32_t> lr_class(test.cells.size());
  std::vector<double> lr_confidence(test.cells.size());
  for (std::size_t i = 0; i < test.cells.size(); ++i) {
    const double* p = proba.data() + i * class_names.size();
    lr_class[i] = std::int32_t(std::max_element(p, p + class_names.size()) - p);
    lr_confidence[i] = p[lr_class[i]];
  }
  const ClassificationReport lr_report = classification_report(test_truth, names_of(lr_class, class_names), class_names);
  if (!lr.converged)
    warn(fmt::format("baseline: logistic regression stopped after {} iterations without converging (largest "
                     "gradient component {:.3g})",
                     lr.iterations, lr.gradient_max));

  double explained = 0;
  for (double r : pca.explained_variance_ratio) explained += r;
  nlohmann::ordered_json summary = {
      {"store", a.store},
      {"label_column", a.label_column},
      {"train_split", a.train_split},
      {"test_split", a.test_split},
      {"train_cells", train.cells.size()},
      {"test_cells", test.cells.size()},
      {"cells_without_label", train.unlabelled + test.unlabelled},
      {"classes", class_names.size()},
      {"features",
       {{"genes", genes.size()},
        {"selection", genes.size() == std::size_t(store.n_genes())
                          ? std::string("all genes")
                          : fmt::format("{} most variable genes of the training cells", genes.size())},
        {"values", scale != 1 ? "ln(1 + normalised count)" : "as stored"},
        {"seconds", features_seconds}}},
      {"knn",
       {{"k", a.k},
        {"pcs", a.pcs},
        {"explained_variance_ratio", explained},
        {"accuracy", knn_report.accuracy},
        {"macro_f1", knn_report.macro_f1},
        {"seconds", knn_seconds}}},
      {"logreg",
       {{"C", lr_options.C},
        {"iterations", lr.iterations},
        {"converged", lr.converged},
        {"accuracy", lr_report.accuracy},
        {"macro_f1", lr_report.macro_f1},
        {"seconds", lr_seconds}}},
  };

  if (output) {
    const fs::path dir = output->temp_path();
    fs::create_directories(dir);
    CsvTable predictions({"cell", "truth", "knn", "knn_confidence", "logreg", "logreg_confidence"});
    for (std::size_t i = 0; i < test.cells.size(); ++i)
      predictions.add_row({store.cell_names()[std::size_t(test.cells[i])], test_truth[i],
                           class_names[std::size_t(knn_out.label[i])], csv_number(knn_out.confidence[i]),
                           class_names[std::size_t(lr_class[i])], csv_number(lr_confidence[i])});
    predictions.write(dir / "predictions.csv");
    for (const auto& [name, report, title] :
         {std::tuple{"knn", &knn_report, fmt::format("{}-NN on {} PCs: accuracy {:.3f}", a.k, a.pcs, knn_report.accuracy)},
          std::tuple{"logreg", &lr_report, fmt::format("Logistic regression: accuracy {:.3f}", lr_report.accuracy)}}) {
      write_confusion_csv(*report, dir / (std::string(name) + "_confusion.csv"));
      write_per_class_csv(*report, dir / (std::string(name) + "_per_class.csv"));
      write_confusion_png(*report, dir / (std::string(name) + "_confusion.png"), title);
    }
    nlohmann::ordered_json full = summary;
    full["knn"]["report"] = classification_json(knn_report);
    full["logreg"]["report"] = classification_json(lr_report);
    full["seconds"] = seconds_since(t0);
    write_json_file(dir / "summary.json", full);
    output->commit();
    summary["output"] = a.output;
  }
  summary["seconds"] = seconds_since(t0);
  emit_summary(g, nlohmann::json(summary));
}

}  // namespace

void add_baseline_command(CommandSet& set) {
  auto args = std::make_shared<BaselineArgs>();
  auto* cmd = set.app.add_subcommand("baseline", "Non-language-model baselines for a label: k-NN on PCA and logistic "
                                                 "regression, fitted on one split, scored on another");
  cmd->add_option("store", args->store, "Sentence store with a split (`c2s split`)")->required();
  cmd->add_option("--label-column", args->label_column, "obs column to predict (e.g. cell_type)")->required();
  cmd->add_option("--train-split", args->train_split, "Split to fit on")->capture_default_str();
  cmd->add_option("--test-split", args->test_split, "Split to score on")->capture_default_str();
  cmd->add_option("--k", args->k, "Neighbours of the k-NN vote")->capture_default_str();
  cmd->add_option("--pcs", args->pcs, "Principal components for the k-NN")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the randomized PCA")->capture_default_str();
  cmd->add_option("-o,--output", args->output,
                  "Folder for predictions.csv, summary.json and each method's confusion matrix (CSV, PNG) and "
                  "per-class scores");
  set.add(cmd, [args, &g = set.global] { run_baseline(*args, g); });
}

}  // namespace c2s
