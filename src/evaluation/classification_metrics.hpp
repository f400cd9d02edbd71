// How well predicted labels match the truth: accuracy, macro-F1, per-class
// precision / recall / F1 / support and the confusion matrix, with their
// files (CSV tables, a PNG heatmap, a JSON summary).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace c2s {

struct ClassificationReport {
  std::vector<std::string> labels;  // the classes, in the caller's order
  // Predictions that name no class (e.g. a free-text answer) count as wrong
  // and get one extra confusion column, "other".
  bool has_other = false;
  std::vector<std::int64_t> confusion;  // labels x columns(), rows = truth, columns = prediction
  std::vector<double> precision, recall, f1;
  std::vector<std::int64_t> support;  // true cells of each class
  std::int64_t cells = 0, correct = 0, other_predictions = 0;
  double accuracy = 0;
  // Mean F1 over the classes present in the truth (support > 0); a class
  // never predicted has precision 0 (sklearn's zero_division=0).
  double macro_f1 = 0;

  std::size_t columns() const { return labels.size() + (has_other ? 1 : 0); }
  // The labels, then the "other" column's name ("other", or "(other)" when a
  // class is called "other").
  std::vector<std::string> column_labels() const;
  std::int64_t count(std::size_t truth, std::size_t predicted) const { return confusion[truth * columns() + predicted]; }
};

// Scores `predicted` against `truth` (same length, at least one cell; every
// true label must be one of `labels`, which must be unique).
ClassificationReport classification_report(const std::vector<std::string>& truth,
                                           const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& labels);

// accuracy, macro_f1, cells, correct, classes, other_predictions and
// per_class {label: {precision, recall, f1, support}}.
nlohmann::ordered_json classification_json(const ClassificationReport& report);

// The confusion matrix of counts: column `truth`, then one per predicted
// column (the classes, then "other" when present); one row per class.
void write_confusion_csv(const ClassificationReport& report, const std::filesystem::path& path);
// label, precision, recall, f1, support: one row per class.
void write_per_class_csv(const ClassificationReport& report, const std::filesystem::path& path);
// The confusion matrix as a heatmap of row-normalised fractions (each true
// class's cells spread over the predictions; classes without cells grey),
// the fractions written in the cells.
void write_confusion_png(const ClassificationReport& report, const std::filesystem::path& path,
                         const std::string& title);

}  // namespace c2s
