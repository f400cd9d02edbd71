// The shift maths on hand-computed cases (Pearson's r, RMSE, the most-changed
// genes, reconstructed means), and the whole evaluation on a simulated split
// store, where predictions that are the truth's own sentences must score as
// the "real sentences" reference and predictions that change nothing score 0.
#include "evaluation/perturbation_shift.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "evaluation/expression_matrix.hpp"
#include "evaluation/paired_statistics.hpp"
#include "evaluation_test_support.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;

TEST(PairedStatistics, PearsonOnHandComputedSeries) {
  const std::vector<double> x{1, 2, 3, 4};
  EXPECT_NEAR(*pearson_correlation(x, std::vector<double>{2, 4, 6, 8}), 1.0, 1e-15);
  EXPECT_NEAR(*pearson_correlation(x, std::vector<double>{4, 3, 2, 1}), -1.0, 1e-15);
  // Centred: dx = dy' = (-1.5, -0.5, 0.5, 1.5), y = (1, 3, 2, 4): sxy = 4, sxx = syy = 5.
  EXPECT_NEAR(*pearson_correlation(x, std::vector<double>{1, 3, 2, 4}), 0.8, 1e-15);
  // Undefined: a constant series, a single pair, no pairs.
  EXPECT_FALSE(pearson_correlation(x, std::vector<double>{0, 0, 0, 0}));
  EXPECT_FALSE(pearson_correlation(std::vector<double>{5, 5, 5}, std::vector<double>{1, 2, 3}));
  EXPECT_FALSE(pearson_correlation(std::vector<double>{1}, std::vector<double>{2}));
  EXPECT_FALSE(pearson_correlation(std::vector<double>{}, std::vector<double>{}));
  expect_error([&] { pearson_correlation(x, std::vector<double>{1, 2}); }, "4 against 2");
}

TEST(PairedStatistics, RootMeanSquareDifference) {
  EXPECT_DOUBLE_EQ(root_mean_square_difference(std::vector<double>{0, 0}, std::vector<double>{3, 4}), std::sqrt(12.5));
  EXPECT_DOUBLE_EQ(root_mean_square_difference(std::vector<double>{1, -1}, std::vector<double>{1, -1}), 0.0);
  EXPECT_DOUBLE_EQ(root_mean_square_difference(std::vector<double>{}, std::vector<double>{}), 0.0);
  expect_error([] { root_mean_square_difference(std::vector<double>{1}, std::vector<double>{}); }, "1 against 0");
}

TEST(PerturbationShift, MostChangedGenesByAbsoluteShiftTiesToTheLowerIndex) {
  const std::vector<double> shift{0.1, -3, 2, -2, 0};
  EXPECT_EQ(most_changed_genes(shift, 3), (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(most_changed_genes(shift, 1), (std::vector<std::size_t>{1}));
  EXPECT_EQ(most_changed_genes(shift, 10), (std::vector<std::size_t>{1, 2, 3, 0, 4}));
}

TEST(PerturbationShift, ScoresOverTheTopGenesAndOverAll) {
  const std::vector<double> truth{1, -2, 3, 0.5}, predicted{2, -4, 6, 0};
  const std::vector<std::size_t> top{2, 1};
  const ShiftScores s = score_shift(truth, predicted, top);
  // Top genes: (3, 6) and (-2, -4), on one line through the origin.
  EXPECT_NEAR(*s.pearson_top, 1.0, 1e-15);
  EXPECT_DOUBLE_EQ(s.rmse_top, std::sqrt((9.0 + 4.0) / 2));
  // All genes: means 0.625 and 1; sxy = 25.5, sxx = 12.6875, syy = 52.
  EXPECT_NEAR(*s.pearson_all, 25.5 / std::sqrt(12.6875 * 52), 1e-15);
  EXPECT_DOUBLE_EQ(s.rmse_all, std::sqrt((1.0 + 4.0 + 9.0 + 0.25) / 4));
  // No change: r undefined, the error is the truth's own size.
  const ShiftScores none = score_shift(truth, std::vector<double>(4, 0.0), top);
  EXPECT_FALSE(none.pearson_top);
  EXPECT_FALSE(none.pearson_all);
  EXPECT_DOUBLE_EQ(none.rmse_top, std::sqrt((9.0 + 4.0) / 2));
  expect_error([&] { score_shift(truth, std::vector<double>(3, 0.0), top); }, "4 true against 3 predicted");
  expect_error([&] { score_shift(truth, predicted, std::vector<std::size_t>{4}); }, "out of range");
}

TEST(PerturbationShift, ReconstructedMeansFollowTheInverseModelByRank) {
  InverseModel model;
  model.slope = -1;
  model.intercept = 2;  // rank 0: 2; rank 1: 2 - log10(2); rank 2: 2 - log10(3) (float values)
  const std::vector<std::vector<std::uint32_t>> cells{{2, 0}, {0}};
  const auto mean = mean_reconstructed_expression(cells, 3, model, 1.0);
  ASSERT_EQ(mean.size(), 3u);
  EXPECT_NEAR(mean[0], (2 - std::log10(2.0) + 2) / 2, 1e-6);
  EXPECT_EQ(mean[1], 0.0);
  EXPECT_NEAR(mean[2], 2.0 / 2, 1e-6);
  const auto scaled = mean_reconstructed_expression(cells, 3, model, 2.5);
  for (std::size_t g = 0; g < 3; ++g) EXPECT_NEAR(scaled[g], 2.5 * mean[g], 1e-12);
  // Past rank 10^(intercept/-slope) - 1 = 99 the line is below 0: clipped.
  std::vector<std::uint32_t> long_cell(120, 0);
  for (std::uint32_t r = 0; r < 120; ++r) long_cell[r] = r;
  const auto clipped = mean_reconstructed_expression({long_cell}, 120, model, 1.0);
  EXPECT_NEAR(clipped[99], 0.0, 1e-6);
  EXPECT_EQ(clipped[110], 0.0);
  expect_error([&] { mean_reconstructed_expression({{5}}, 3, model, 1.0); }, "out of range");
}

// The held-out control and stimulated cells of the simulated store (split by donor).
struct HeldOut {
  std::vector<std::int64_t> control, stim;
};
HeldOut held_out(const SentenceStore& store) {
  HeldOut h;
  const Column& split = *store.obs().find("split");
  const Column& condition = *store.obs().find("condition");
  for (std::size_t i = 0; i < split.size(); ++i)
    if (split.text(i) == "test") (condition.text(i) == "ctrl" ? h.control : h.stim).push_back(std::int64_t(i));
  return h;
}

std::vector<std::vector<std::uint32_t>> top_genes_of(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                     std::size_t top_k) {
  std::vector<std::vector<std::uint32_t>> out;
  CellBlock block;
  store.read_cells(cells, block);
  for (std::size_t c = 0; c < block.size(); ++c) {
    const auto a = block.offsets[c], b = std::min(block.offsets[c + 1], a + std::int64_t(top_k));
    out.emplace_back(block.genes.begin() + a, block.genes.begin() + b);
  }
  return out;
}

TEST(PerturbationShift, TheTruthsOwnSentencesScoreAsTheRealSentences) {
  const SentenceStore store(testing_support::evaluation_test_store());
  const HeldOut h = held_out(store);
  ASSERT_GT(h.control.size(), 10u);
  ASSERT_GT(h.stim.size(), 10u);
  PerturbationShiftOptions o;
  o.perturbation = "stim";
  o.top_k = 40;
  o.top_genes = 20;
  // "Predictions": every held-out stimulated cell's own sentence from every
  // held-out control, so that their means are those of the two groups.
  const auto stim_sentences = top_genes_of(store, h.stim, 40);
  std::vector<std::vector<std::uint32_t>> predicted;
  std::vector<std::int64_t> from;
  for (std::int64_t control : h.control)
    for (const auto& s : stim_sentences) {
      predicted.push_back(s);
      from.push_back(control);
    }
  const PerturbationShiftReport r = evaluate_perturbation_shift(store, o, predicted, from);

  EXPECT_EQ(r.test_control_cells, std::int64_t(h.control.size()));
  EXPECT_EQ(r.test_perturbed_cells, std::int64_t(h.stim.size()));
  EXPECT_EQ(r.predicted_cells, std::int64_t(h.control.size() * h.stim.size()));
  ASSERT_EQ(r.top_genes.size(), 20u);
  ASSERT_EQ(r.methods.size(), 5u);
  // The true shift is the difference of the two groups' mean expression matrices.
  const double scale = natural_log_scale(store);
  const DenseMatrix c = expression_matrix(store, h.control, {}, scale), s = expression_matrix(store, h.stim, {}, scale);
  for (std::size_t g : r.top_genes) {
    double mc = 0, ms = 0;
    for (std::size_t i = 0; i < c.rows; ++i) mc += c(i, g);
    for (std::size_t i = 0; i < s.rows; ++i) ms += s(i, g);
    EXPECT_NEAR(r.true_shift[g], ms / double(s.rows) - mc / double(c.rows), 1e-5) << r.genes[g];
  }
  // The simulated stimulation raises interferon genes about 15-fold: they lead the change.
  EXPECT_GT(r.true_shift[r.top_genes[0]], 1.0);

  const auto& model = r.method("c2s");
  const auto& real = r.method("real_sentences");
  for (std::size_t g = 0; g < r.genes.size(); ++g) EXPECT_NEAR(model.shift[g], real.shift[g], 1e-9);
  // The real sentences, reconstructed, follow the measured shift closely.
  ASSERT_TRUE(real.scores.pearson_top);
  EXPECT_GT(*real.scores.pearson_top, 0.8);
  ASSERT_TRUE(model.scores.pearson_top);
  EXPECT_GT(*model.scores.pearson_top, 0.8);
  // The training cells' shift is a strong baseline on the same simulated effect.
  EXPECT_GT(*r.method("training_shift").scores.pearson_top, 0.8);
  // Empty sentences: minus the controls' reconstruction.
  const auto& empty = r.method("empty_sentences");
  const auto controls = mean_reconstructed_expression(store, from, 40, scale);
  for (std::size_t g = 0; g < r.genes.size(); ++g) EXPECT_EQ(empty.shift[g], -controls[g]);
  const auto& none = r.method("no_change");
  EXPECT_FALSE(none.scores.pearson_top);
  EXPECT_GT(none.scores.rmse_top, model.scores.rmse_top);

  const nlohmann::ordered_json j = perturbation_shift_json(r);
  EXPECT_TRUE(j["methods"]["no_change"]["pearson_r_top_genes"].is_null());
  EXPECT_EQ(j["methods"]["no_change"]["pearson_r_note"], "undefined: a constant shift");
  EXPECT_EQ(j["most_changed_genes"].size(), 20u);
  EXPECT_EQ(j["cells"]["test_control"], h.control.size());

  testing_support::ScratchDir dir;
  write_perturbation_shift_files(r, dir.path());
  std::ifstream csv(dir.file("shifts.csv"));
  std::string header;
  std::getline(csv, header);
  EXPECT_EQ(header,
            "gene,control_mean,perturbed_mean,true_shift,c2s_shift,training_shift_shift,no_change_shift,"
            "real_sentences_shift,empty_sentences_shift,change_rank");
  std::size_t lines = 0;
  for (std::string line; std::getline(csv, line);) ++lines;
  EXPECT_EQ(lines, r.genes.size());
  EXPECT_TRUE(std::filesystem::exists(dir.file("shift_scatter.png")));
}

TEST(PerturbationShift, PredictingTheControlsThemselvesIsNoChange) {
  const SentenceStore store(testing_support::evaluation_test_store());
  const HeldOut h = held_out(store);
  PerturbationShiftOptions o;
  o.perturbation = "stim";
  o.top_k = 40;
  const PerturbationShiftReport r = evaluate_perturbation_shift(store, o, top_genes_of(store, h.control, 40), h.control);
  for (double x : r.method("c2s").shift) EXPECT_NEAR(x, 0.0, 1e-12);
  EXPECT_FALSE(r.method("c2s").scores.pearson_top);
  EXPECT_NEAR(r.method("c2s").scores.rmse_top, r.method("no_change").scores.rmse_top, 1e-9);
}

TEST(PerturbationShift, RefusesWhatCannotBeScored) {
  const SentenceStore store(testing_support::evaluation_test_store());
  const HeldOut h = held_out(store);
  const auto predicted = top_genes_of(store, h.control, 40);
  PerturbationShiftOptions o;
  o.perturbation = "interferon";
  expect_error([&] { evaluate_perturbation_shift(store, o, predicted, h.control); }, "condition 'interferon'");
  o.perturbation = "stim";
  o.condition_column = "treatment";
  expect_error([&] { evaluate_perturbation_shift(store, o, predicted, h.control); }, "no obs column 'treatment'");
  o.condition_column = "condition";
  o.test_split = "holdout";
  expect_error([&] { evaluate_perturbation_shift(store, o, predicted, h.control); }, "split 'holdout'");
  o.test_split = "test";
  expect_error([&] { evaluate_perturbation_shift(store, o, predicted, {}); }, "one control cell per predicted cell");
  expect_error([&] { evaluate_perturbation_shift(store, o, {}, {}); }, "no predicted cells");
}

}  // namespace
}  // namespace c2s
