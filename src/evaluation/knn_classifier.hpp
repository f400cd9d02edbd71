// k-nearest-neighbour classification: each query cell takes the majority
// label of its k nearest training cells (Euclidean distance, e.g. on PCA
// coordinates), with the fraction of votes as its confidence.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "evaluation/dense_matrix.hpp"

namespace c2s {

struct KnnPredictions {
  std::vector<std::int32_t> label;  // class index per query cell
  std::vector<double> confidence;   // votes for that class / k
};

class KnnClassifier {
 public:
  // `train`: the reference cells (rows); `labels`: their classes, each in
  // [0, n_classes). k must be between 1 and the number of training cells.
  KnnClassifier(DenseMatrix train, std::vector<std::int32_t> labels, std::size_t n_classes, std::size_t k);

  // Neighbours are ordered by distance, then training index; the vote goes
  // to the class with most neighbours, a tie to the smaller summed distance
  // of its neighbours, then the lower class index. Query cells run on the
  // pool; the result does not depend on the thread count.
  KnnPredictions predict(const DenseMatrix& queries) const;

  std::size_t k() const { return k_; }

 private:
  DenseMatrix train_;
  std::vector<std::int32_t> labels_;
  std::size_t n_classes_, k_;
};

}  // namespace c2s
