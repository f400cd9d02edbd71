#include "evaluation/knn_classifier.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

#include "core/error.hpp"
#include "core/thread_pool.hpp"

namespace c2s {

KnnClassifier::KnnClassifier(DenseMatrix train, std::vector<std::int32_t> labels, std::size_t n_classes,
                             std::size_t k)
    : train_(std::move(train)), labels_(std::move(labels)), n_classes_(n_classes), k_(k) {
  if (labels_.size() != train_.rows)
    throw Error(fmt::format("k-NN: {} labels for {} training cells", labels_.size(), train_.rows));
  if (k_ < 1) throw UsageError("k-NN: k must be at least 1");
  if (k_ > train_.rows)
    throw Error(fmt::format("k-NN: k = {} is more than the {} training cells", k_, train_.rows));
  for (auto l : labels_)
    if (l < 0 || std::size_t(l) >= n_classes_)
      throw Error(fmt::format("k-NN: class {} out of range ({} classes)", l, n_classes_));
}

KnnPredictions KnnClassifier::predict(const DenseMatrix& queries) const {
  if (queries.cols != train_.cols)
    throw Error(fmt::format("k-NN: queries have {} features, the training cells {}", queries.cols, train_.cols));
  KnnPredictions out;
  out.label.assign(queries.rows, 0);
  out.confidence.assign(queries.rows, 0.0);
  const std::size_t n = train_.rows, d = train_.cols;
  ThreadPool::global().parallel_for(row_blocks(queries.rows), [&](std::size_t b) {
    std::vector<std::pair<double, std::size_t>> distance(n);
    std::vector<std::size_t> votes(n_classes_);
    std::vector<double> summed(n_classes_);
    for (std::size_t q = block_begin(b); q < block_end(b, queries.rows); ++q) {
      const float* x = queries.row(q).data();
      for (std::size_t i = 0; i < n; ++i) {
        const float* y = train_.row(i).data();
        double s = 0;
        for (std::size_t j = 0; j < d; ++j) {
          const double diff = double(x[j]) - double(y[j]);
          s += diff * diff;
        }
        distance[i] = {s, i};
      }
      std::partial_sort(distance.begin(), distance.begin() + std::ptrdiff_t(k_), distance.end());
      std::fill(votes.begin(), votes.end(), 0);
      std::fill(summed.begin(), summed.end(), 0.0);
      for (std::size_t r = 0; r < k_; ++r) {
        const auto c = std::size_t(labels_[distance[r].second]);
        ++votes[c];
        summed[c] += std::sqrt(distance[r].first);
      }
      std::size_t best = 0;
      for (std::size_t c = 1; c < n_classes_; ++c)
        if (votes[c] > votes[best] || (votes[c] == votes[best] && votes[c] > 0 && summed[c] < summed[best])) best = c;
      out.label[q] = std::int32_t(best);
      out.confidence[q] = double(votes[best]) / double(k_);
    }
  });
  return out;
}

}  // namespace c2s
