#include "evaluation/classification_metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "core/error.hpp"
#include "evaluation/csv_table.hpp"
#include "plot/heatmap.hpp"

namespace c2s {

std::vector<std::string> ClassificationReport::column_labels() const {
  std::vector<std::string> out = labels;
  if (has_other) {
    std::string name = "other";
    while (std::find(labels.begin(), labels.end(), name) != labels.end()) name = "(" + name + ")";
    out.push_back(name);
  }
  return out;
}

ClassificationReport classification_report(const std::vector<std::string>& truth,
                                           const std::vector<std::string>& predicted,
                                           const std::vector<std::string>& labels) {
  if (truth.size() != predicted.size())
    throw Error(fmt::format("classification report: {} true labels for {} predictions", truth.size(), predicted.size()));
  if (truth.empty()) throw Error("classification report: no cells to score");
  std::unordered_map<std::string, std::size_t> index;
  for (std::size_t c = 0; c < labels.size(); ++c)
    if (!index.emplace(labels[c], c).second) throw Error("classification report: label '" + labels[c] + "' given twice");

  ClassificationReport r;
  r.labels = labels;
  const std::size_t k = labels.size();
  std::vector<std::size_t> true_class(truth.size()), predicted_class(truth.size());
  for (std::size_t i = 0; i < truth.size(); ++i) {
    auto t = index.find(truth[i]);
    if (t == index.end()) throw Error(fmt::format("classification report: true label '{}' of cell {} is not one of the {} classes", truth[i], i, k));
    true_class[i] = t->second;
    auto p = index.find(predicted[i]);
    predicted_class[i] = p == index.end() ? k : p->second;
    r.has_other |= p == index.end();
  }
  const std::size_t columns = r.columns();
  r.confusion.assign(k * columns, 0);
  for (std::size_t i = 0; i < truth.size(); ++i) ++r.confusion[true_class[i] * columns + predicted_class[i]];

  r.cells = std::int64_t(truth.size());
  r.precision.assign(k, 0);
  r.recall.assign(k, 0);
  r.f1.assign(k, 0);
  r.support.assign(k, 0);
  double f1_sum = 0;
  std::size_t present = 0;
  for (std::size_t c = 0; c < k; ++c) {
    std::int64_t predicted_as = 0;
    for (std::size_t t = 0; t < k; ++t) predicted_as += r.count(t, c);
    for (std::size_t p = 0; p < columns; ++p) r.support[c] += r.count(c, p);
    const std::int64_t tp = r.count(c, c);
    r.correct += tp;
    if (predicted_as > 0) r.precision[c] = double(tp) / double(predicted_as);
    if (r.support[c] > 0) r.recall[c] = double(tp) / double(r.support[c]);
    const double pr = r.precision[c] + r.recall[c];
    if (pr > 0) r.f1[c] = 2 * r.precision[c] * r.recall[c] / pr;
    if (r.support[c] > 0) {
      f1_sum += r.f1[c];
      ++present;
    }
  }
  if (r.has_other)
    for (std::size_t t = 0; t < k; ++t) r.other_predictions += r.count(t, k);
  r.accuracy = double(r.correct) / double(r.cells);
  r.macro_f1 = present ? f1_sum / double(present) : 0;
  return r;
}

nlohmann::ordered_json classification_json(const ClassificationReport& r) {
  nlohmann::ordered_json per_class = nlohmann::ordered_json::object();
  for (std::size_t c = 0; c < r.labels.size(); ++c)
    per_class[r.labels[c]] = {{"precision", r.precision[c]}, {"recall", r.recall[c]}, {"f1", r.f1[c]},
                              {"support", r.support[c]}};
  return {{"accuracy", r.accuracy},
          {"macro_f1", r.macro_f1},
          {"cells", r.cells},
          {"correct", r.correct},
          {"classes", r.labels.size()},
          {"other_predictions", r.other_predictions},
          {"per_class", per_class}};
}

void write_confusion_csv(const ClassificationReport& r, const std::filesystem::path& path) {
  std::vector<std::string> header{"truth"};
  for (auto& l : r.column_labels()) header.push_back(l);
  CsvTable table(std::move(header));
  for (std::size_t t = 0; t < r.labels.size(); ++t) {
    std::vector<std::string> row{r.labels[t]};
    for (std::size_t p = 0; p < r.columns(); ++p) row.push_back(std::to_string(r.count(t, p)));
    table.add_row(std::move(row));
  }
  table.write(path);
}

void write_per_class_csv(const ClassificationReport& r, const std::filesystem::path& path) {
  CsvTable table({"label", "precision", "recall", "f1", "support"});
  for (std::size_t c = 0; c < r.labels.size(); ++c)
    table.add_row({r.labels[c], csv_number(r.precision[c]), csv_number(r.recall[c]), csv_number(r.f1[c]),
                   std::to_string(r.support[c])});
  table.write(path);
}

void write_confusion_png(const ClassificationReport& r, const std::filesystem::path& path, const std::string& title) {
  plot::Heatmap h;
  h.title = title;
  h.x_label = "predicted";
  h.y_label = "true";
  h.rows = r.labels.size();
  h.columns = r.columns();
  h.row_labels = r.labels;
  h.column_labels = r.column_labels();
  h.values.resize(h.rows * h.columns);
  for (std::size_t t = 0; t < h.rows; ++t)
    for (std::size_t p = 0; p < h.columns; ++p)
      h.values[t * h.columns + p] = r.support[t] > 0 ? double(r.count(t, p)) / double(r.support[t])
                                                     : std::numeric_limits<double>::quiet_NaN();
  h.colormap = plot::Colormap::Blues;
  h.value_format = "{:.2f}";
  h.vmin = 0;
  h.vmax = 1;
  h.colorbar_label = "fraction of the true class";
  // Room for the labels: the chart grows with the number of classes.
  h.width = std::clamp(int(320 + 48 * h.columns), 800, 2400);
  h.height = std::clamp(int(260 + 48 * h.rows), 600, 2400);
  plot::write_png(h, path.string());
}

}  // namespace c2s
