// Judging a perturbation prediction by the mean expression shift it implies,
// gene by gene, on held-out cells of a split store:
//   * true shift: mean log-normalised expression of the held-out perturbed
//     cells minus that of the held-out control cells;
//   * predicted shift: the predicted cells minus the control cells they were
//     predicted from, BOTH reconstructed by the store's inverse model from
//     ranked genes (the prediction's genes; the controls' own top-k sentences).
//     A reconstructed cell holds only its sentence's genes, at values given
//     by rank alone, so it differs from the measured cell everywhere; taking
//     the difference of two reconstructions cancels that to first order,
//     where subtracting measured controls would not;
//   * baselines: every control cell moved by the training cells' mean shift
//     (measured expression, like the truth), and no change (shift 0);
//   * the held-out perturbed cells' own sentences reconstructed the same way
//     ("real sentences"): what a perfect sentence prediction would score
//     through reconstruction at this top-k; and sentences without any gene
//     ("empty sentences"): the controls subtracted alone, which correlates
//     with the truth by itself (genes that fall were high in the controls),
//     the floor a degenerate prediction stands on.
// Scores: Pearson's r and RMSE over the genes the truth changes most, and
// over all genes. Format of the written files: docs/formats/perturb-output.md.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/inverse_model.hpp"
#include "data/sentence_store.hpp"

namespace c2s {

struct ShiftScores {
  std::optional<double> pearson_top, pearson_all;  // nullopt: undefined (a constant prediction)
  double rmse_top = 0, rmse_all = 0;
};

// The scores of `predicted` against `truth` (one value per gene) over the
// genes `top` and over all genes.
ShiftScores score_shift(std::span<const double> truth, std::span<const double> predicted,
                        std::span<const std::size_t> top);

// The indices of the n largest |shift| (ties to the lower index), largest first.
std::vector<std::size_t> most_changed_genes(std::span<const double> shift, std::size_t n);

// Per gene, the mean over `cells` of their stored values times `scale`
// (0 where a cell does not express the gene). Memory: a block of cells.
std::vector<double> mean_expression(const SentenceStore& store, const std::vector<std::int64_t>& cells, double scale);

// Per gene, the mean over cells given as ranked gene lists (vocabulary
// indices, most expressed first) of their reconstructed expression: the gene
// at rank r has reconstructed_value(model, r) * scale, genes not listed 0.
std::vector<double> mean_reconstructed_expression(const std::vector<std::vector<std::uint32_t>>& cells,
                                                  std::size_t n_genes, const InverseModel& model, double scale);
// The same for stored cells, from their first `top_k` genes (0: all).
std::vector<double> mean_reconstructed_expression(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                  std::int64_t top_k, double scale);

struct PerturbationShiftOptions {
  std::string condition_column = "condition", control_value = "ctrl", perturbation;
  std::string test_split = "test", train_split = "train";
  std::int64_t top_k = 200;    // genes of the sentences the model reads and writes
  std::size_t top_genes = 50;  // the most-changed genes the main scores are taken over
};

struct ShiftMethod {
  std::string name, description;
  std::vector<double> shift;  // one per gene
  ShiftScores scores;
};

struct PerturbationShiftReport {
  PerturbationShiftOptions options;
  std::vector<std::string> genes;
  double scale = 1;  // store values -> ln(1 + normalised count)
  std::vector<double> control_mean, perturbed_mean, true_shift;
  std::vector<std::size_t> top_genes;
  // c2s (the prediction), training_shift, no_change, real_sentences, empty_sentences.
  std::vector<ShiftMethod> methods;
  std::int64_t test_control_cells = 0, test_perturbed_cells = 0, train_control_cells = 0,
               train_perturbed_cells = 0, predicted_cells = 0;

  const ShiftMethod& method(const std::string& name) const;
};

// `predicted[i]` is the ranked gene list predicted from control cell
// `predicted_from[i]` (store indices). Errors name the store: no split or
// inverse model, no condition column, a split without control or perturbed
// cells of the perturbation.
PerturbationShiftReport evaluate_perturbation_shift(const SentenceStore& store, const PerturbationShiftOptions& options,
                                                    const std::vector<std::vector<std::uint32_t>>& predicted,
                                                    const std::vector<std::int64_t>& predicted_from);

// The figures as JSON: the options, cell counts, and each method's scores
// (a Pearson r that is undefined is null, with the reason).
nlohmann::ordered_json perturbation_shift_json(const PerturbationShiftReport& report);

// shifts.csv (per gene: means, true and each method's shift, rank among the
// most changed) and shift_scatter.png (predicted against true shift over the
// most-changed genes, the model beside the training-shift baseline) into `dir`.
void write_perturbation_shift_files(const PerturbationShiftReport& report, const std::filesystem::path& dir);

}  // namespace c2s
