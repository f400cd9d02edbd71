// The reference figures on Kang et al. 2018 (12k PBMCs, 8 cell types,
// 8 donors), measured by the lead with scikit-learn: c2s's baselines must
// land within 1 percentage point (k-NN on raw expression: see its note). About a minute on 2 cores, so not part of
// the default suite; run it with
//   build/test_evaluation --gtest_also_run_disabled_tests --gtest_filter='*Kang*'
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "cli/cli_runner.hpp"
#include "data/store_split.hpp"
#include "evaluation/classification_metrics.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation/knn_classifier.hpp"
#include "evaluation/logistic_regression.hpp"
#include "evaluation/pca.hpp"

namespace c2s {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double accuracy(const std::vector<std::int32_t>& predicted, const std::vector<std::int32_t>& truth) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < truth.size(); ++i) correct += predicted[i] == truth[i];
  return double(correct) / double(truth.size());
}

TEST(KangReference, DISABLED_BaselinesWithinOnePointOfScikitLearn) {
  testing_support::ScratchDir dir;
  const std::string store_path = dir.file("kang.c2s");
  testing_support::run_json("convert " + std::string(C2S_SHARED_DIR) + "/data/kang2018_muscat_kang_se_12k.h5ad -o " +
                            store_path + " --obs cell_type,sample_id");
  testing_support::run_json("split " + store_path + " --by sample_id");
  const SentenceStore store(store_path);
  const std::vector<std::int64_t> train = cells_in_split(store, "train"), test = cells_in_split(store, "test");
  ASSERT_EQ(test.size(), 1711u);  // donor 1016
  const Column& labels = *store.obs().find("cell_type");
  std::vector<std::int32_t> y_train, y_test;
  for (auto c : train) y_train.push_back(labels.codes[std::size_t(c)]);
  for (auto c : test) y_test.push_back(labels.codes[std::size_t(c)]);
  const std::size_t classes = labels.categories.size();

  auto t = Clock::now();
  const auto genes = default_feature_genes(store, train);
  ASSERT_EQ(genes.size(), 1287u);
  const DenseMatrix x_train = expression_matrix(store, train, genes, natural_log_scale(store));
  const DenseMatrix x_test = expression_matrix(store, test, genes, natural_log_scale(store));
  std::printf("features: %.2f s\n", since(t));

  t = Clock::now();
  const Pca pca = fit_pca(x_train, {.components = 50});
  const DenseMatrix z_train = pca.transform(x_train), z_test = pca.transform(x_test);
  std::printf("PCA-50: %.2f s\n", since(t));
  for (auto [k, expected] : {std::pair{15, 0.904}, std::pair{5, 0.891}}) {
    t = Clock::now();
    const double acc = accuracy(KnnClassifier(z_train, y_train, classes, std::size_t(k)).predict(z_test).label, y_test);
    std::printf("k-NN k=%d on PCA-50: accuracy %.4f (scikit-learn %.3f), %.2f s\n", k, acc, expected, since(t));
    EXPECT_NEAR(acc, expected, 0.01) << "k = " << k;
  }
  // On raw expression with k = 5, 160 of the 1711 test cells have tied
  // votes (2-2-1): scikit-learn gives them the first class in sorted order,
  // c2s the class of the nearer neighbours. scikit-learn's own neighbours
  // voted with c2s's rule give 0.7177 (measured with /usr/bin/python3), as
  // c2s does; its rule gives 0.698 on these features (0.694 for the lead).
  t = Clock::now();
  const double raw = accuracy(KnnClassifier(x_train, y_train, classes, 5).predict(x_test).label, y_test);
  std::printf("k-NN k=5 on expression: accuracy %.4f (scikit-learn 0.694; its neighbours with c2s's tie rule "
              "0.718), %.2f s\n",
              raw, since(t));
  EXPECT_NEAR(raw, 0.718, 0.01);

  t = Clock::now();
  const LogisticRegression lr = fit_logistic_regression(x_train, y_train, classes);
  const double lr_acc = accuracy(lr.predict(x_test), y_test);
  std::printf("logistic regression C=1: accuracy %.4f (scikit-learn 0.910), %d iterations, %.2f s\n", lr_acc,
              lr.iterations, since(t));
  EXPECT_TRUE(lr.converged);
  EXPECT_NEAR(lr_acc, 0.910, 0.01);
}

}  // namespace
}  // namespace c2s
