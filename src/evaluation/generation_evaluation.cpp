#include "evaluation/generation_evaluation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "evaluation/knn_classifier.hpp"
#include "plot/scatter_plot.hpp"

namespace c2s {

namespace {

DenseMatrix rows_of(const DenseMatrix& m, const std::vector<std::int32_t>& classes, std::int32_t c) {
  std::size_t n = 0;
  for (auto x : classes) n += x == c;
  DenseMatrix out(n, m.cols);
  for (std::size_t i = 0, at = 0; i < m.rows; ++i)
    if (classes[i] == c) std::copy(m.row(i).begin(), m.row(i).end(), out.row(at++).begin());
  return out;
}

}  // namespace

GenerationEvaluation evaluate_generation(const DenseMatrix& real, const std::vector<std::int32_t>& real_classes,
                                         std::size_t n_classes, const std::vector<CellSet>& sets,
                                         const GenerationEvaluationOptions& options, const DenseMatrix& rebuilt) {
  if (real.rows < 2) throw Error(fmt::format("evaluating generated cells needs 2 real cells or more ({} given)", real.rows));
  if (real_classes.size() != real.rows) throw Error("one class per real cell is needed");
  if (options.ks.empty()) throw Error("no k for the k-NN classifier");
  for (auto k : options.ks)
    if (k < 1 || k > real.rows)
      throw Error(fmt::format("k = {} for the k-NN classifier, with {} real cells", k, real.rows));
  GenerationEvaluation out;
  out.ks = options.ks;
  out.real_per_class.assign(n_classes, 0);
  for (auto c : real_classes) {
    if (c < 0 || std::size_t(c) >= n_classes) throw Error(fmt::format("real cell class {} out of range", c));
    ++out.real_per_class[std::size_t(c)];
  }

  out.pcs = std::min({options.pcs, real.rows, real.cols});
  if (out.pcs < 1) throw Error("no features to compare cells on");
  const Pca pca = fit_pca(real, {.components = out.pcs, .seed = options.seed});
  for (double r : pca.explained_variance_ratio) out.explained_variance_ratio += r;
  out.real_coordinates = pca.transform(real);
  out.bandwidth = median_distance(out.real_coordinates, {.seed = options.seed});
  const MmdOptions kernel{.seed = options.seed, .bandwidth = out.bandwidth};
  std::vector<DenseMatrix> real_of_class;
  for (std::size_t c = 0; c < n_classes; ++c)
    real_of_class.push_back(rows_of(out.real_coordinates, real_classes, std::int32_t(c)));
  const bool with_rebuilt = rebuilt.rows > 0;
  DenseMatrix rebuilt_coordinates;
  std::vector<DenseMatrix> rebuilt_of_class;
  MmdOptions rebuilt_kernel;
  if (with_rebuilt) {
    if (rebuilt.rows != real.rows || rebuilt.cols != real.cols)
      throw Error(fmt::format("the rebuilt real cells are {} x {}, the real cells {} x {}", rebuilt.rows, rebuilt.cols,
                              real.rows, real.cols));
    rebuilt_coordinates = pca.transform(rebuilt);
    out.rebuilt_bandwidth = median_distance(rebuilt_coordinates, {.seed = options.seed});
    rebuilt_kernel = {.seed = options.seed, .bandwidth = out.rebuilt_bandwidth};
    for (std::size_t c = 0; c < n_classes; ++c)
      rebuilt_of_class.push_back(rows_of(rebuilt_coordinates, real_classes, std::int32_t(c)));
  }

  std::vector<KnnClassifier> knns, rebuilt_knns;
  for (auto k : options.ks) knns.emplace_back(out.real_coordinates, real_classes, n_classes, k);
  if (with_rebuilt)
    for (auto k : options.ks) rebuilt_knns.emplace_back(rebuilt_coordinates, real_classes, n_classes, k);

  for (const CellSet& set : sets) {
    if (set.features.cols != real.cols)
      throw Error(fmt::format("{}: {} features, the real cells have {}", set.name, set.features.cols, real.cols));
    if (set.classes.size() != set.features.rows) throw Error(set.name + ": one class per cell is needed");
    CellSetScores s;
    s.name = set.name;
    s.cells_per_class.assign(n_classes, 0);
    for (auto c : set.classes) {
      if (c < 0 || std::size_t(c) >= n_classes) throw Error(fmt::format("{}: class {} out of range", set.name, c));
      ++s.cells_per_class[std::size_t(c)];
    }
    s.coordinates = pca.transform(set.features);
    // The share of the set's cells each classifier gives their own class.
    auto vote = [&](const std::vector<KnnClassifier>& classifiers, std::vector<double>& accuracy,
                    std::vector<std::vector<double>>& per_class, std::vector<std::vector<std::int32_t>>* predictions) {
      per_class.assign(n_classes, std::vector<double>(classifiers.size(), std::numeric_limits<double>::quiet_NaN()));
      for (std::size_t ki = 0; ki < classifiers.size(); ++ki) {
        const KnnPredictions p = classifiers[ki].predict(s.coordinates);
        std::vector<std::size_t> right(n_classes, 0);
        std::size_t total = 0;
        for (std::size_t i = 0; i < p.label.size(); ++i)
          if (p.label[i] == set.classes[i]) ++right[std::size_t(set.classes[i])], ++total;
        accuracy.push_back(p.label.empty() ? std::numeric_limits<double>::quiet_NaN()
                                           : double(total) / double(p.label.size()));
        for (std::size_t c = 0; c < n_classes; ++c)
          if (s.cells_per_class[c] > 0) per_class[c][ki] = double(right[c]) / double(s.cells_per_class[c]);
        if (predictions) predictions->push_back(p.label);
      }
    };
    vote(knns, s.knn_accuracy, s.knn_accuracy_per_class, &s.knn_predictions);
    s.knn_rebuilt_accuracy_per_class.assign(n_classes, {});
    if (with_rebuilt) vote(rebuilt_knns, s.knn_rebuilt_accuracy, s.knn_rebuilt_accuracy_per_class, nullptr);
    auto compare = [&](const DenseMatrix& reference, const std::vector<DenseMatrix>& reference_of_class,
                       const MmdOptions& k, std::optional<MmdResult>& all, std::vector<std::optional<MmdResult>>& per) {
      if (s.coordinates.rows >= 2) all = mmd2_unbiased(s.coordinates, reference, k);
      for (std::size_t c = 0; c < n_classes; ++c) {
        if (s.cells_per_class[c] < 2 || reference_of_class[c].rows < 2) {
          per.emplace_back();
          continue;
        }
        per.push_back(mmd2_unbiased(rows_of(s.coordinates, set.classes, std::int32_t(c)), reference_of_class[c], k));
      }
    };
    compare(out.real_coordinates, real_of_class, kernel, s.mmd, s.mmd_per_class);
    if (with_rebuilt)
      compare(rebuilt_coordinates, rebuilt_of_class, rebuilt_kernel, s.mmd_rebuilt, s.mmd_rebuilt_per_class);
    out.sets.push_back(std::move(s));
  }
  return out;
}

void write_generation_scatter_png(const GenerationEvaluation& e, std::size_t set,
                                  const std::vector<std::int32_t>& real_classes,
                                  const std::vector<std::int32_t>& set_classes,
                                  const std::vector<std::string>& class_names, const std::filesystem::path& path,
                                  const std::string& title) {
  const CellSetScores& s = e.sets.at(set);
  if (real_classes.size() != e.real_coordinates.rows || set_classes.size() != s.coordinates.rows)
    throw Error(path.string(), "one class per plotted cell is needed");
  std::vector<double> x, y;
  std::vector<std::int32_t> classes;
  std::vector<std::uint8_t> rings;
  auto add = [&](const DenseMatrix& m, const std::vector<std::int32_t>& c, std::uint8_t ring) {
    for (std::size_t i = 0; i < m.rows; ++i) {
      x.push_back(m(i, 0));
      y.push_back(m.cols > 1 ? m(i, 1) : 0.0);
      classes.push_back(c[i]);
      rings.push_back(ring);
    }
  };
  add(e.real_coordinates, real_classes, 0);
  add(s.coordinates, set_classes, 1);
  plot::ScatterPlot p;
  p.title = title;
  p.x_label = "PC1 of the real cells";
  p.y_label = "PC2 of the real cells";
  p.x = x;
  p.y = y;
  p.categories = classes;
  p.category_names = class_names;
  p.rings = rings;
  p.dot_label = "real";
  p.ring_label = s.name;
  p.style = plot::ScatterStyle::Dots;
  p.width = 1000;
  p.height = 750;
  plot::write_png(p, path.string());
}

}  // namespace c2s
