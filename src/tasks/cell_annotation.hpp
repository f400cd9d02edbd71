// Cell annotation with a model trained for a label task: single-cell
// (cell_type_prediction, label_prediction: one prompt per cell) or
// multi-cell (tissue_prediction: one prompt per group of cells, whose label
// is the group's); or with a model trained for natural_language_interpretation,
// whose answer for a group of cells is text (an abstract), generated freely.
// Each prompt is formatted with the model's own templates, then
//   * constrained (the default when labels are known): every known label's
//     response, as training formats it (response text + EOS), is scored
//     after the prompt, which runs once per cell; the best is the prediction
//     and the softmax over the labels' log-likelihoods its probability
//     (optionally re-weighted to the cells' own label proportions);
//   * free (the reference package's way): the answer is generated greedily
//     up to EOS, then normalised and matched to the nearest known label
//     (label_matching.hpp), the raw text kept.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/progress.hpp"
#include "model/causal_lm.hpp"
#include "tasks/label_shift.hpp"
#include "text/model_task.hpp"
#include "text/tokenizer.hpp"

namespace c2s {

enum class AnnotationMode { Constrained, Free };

struct AnnotationOptions {
  AnnotationMode mode = AnnotationMode::Constrained;
  std::int64_t batch_size = 16;      // candidate rows (constrained) or prompts (free) run together
  std::int64_t max_new_tokens = 32;  // free mode
  // Constrained mode: estimate the cells' own label proportions and
  // re-weight every cell's probabilities from the model's training
  // proportions (ModelTask::label_counts) to them (label_shift.hpp) before
  // the best label is chosen.
  bool adjust_for_label_shift = false;
};

struct CellAnnotation {
  std::size_t label = 0;  // index into the labels
  // Constrained: the label's probability among the labels. Free: how close
  // the generated text is to the label (1 = the same after normalisation).
  double confidence = 0;
  std::string text;                     // free: the generated text; constrained: the winning response
  std::vector<double> log_likelihoods;  // constrained: one per label
  std::vector<double> probabilities;    // constrained: one per label, re-weighted when adjusting for label shift
};

struct AnnotationStats {
  std::int64_t cells = 0;
  std::int64_t prompts = 0;  // one per cell, or per group of cells for a multi-cell task
  std::int64_t prompt_tokens = 0;
  std::int64_t exact_matches = 0;  // free mode: answers equal to a label after normalisation
  // Adjusting for label shift: the labels' proportions in training and as
  // estimated for the cells, one per label.
  std::vector<double> training_proportions, estimated_proportions;
  std::int64_t label_shift_iterations = 0;
  double calibration_seconds = 0;
  double seconds = 0;
};

class CellAnnotator {
 public:
  // `labels` empty: the model task's labels. Errors: a task that is neither
  // a label task nor natural_language_interpretation, no labels (a label
  // task), constrained mode for interpretation, a tokenizer without EOS;
  // adjusting for label shift in free mode, with a model whose record has no
  // training label counts, or for a label it was not trained on.
  CellAnnotator(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task, std::vector<std::string> labels,
                AnnotationOptions options);

  // Empty for an interpretation model, whose answers are text: then only
  // CellAnnotation::text holds the answer (label 0, confidence NaN).
  const std::vector<std::string>& labels() const { return labels_; }

  // One annotation per cell: `sentences[i]` (its top-k genes, most expressed
  // first) with template key `keys[i]` (the cell's index in its store, as
  // training keys it).
  std::vector<CellAnnotation> annotate(const std::vector<std::string>& sentences, const std::vector<std::uint64_t>& keys,
                                       Progress* progress = nullptr);
  // One annotation per group of cells' sentences (a multi-cell task; for a
  // single-cell task every group holds one cell), with template key keys[i].
  std::vector<CellAnnotation> annotate_groups(const std::vector<std::vector<std::string>>& groups,
                                              const std::vector<std::uint64_t>& keys, Progress* progress = nullptr);
  const AnnotationStats& stats() const { return stats_; }

  // With adjust_for_label_shift: scores cells of known labels (`truth`, one
  // label name per cell, e.g. a validation split's) and fits the calibration
  // (label_shift.hpp) that the following annotate() calls apply before EM.
  // Cells whose truth is not a candidate label are left out. UsageError:
  // not adjusting, or no cell with a candidate label.
  void calibrate(const std::vector<std::string>& sentences, const std::vector<std::uint64_t>& keys,
                 const std::vector<std::string>& truth, Progress* progress = nullptr);
  const std::optional<LabelCalibration>& calibration() const { return calibration_; }

 private:
  const CausalLM& model_;
  const Tokenizer& tokenizer_;
  ModelTask task_;
  PromptFormatter formatter_;
  std::vector<std::string> labels_;
  std::vector<double> training_counts_;  // per label, when adjusting for label shift
  std::optional<LabelCalibration> calibration_;
  bool calibrating_ = false;
  AnnotationOptions options_;
  std::int64_t eos_ = 0;
  bool text_answers_ = false;
  AnnotationStats stats_;
};

}  // namespace c2s
