#include "tasks/cell_annotation.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.hpp"
#include "engine/continuation_scorer.hpp"
#include "engine/generator.hpp"
#include "tasks/label_matching.hpp"
#include "tasks/label_shift.hpp"

namespace c2s {

CellAnnotator::CellAnnotator(const CausalLM& model, const Tokenizer& tokenizer, ModelTask task,
                             std::vector<std::string> labels, AnnotationOptions options)
    : model_(model),
      tokenizer_(tokenizer),
      task_(std::move(task)),
      formatter_(task_.formatter()),
      labels_(labels.empty() ? task_.labels : std::move(labels)),
      options_(options) {
  text_answers_ = task_.task == PromptTask::NaturalLanguageInterpretation;
  if (task_.task != PromptTask::CellTypePrediction && task_.task != PromptTask::LabelPrediction &&
      task_.task != PromptTask::TissuePrediction && !text_answers_)
    throw Error("annotate", "the model was trained for " + std::string(task_name(task_.task)) +
                                ", not a label task (cell_type_prediction, label_prediction, tissue_prediction) or "
                                "natural_language_interpretation");
  if (text_answers_ && options_.mode == AnnotationMode::Constrained)
    throw UsageError("an interpretation model writes text, there are no labels to score: use --mode free");
  if (text_answers_) labels_.clear();
  if (labels_.empty() && !text_answers_) throw Error("annotate", "no labels to choose from (give --labels FILE)");
  if (!tokenizer_.special_ids().eos) throw Error("annotate", "the tokenizer has no end-of-sequence token");
  eos_ = *tokenizer_.special_ids().eos;
  if (options_.batch_size < 1) throw UsageError("--batch-size must be at least 1");
  if (options_.adjust_for_label_shift) {
    if (options_.mode != AnnotationMode::Constrained)
      throw UsageError("--adjust-proportions needs constrained mode (label probabilities)");
    if (task_.label_counts.size() != task_.labels.size())
      throw UsageError("--adjust-proportions: the model's c2s_task.json has no training label counts "
                       "(trained before c2s recorded them); train it again");
    for (const auto& label : labels_) {
      const auto it = std::find(task_.labels.begin(), task_.labels.end(), label);
      if (it == task_.labels.end() || task_.label_counts[std::size_t(it - task_.labels.begin())] <= 0)
        throw UsageError("--adjust-proportions: the model was not trained on label \"" + label + "\"");
      training_counts_.push_back(double(task_.label_counts[std::size_t(it - task_.labels.begin())]));
    }
  }
}


void CellAnnotator::calibrate(const std::vector<std::string>& sentences, const std::vector<std::uint64_t>& keys,
                              const std::vector<std::string>& truth, Progress* progress) {
  if (training_counts_.empty()) throw UsageError("calibration is part of --adjust-proportions");
  const AnnotationStats saved = stats_;  // the calibration cells are not the annotated ones
  const auto t0 = std::chrono::steady_clock::now();
  calibrating_ = true;
  calibration_.reset();
  std::vector<CellAnnotation> scored;
  try {
    scored = annotate(sentences, keys, progress);
  } catch (...) {
    calibrating_ = false;
    throw;
  }
  calibrating_ = false;
  stats_ = saved;
  std::vector<std::vector<double>> rows;
  std::vector<std::size_t> truth_index;
  for (std::size_t i = 0; i < scored.size(); ++i) {
    const auto it = std::find(labels_.begin(), labels_.end(), truth[i]);
    if (it == labels_.end()) continue;  // a truth no candidate names
    rows.push_back(scored[i].log_likelihoods);
    truth_index.push_back(std::size_t(it - labels_.begin()));
  }
  calibration_ = fit_label_calibration(rows, truth_index);
  stats_.calibration_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<CellAnnotation> CellAnnotator::annotate(const std::vector<std::string>& sentences,
                                                    const std::vector<std::uint64_t>& keys, Progress* progress) {
  std::vector<std::vector<std::string>> groups;
  groups.reserve(sentences.size());
  for (const auto& s : sentences) groups.push_back({s});
  return annotate_groups(groups, keys, progress);
}

std::vector<CellAnnotation> CellAnnotator::annotate_groups(const std::vector<std::vector<std::string>>& groups,
                                                           const std::vector<std::uint64_t>& keys,
                                                           Progress* progress) {
  if (groups.size() != keys.size()) throw Error("annotate", "one template key per prompt is needed");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> inputs(groups.size());
  std::vector<PromptValues> values(groups.size());
  for (std::size_t i = 0; i < groups.size(); ++i) {
    values[i] = task_.group_values(groups[i]);
    inputs[i] = formatter_.format_input(keys[i], values[i]);
  }
  std::vector<std::vector<std::int64_t>> prompts;
  for (const auto& p : tokenizer_.encode_batch(inputs, true)) {
    prompts.emplace_back(p.begin(), p.end());
    stats_.prompt_tokens += std::int64_t(p.size());
  }
  std::vector<CellAnnotation> out(groups.size());

  if (options_.mode == AnnotationMode::Constrained) {
    // Each cell's candidates: the response template it would be trained with,
    // filled with every label; distinct texts are encoded once.
    const std::string slot = task_.answer_placeholder();
    std::map<std::string, std::vector<std::int64_t>> encoded;
    std::vector<std::vector<std::string>> texts(groups.size());
    std::vector<std::vector<std::vector<std::int64_t>>> candidates(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      for (const auto& label : labels_) {
        values[i][slot] = label;
        std::string text = formatter_.format_response(keys[i], values[i]);
        auto it = encoded.find(text);
        if (it == encoded.end()) {
          auto ids = tokenizer_.encode(text, false);
          std::vector<std::int64_t> row(ids.begin(), ids.end());
          row.push_back(eos_);
          it = encoded.emplace(text, std::move(row)).first;
        }
        candidates[i].push_back(it->second);
        texts[i].push_back(std::move(text));
      }
    }
    ContinuationScorer scorer(model_);
    const auto scores = scorer.score(prompts, candidates, options_.batch_size, progress);
    std::vector<std::vector<double>> probabilities(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
      CellAnnotation& a = out[i];
      for (std::size_t l = 0; l < labels_.size(); ++l) a.log_likelihoods.push_back(scores[i][l].log_likelihood);
      probabilities[i] = label_probabilities(a.log_likelihoods, calibration_ ? &*calibration_ : nullptr);
    }
    if (!training_counts_.empty() && !calibrating_ && !groups.empty()) {
      // Calibrated probabilities carry the calibration cells' proportions.
      LabelShift shift = adjust_to_label_shift(probabilities, calibration_ ? calibration_->proportions : training_counts_);
      probabilities = std::move(shift.probabilities);
      stats_.estimated_proportions = std::move(shift.proportions);
      const double total = std::accumulate(training_counts_.begin(), training_counts_.end(), 0.0);
      stats_.training_proportions.clear();
      for (double c : training_counts_) stats_.training_proportions.push_back(c / total);
      stats_.label_shift_iterations = shift.iterations;
    }
    for (std::size_t i = 0; i < groups.size(); ++i) {
      CellAnnotation& a = out[i];
      a.probabilities = std::move(probabilities[i]);
      a.label = std::size_t(std::max_element(a.probabilities.begin(), a.probabilities.end()) - a.probabilities.begin());
      a.confidence = a.probabilities[a.label];
      a.text = texts[i][a.label];
    }
  } else {
    GenerationOptions g;
    g.max_new_tokens = options_.max_new_tokens;
    g.eos_ids = {eos_};
    g.batch_size = options_.batch_size;
    Generator generator(model_);
    const auto generations = generator.generate(prompts, g);
    for (std::size_t i = 0; i < groups.size(); ++i) {
      CellAnnotation& a = out[i];
      const auto& t = generations[i].tokens;
      a.text = tokenizer_.decode(std::vector<TokenId>(t.begin(), t.end()), true);
      if (text_answers_) {
        a.confidence = std::nan("");
        continue;
      }
      const LabelMatch m = match_label(a.text, labels_);
      a.label = m.label;
      a.confidence = m.similarity;
      if (m.similarity == 1.0) ++stats_.exact_matches;
    }
    if (progress) progress->advance(groups.size());
  }
  for (const auto& group : groups) stats_.cells += std::int64_t(group.size());
  stats_.prompts += std::int64_t(groups.size());
  stats_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace c2s
