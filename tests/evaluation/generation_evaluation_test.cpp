// Judging generated cells: the naive rank baselines on hand-made rankings,
// expression rebuilt from ranks as c2s reconstruct does, and the k-NN / MMD
// evaluation on Gaussian blobs whose answers are known.
#include "evaluation/generation_evaluation.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/thread_pool.hpp"
#include "data/reconstruction.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation/rank_baseline.hpp"
#include "evaluation_test_support.hpp"
#include "io/anndata_writer.hpp"

namespace c2s {
namespace {

using testing_support::Blobs;
using testing_support::ScratchDir;

TEST(RankBaseline, MeanRanksPutAnAbsentGeneAtTheSentenceLength) {
  // Gene 0 first in every cell; gene 1 second in two cells and absent from
  // the third (rank 2 there, its length); gene 2 third in one cell; gene 3 nowhere.
  const std::vector<std::vector<std::uint32_t>> cells{{0, 1, 2}, {0, 1}, {0, 4}};
  const TypeRanking t(cells, 5);
  EXPECT_EQ(t.cells(), 3u);
  EXPECT_DOUBLE_EQ(t.mean_rank(0), 0.0);
  EXPECT_DOUBLE_EQ(t.mean_rank(1), (1 + 1 + 2) / 3.0);
  EXPECT_DOUBLE_EQ(t.mean_rank(2), (2 + 2 + 2) / 3.0);
  EXPECT_DOUBLE_EQ(t.mean_rank(4), (3 + 2 + 1) / 3.0);
  EXPECT_DOUBLE_EQ(t.mean_rank(3), 7 / 3.0);  // never listed: every cell's length
  // Listed genes only, by mean rank, a tie to the lower index.
  EXPECT_EQ(t.by_mean_rank(), (std::vector<std::uint32_t>{0, 1, 2, 4}));
  EXPECT_EQ(t.mean_rank_cell(2), (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(t.mean_rank_cell(10).size(), 4u);
  testing_support::expect_error([] { TypeRanking({}, 3); }, "at least one cell");
  testing_support::expect_error([] { TypeRanking({{0, 7}}, 3); }, "out of range");
}

TEST(RankBaseline, SampledCellsHoldEachGeneAsOftenAsTheTypesCells) {
  // Gene 0 in every cell (first), gene 1 in half of them, gene 2 in a
  // quarter, gene 9 in none.
  std::vector<std::vector<std::uint32_t>> cells;
  for (int i = 0; i < 8; ++i) {
    std::vector<std::uint32_t> s{0};
    if (i % 2 == 0) s.push_back(1);
    if (i % 4 == 0) s.push_back(2);
    s.push_back(std::uint32_t(3 + i % 3));
    cells.push_back(s);
  }
  const TypeRanking t(cells, 10);
  std::map<std::uint32_t, int> seen;
  const int draws = 4000;
  for (int d = 0; d < draws; ++d) {
    Rng rng(5, std::uint64_t(d));
    const auto cell = t.sampled_rank_cell(10, rng);
    ASSERT_FALSE(cell.empty());
    EXPECT_EQ(cell[0], 0u);  // rank 0 in every cell: always drawn first
    std::set<std::uint32_t> unique(cell.begin(), cell.end());
    EXPECT_EQ(unique.size(), cell.size());
    for (auto g : cell) ++seen[g];
  }
  EXPECT_EQ(seen[0], draws);
  EXPECT_NEAR(seen[1] / double(draws), 0.5, 0.03);
  EXPECT_NEAR(seen[2] / double(draws), 0.25, 0.03);
  EXPECT_EQ(seen.count(9), 0u);
  // n caps the genes; the same stream gives the same cell.
  Rng a(1, 2), b(1, 2);
  EXPECT_EQ(t.sampled_rank_cell(2, a), t.sampled_rank_cell(2, b));
  Rng c(1, 3);
  EXPECT_LE(t.sampled_rank_cell(2, c).size(), 2u);
}

TEST(ReconstructedExpression, IsWhatReconstructSentencesWrites) {
  ScratchDir dir;
  const SentenceStore store(testing_support::evaluation_test_store());
  ASSERT_TRUE(store.inverse_model());
  const std::vector<std::int64_t> cells{0, 7, 300};
  const auto sentences = cell_top_genes(store, cells, 25);
  ASSERT_EQ(sentences.size(), 3u);
  for (std::size_t i = 0; i < cells.size(); ++i) {
    ASSERT_EQ(sentences[i].size(), 25u);
    EXPECT_EQ(sentence_text(sentences[i], store.genes()), store.sentence(cells[i], 25));
  }
  // The same cells written as an h5ad by the reconstruction, read back as features.
  std::vector<std::string> texts;
  DataFrame obs;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    texts.push_back(sentence_text(sentences[i], store.genes()));
    obs.index.push_back("c" + std::to_string(i));
  }
  const std::string h5ad = dir.file("rebuilt.h5ad");
  reconstruct_sentences(texts, obs, store.genes(), store.header().gene_n_cells, *store.inverse_model(), h5ad);
  const std::vector<std::uint32_t> genes{sentences[0][0], sentences[1][3], 5, sentences[2][24]};
  const double scale = natural_log_scale(store);
  const DenseMatrix direct =
      reconstructed_expression(sentences, *store.inverse_model(), std::size_t(store.n_genes()), genes, scale);
  auto source = open_matrix(h5ad);
  std::vector<std::int64_t> column_of(std::size_t(store.n_genes()), -1);
  for (std::size_t j = 0; j < genes.size(); ++j) column_of[genes[j]] = std::int64_t(j);
  const DenseMatrix read = expression_matrix(*source, column_of, genes.size(), scale);
  ASSERT_EQ(read.rows, 3u);
  ASSERT_EQ(read.cols, 4u);
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t j = 0; j < 4; ++j) EXPECT_FLOAT_EQ(read(i, j), direct(i, j)) << i << "," << j;
  // A cell's first gene carries the inverse model's value at rank 0.
  EXPECT_FLOAT_EQ(direct(0, 0), float(double(reconstructed_value(*store.inverse_model(), 0)) * scale));
  EXPECT_GT(direct(0, 0), direct(1, 1));  // rank 0 above rank 3
  testing_support::expect_error([&] { expression_matrix(*source, {0, 1}, 2); }, "feature columns");
}

// Generated cells from the real cells' own blobs are recognised and close;
// cells labelled at random are not recognised; shifted cells are far.
TEST(GenerationEvaluation, KnnAndMmdAgainstKnownAnswers) {
  const Blobs real = testing_support::blobs(240, 8, 3, 0.5, 21, 1);
  const Blobs alike = testing_support::blobs(90, 8, 3, 0.5, 21, 2);
  Blobs relabelled = testing_support::blobs(90, 8, 3, 0.5, 21, 3);
  for (std::size_t i = 0; i < relabelled.y.size(); ++i) relabelled.y[i] = std::int32_t((i * 7 / 3) % 3);
  Blobs shifted = testing_support::blobs(90, 8, 3, 0.5, 21, 4);
  for (auto& v : shifted.x.values) v += 1.5f;
  const std::vector<CellSet> sets{{"alike", alike.x, alike.y}, {"relabelled", relabelled.x, relabelled.y},
                                  {"shifted", shifted.x, shifted.y}};
  const GenerationEvaluation e = evaluate_generation(real.x, real.y, 3, sets, {.pcs = 5});
  ASSERT_EQ(e.sets.size(), 3u);
  EXPECT_EQ(e.pcs, 5u);
  EXPECT_EQ(e.ks, (std::vector<std::size_t>{3, 5, 10, 25}));
  EXPECT_EQ(e.real_per_class, (std::vector<std::size_t>{80, 80, 80}));
  const auto& alike_s = e.sets[0];
  const auto& relabelled_s = e.sets[1];
  const auto& shifted_s = e.sets[2];
  for (std::size_t k = 0; k < 4; ++k) {
    EXPECT_GE(alike_s.knn_accuracy[k], 0.97) << k;
    EXPECT_LE(relabelled_s.knn_accuracy[k], 0.5) << k;
    EXPECT_GE(relabelled_s.knn_accuracy[k], 0.15) << k;
  }
  // The classes of the relabelled set: every cell's true blob, not its label.
  std::size_t agree = 0;
  for (std::size_t i = 0; i < relabelled.y.size(); ++i)
    agree += relabelled_s.knn_predictions[1][i] == std::int32_t(i % 3);
  EXPECT_GE(agree, 85u);
  ASSERT_TRUE(alike_s.mmd && shifted_s.mmd);
  EXPECT_LT(std::abs(alike_s.mmd->mmd2), 0.02);
  EXPECT_GT(shifted_s.mmd->mmd2, 10 * std::abs(alike_s.mmd->mmd2) + 0.05);
  // One kernel for all: the median distance between the real cells.
  EXPECT_TRUE(alike_s.mmd->bandwidth_given);
  EXPECT_DOUBLE_EQ(alike_s.mmd->bandwidth, e.bandwidth);
  EXPECT_DOUBLE_EQ(e.bandwidth, median_distance(e.real_coordinates, {}));
  // Per class: each against its own real cells.
  for (std::size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(alike_s.cells_per_class[c], 30u);
    ASSERT_TRUE(alike_s.mmd_per_class[c]);
    EXPECT_EQ(alike_s.mmd_per_class[c]->n_y, 80u);
    EXPECT_LT(std::abs(alike_s.mmd_per_class[c]->mmd2), 0.1);
    ASSERT_TRUE(relabelled_s.mmd_per_class[c]);
    // Two thirds of each "class" is another blob.
    EXPECT_GT(relabelled_s.mmd_per_class[c]->mmd2, 0.1);
    EXPECT_GT(relabelled_s.mmd_per_class[c]->mmd2, 5 * std::abs(alike_s.mmd_per_class[c]->mmd2));
    EXPECT_GE(alike_s.knn_accuracy_per_class[c][0], 0.9);
  }
  EXPECT_EQ(alike_s.coordinates.rows, 90u);
  EXPECT_EQ(alike_s.coordinates.cols, 5u);
}

// Against real cells rebuilt as the sets were (here: shifted), a set made
// the same way is close and the real cells' own kind is far; k-NN fitted on
// them recognises the set made the same way.
TEST(GenerationEvaluation, MmdAndKnnAgainstTheRebuiltRealCells) {
  const Blobs real = testing_support::blobs(240, 8, 3, 0.5, 21, 1);
  DenseMatrix rebuilt = real.x;
  for (auto& v : rebuilt.values) v += 1.5f;
  const Blobs alike = testing_support::blobs(90, 8, 3, 0.5, 21, 2);
  Blobs shifted = testing_support::blobs(90, 8, 3, 0.5, 21, 4);
  for (auto& v : shifted.x.values) v += 1.5f;
  const auto e = evaluate_generation(real.x, real.y, 3, {{"alike", alike.x, alike.y}, {"shifted", shifted.x, shifted.y}},
                                     {.pcs = 5}, rebuilt);
  ASSERT_TRUE(e.sets[0].mmd_rebuilt && e.sets[1].mmd_rebuilt);
  EXPECT_LT(std::abs(e.sets[1].mmd_rebuilt->mmd2), 0.02);
  EXPECT_GT(e.sets[0].mmd_rebuilt->mmd2, 0.05);
  EXPECT_GT(e.sets[1].mmd->mmd2, 0.05);
  EXPECT_DOUBLE_EQ(e.sets[0].mmd_rebuilt->bandwidth, e.rebuilt_bandwidth);
  ASSERT_EQ(e.sets[1].mmd_rebuilt_per_class.size(), 3u);
  EXPECT_LT(std::abs(e.sets[1].mmd_rebuilt_per_class[2]->mmd2), 0.1);
  // Classifiers fitted on the rebuilt real cells recognise a set rebuilt alike.
  ASSERT_EQ(e.sets[1].knn_rebuilt_accuracy.size(), e.ks.size());
  for (double acc : e.sets[1].knn_rebuilt_accuracy) EXPECT_GE(acc, 0.9);
  ASSERT_EQ(e.sets[1].knn_rebuilt_accuracy_per_class.size(), 3u);
  EXPECT_GE(e.sets[1].knn_rebuilt_accuracy_per_class[2][0], 0.9);
  // With the real cells as their own rebuilding, the two votes are one.
  const auto same = evaluate_generation(real.x, real.y, 3, {{"shifted", shifted.x, shifted.y}}, {.pcs = 5}, real.x);
  EXPECT_EQ(same.sets[0].knn_rebuilt_accuracy, same.sets[0].knn_accuracy);
  // Without rebuilt cells, no such figures.
  const auto without = evaluate_generation(real.x, real.y, 3, {{"alike", alike.x, alike.y}});
  EXPECT_FALSE(without.sets[0].mmd_rebuilt);
  EXPECT_TRUE(without.sets[0].knn_rebuilt_accuracy.empty());
  testing_support::expect_error(
      [&] { evaluate_generation(real.x, real.y, 3, {}, {}, DenseMatrix(3, 8)); }, "rebuilt real cells are 3 x 8");
}

TEST(GenerationEvaluation, ClassesWithoutCellsAndBadInput) {
  const Blobs real = testing_support::blobs(60, 4, 2, 0.3, 5, 1);
  // A third class nobody real has; a set of a single cell.
  const std::vector<CellSet> sets{{"odd", DenseMatrix(3, 4), {2, 2, 0}}, {"one", DenseMatrix(1, 4), {1}}};
  const GenerationEvaluation e = evaluate_generation(real.x, real.y, 3, sets, {.ks = {3}});
  EXPECT_EQ(e.real_per_class[2], 0u);
  EXPECT_DOUBLE_EQ(e.sets[0].knn_accuracy_per_class[2][0], 0.0);  // never recognised: no real cell of it
  EXPECT_TRUE(std::isnan(e.sets[0].knn_accuracy_per_class[1][0]));
  EXPECT_FALSE(e.sets[0].mmd_per_class[2]);  // no real cell to compare with
  EXPECT_FALSE(e.sets[1].mmd);               // one cell: no MMD
  EXPECT_EQ(e.pcs, 4u);                      // no more than the features
  testing_support::expect_error([&] { evaluate_generation(real.x, real.y, 2, sets, {.ks = {3}}); }, "out of range");
  testing_support::expect_error([&] { evaluate_generation(real.x, real.y, 3, sets, {.ks = {61}}); }, "k = 61");
  testing_support::expect_error(
      [&] { evaluate_generation(real.x, real.y, 3, {{"wide", DenseMatrix(2, 5), {0, 1}}}, {.ks = {3}}); }, "features");
}

TEST(GenerationEvaluation, SameForAnyThreadCount) {
  const Blobs real = testing_support::blobs(150, 6, 3, 0.8, 9, 1);
  const Blobs gen = testing_support::blobs(60, 6, 3, 0.8, 9, 2);
  ThreadPool::set_default_threads(1);
  const auto one = evaluate_generation(real.x, real.y, 3, {{"g", gen.x, gen.y}}, {.pcs = 4});
  ThreadPool::set_default_threads(3);
  const auto three = evaluate_generation(real.x, real.y, 3, {{"g", gen.x, gen.y}}, {.pcs = 4});
  ThreadPool::set_default_threads(0);
  EXPECT_EQ(one.sets[0].knn_predictions, three.sets[0].knn_predictions);
  EXPECT_EQ(one.sets[0].mmd->mmd2, three.sets[0].mmd->mmd2);
  EXPECT_EQ(one.bandwidth, three.bandwidth);
}

TEST(GenerationEvaluation, ScatterOfRealAndGeneratedCells) {
  ScratchDir dir;
  const Blobs real = testing_support::blobs(60, 4, 2, 0.3, 5, 1);
  const Blobs gen = testing_support::blobs(20, 4, 2, 0.3, 5, 2);
  const auto e = evaluate_generation(real.x, real.y, 2, {{"generated", gen.x, gen.y}}, {.ks = {3}});
  const std::string png = dir.file("scatter.png");
  write_generation_scatter_png(e, 0, real.y, gen.y, {"a", "b"}, png, "test");
  EXPECT_GT(std::filesystem::file_size(png), 1000u);
  testing_support::expect_error([&] { write_generation_scatter_png(e, 0, real.y, {0}, {"a", "b"}, png, "t"); },
                                "one class per plotted cell");
}

}  // namespace
}  // namespace c2s
