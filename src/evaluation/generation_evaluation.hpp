// How close generated cells come to real ones: a k-NN classifier on the
// principal components of held-out real cells' log-normalised expression
// is asked for each generated cell's type (accuracy: the share given the
// type the cell was generated as), and the squared MMD between generated
// and real cells in the same PCA space, over all cells and per type, with
// one Gaussian kernel for every comparison (its bandwidth: the median
// distance between the real cells), so that sets can be compared. Optionally
// the MMD against the real cells rebuilt the way the sets were (e.g. from
// their top genes by the inverse model), which takes what the rebuilding
// loses out of the comparison, and the same k-NN vote by classifiers fitted
// on the rebuilt real cells (a cell rebuilt from its top genes is judged by
// real cells rebuilt alike).
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "evaluation/dense_matrix.hpp"
#include "evaluation/distribution_distance.hpp"
#include "evaluation/pca.hpp"

namespace c2s {

struct GenerationEvaluationOptions {
  std::vector<std::size_t> ks{3, 5, 10, 25};
  std::size_t pcs = 50;  // fewer when the real cells or genes allow fewer
  std::uint64_t seed = 42;
};

// Cells to judge (generated, or a baseline's): features over the real
// cells' genes, and the class each was made as (index into the classes).
struct CellSet {
  std::string name;
  DenseMatrix features;
  std::vector<std::int32_t> classes;
};

struct CellSetScores {
  std::string name;
  std::vector<std::size_t> cells_per_class;
  std::vector<double> knn_accuracy;                          // per k
  std::vector<std::vector<double>> knn_accuracy_per_class;   // [class][k]; NaN for a class without cells
  std::vector<std::vector<std::int32_t>> knn_predictions;    // [k][cell]
  std::vector<double> knn_rebuilt_accuracy;                  // per k, fitted on the rebuilt real cells (empty without)
  std::vector<std::vector<double>> knn_rebuilt_accuracy_per_class;  // [class][k] (each empty without)
  std::optional<MmdResult> mmd;                              // against every real cell (2+ cells)
  std::vector<std::optional<MmdResult>> mmd_per_class;       // against the class's real cells (2+ each)
  std::optional<MmdResult> mmd_rebuilt;                      // the same against the rebuilt real cells
  std::vector<std::optional<MmdResult>> mmd_rebuilt_per_class;
  DenseMatrix coordinates;                                   // on the real cells' components
};

struct GenerationEvaluation {
  std::vector<std::size_t> ks;
  std::size_t pcs = 0;
  double explained_variance_ratio = 0;  // of the real cells, by the components kept
  double bandwidth = 0;                 // the kernel's, for every MMD against the real cells
  double rebuilt_bandwidth = 0;         // ... against the rebuilt real cells: their median distance
  std::vector<std::size_t> real_per_class;
  DenseMatrix real_coordinates;
  std::vector<CellSetScores> sets;
};

// `real`: the held-out real cells (features) and their classes, each in
// [0, n_classes); at least 2 cells and as many as the largest k. Every set
// has the real cells' features. `rebuilt` (optional, empty = none): the same
// real cells, in the same order, rebuilt as the sets were.
GenerationEvaluation evaluate_generation(const DenseMatrix& real, const std::vector<std::int32_t>& real_classes,
                                         std::size_t n_classes, const std::vector<CellSet>& sets,
                                         const GenerationEvaluationOptions& options = {},
                                         const DenseMatrix& rebuilt = {});

// The real cells (dots) and one set's cells (rings) on the real cells' first
// two components, coloured by class; written atomically.
void write_generation_scatter_png(const GenerationEvaluation& evaluation, std::size_t set,
                                  const std::vector<std::int32_t>& real_classes,
                                  const std::vector<std::int32_t>& set_classes,
                                  const std::vector<std::string>& class_names, const std::filesystem::path& path,
                                  const std::string& title);

}  // namespace c2s
