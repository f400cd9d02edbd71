#include "evaluation/perturbation_shift.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"
#include "data/reconstruction.hpp"
#include "evaluation/csv_table.hpp"
#include "evaluation/expression_matrix.hpp"
#include "evaluation/paired_statistics.hpp"
#include "plot/scatter_plot.hpp"

namespace c2s {

namespace {

constexpr std::size_t kCellChunk = 256;

// The cells of `split` whose condition is `condition`.
std::vector<std::int64_t> cells_with(const Column& split, const Column& condition, const std::string& split_name,
                                     const std::string& condition_value) {
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < split.size(); ++i)
    if (split.text(i) == split_name && condition.text(i) == condition_value) out.push_back(std::int64_t(i));
  return out;
}

void add_reconstructed(std::vector<double>& sums, std::span<const std::uint32_t> genes, const InverseModel& model,
                       double scale) {
  for (std::size_t r = 0; r < genes.size(); ++r) {
    if (genes[r] >= sums.size())
      throw Error("reconstruction", fmt::format("gene index {} out of range ({} genes)", genes[r], sums.size()));
    sums[genes[r]] += double(reconstructed_value(model, r)) * scale;
  }
}

std::vector<double> divided(std::vector<double> sums, std::size_t n) {
  if (n > 0)
    for (double& s : sums) s /= double(n);
  return sums;
}

std::vector<double> difference(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out(a.size());
  for (std::size_t g = 0; g < a.size(); ++g) out[g] = a[g] - b[g];
  return out;
}

nlohmann::json optional_number(const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(nullptr); }

}  // namespace

ShiftScores score_shift(std::span<const double> truth, std::span<const double> predicted,
                        std::span<const std::size_t> top) {
  if (truth.size() != predicted.size())
    throw Error("shift scores", fmt::format("{} true against {} predicted genes", truth.size(), predicted.size()));
  std::vector<double> t, p;
  for (std::size_t g : top) {
    if (g >= truth.size()) throw Error("shift scores", fmt::format("gene {} out of range ({} genes)", g, truth.size()));
    t.push_back(truth[g]);
    p.push_back(predicted[g]);
  }
  ShiftScores s;
  s.pearson_top = pearson_correlation(t, p);
  s.rmse_top = root_mean_square_difference(t, p);
  s.pearson_all = pearson_correlation(truth, predicted);
  s.rmse_all = root_mean_square_difference(truth, predicted);
  return s;
}

std::vector<std::size_t> most_changed_genes(std::span<const double> shift, std::size_t n) {
  std::vector<std::size_t> order(shift.size());
  std::iota(order.begin(), order.end(), std::size_t(0));
  n = std::min(n, order.size());
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(n), order.end(), [&](std::size_t a, std::size_t b) {
    const double x = std::abs(shift[a]), y = std::abs(shift[b]);
    return x != y ? x > y : a < b;
  });
  order.resize(n);
  return order;
}

std::vector<double> mean_expression(const SentenceStore& store, const std::vector<std::int64_t>& cells, double scale) {
  std::vector<double> sums(std::size_t(store.n_genes()), 0.0);
  for (std::size_t begin = 0; begin < cells.size(); begin += kCellChunk) {
    const std::vector<std::int64_t> chunk(cells.begin() + std::ptrdiff_t(begin),
                                          cells.begin() + std::ptrdiff_t(std::min(cells.size(), begin + kCellChunk)));
    const DenseMatrix m = expression_matrix(store, chunk, {}, scale);
    for (std::size_t i = 0; i < m.rows; ++i) {
      const auto row = m.row(i);
      for (std::size_t g = 0; g < m.cols; ++g) sums[g] += double(row[g]);
    }
  }
  return divided(std::move(sums), cells.size());
}

std::vector<double> mean_reconstructed_expression(const std::vector<std::vector<std::uint32_t>>& cells,
                                                  std::size_t n_genes, const InverseModel& model, double scale) {
  std::vector<double> sums(n_genes, 0.0);
  for (const auto& genes : cells) add_reconstructed(sums, genes, model, scale);
  return divided(std::move(sums), cells.size());
}

std::vector<double> mean_reconstructed_expression(const SentenceStore& store, const std::vector<std::int64_t>& cells,
                                                  std::int64_t top_k, double scale) {
  if (!store.inverse_model()) throw Error(store.path(), "the store has no inverse model (run `c2s inverse fit`)");
  std::vector<double> sums(std::size_t(store.n_genes()), 0.0);
  CellBlock block;
  for (std::size_t begin = 0; begin < cells.size(); begin += kCellChunk) {
    const std::vector<std::int64_t> chunk(cells.begin() + std::ptrdiff_t(begin),
                                          cells.begin() + std::ptrdiff_t(std::min(cells.size(), begin + kCellChunk)));
    store.read_cells(chunk, block);
    for (std::size_t c = 0; c < block.size(); ++c) {
      std::int64_t a = block.offsets[c], b = block.offsets[c + 1];
      if (top_k > 0) b = std::min(b, a + top_k);
      add_reconstructed(sums, {block.genes.data() + a, std::size_t(b - a)}, *store.inverse_model(), scale);
    }
  }
  return divided(std::move(sums), cells.size());
}

const ShiftMethod& PerturbationShiftReport::method(const std::string& name) const {
  for (const auto& m : methods)
    if (m.name == name) return m;
  throw Error("perturbation shift", "no method " + name);
}

PerturbationShiftReport evaluate_perturbation_shift(const SentenceStore& store, const PerturbationShiftOptions& o,
                                                    const std::vector<std::vector<std::uint32_t>>& predicted,
                                                    const std::vector<std::int64_t>& predicted_from) {
  if (predicted.size() != predicted_from.size())
    throw Error("perturbation shift", "one control cell per predicted cell is needed");
  if (predicted.empty()) throw Error("perturbation shift", "no predicted cells");
  if (o.top_genes < 2) throw UsageError("the most-changed genes to score over must be at least 2");
  if (!store.inverse_model()) throw Error(store.path(), "the store has no inverse model (run `c2s inverse fit`)");
  const Column* split = store.obs().find("split");
  if (!split) throw Error(store.path(), "the store has no split (run `c2s split` first): nothing is held out");
  const Column* condition = store.obs().find(o.condition_column);
  if (!condition) throw Error(store.path(), "no obs column '" + o.condition_column + "' with the cells' conditions");

  PerturbationShiftReport r;
  r.options = o;
  r.genes = store.genes();
  r.scale = natural_log_scale(store);
  const auto test_control = cells_with(*split, *condition, o.test_split, o.control_value);
  const auto test_perturbed = cells_with(*split, *condition, o.test_split, o.perturbation);
  const auto train_control = cells_with(*split, *condition, o.train_split, o.control_value);
  const auto train_perturbed = cells_with(*split, *condition, o.train_split, o.perturbation);
  auto require = [&](const std::vector<std::int64_t>& cells, const std::string& split_name, const std::string& value) {
    if (cells.empty())
      throw Error(store.path(), fmt::format("no cell of split '{}' has {} '{}'", split_name, o.condition_column, value));
  };
  require(test_control, o.test_split, o.control_value);
  require(test_perturbed, o.test_split, o.perturbation);
  require(train_control, o.train_split, o.control_value);
  require(train_perturbed, o.train_split, o.perturbation);
  r.test_control_cells = std::int64_t(test_control.size());
  r.test_perturbed_cells = std::int64_t(test_perturbed.size());
  r.train_control_cells = std::int64_t(train_control.size());
  r.train_perturbed_cells = std::int64_t(train_perturbed.size());
  r.predicted_cells = std::int64_t(predicted.size());

  r.control_mean = mean_expression(store, test_control, r.scale);
  r.perturbed_mean = mean_expression(store, test_perturbed, r.scale);
  r.true_shift = difference(r.perturbed_mean, r.control_mean);
  r.top_genes = most_changed_genes(r.true_shift, o.top_genes);

  const InverseModel& model = *store.inverse_model();
  const std::size_t n_genes = r.genes.size();
  auto add = [&](std::string name, std::string description, std::vector<double> shift) {
    ShiftScores scores = score_shift(r.true_shift, shift, r.top_genes);
    r.methods.push_back({std::move(name), std::move(description), std::move(shift), scores});
  };
  const std::vector<double> from_mean = mean_reconstructed_expression(store, predicted_from, o.top_k, r.scale);
  add("c2s",
      "mean of the predicted cells minus the control cells they were predicted from, both reconstructed from "
      "ranked genes (top " + std::to_string(o.top_k) + " for the controls)",
      difference(mean_reconstructed_expression(predicted, n_genes, model, r.scale), from_mean));
  add("training_shift", "every control cell moved by the training cells' mean shift (measured expression)",
      difference(mean_expression(store, train_perturbed, r.scale), mean_expression(store, train_control, r.scale)));
  add("no_change", "the control cells unchanged (shift 0; Pearson r undefined)", std::vector<double>(n_genes, 0.0));
  add("real_sentences",
      "the held-out perturbed cells' own top " + std::to_string(o.top_k) +
          " genes reconstructed, minus the held-out controls' (a perfect sentence prediction)",
      difference(mean_reconstructed_expression(store, test_perturbed, o.top_k, r.scale),
                 mean_reconstructed_expression(store, test_control, o.top_k, r.scale)));
  add("empty_sentences",
      "predicted cells without any gene: the controls' reconstruction subtracted alone (a c2s score near this "
      "one means its sentences carry little)",
      difference(std::vector<double>(n_genes, 0.0), from_mean));
  return r;
}

nlohmann::ordered_json perturbation_shift_json(const PerturbationShiftReport& r) {
  const auto& o = r.options;
  nlohmann::ordered_json j = {
      {"condition_column", o.condition_column},
      {"control", o.control_value},
      {"perturbation", o.perturbation},
      {"test_split", o.test_split},
      {"train_split", o.train_split},
      {"top_k", o.top_k},
      {"top_genes", r.top_genes.size()},
      {"genes", r.genes.size()},
      {"values", r.scale != 1 ? "ln(1 + normalised count)" : "as stored"},
      {"cells",
       {{"test_control", r.test_control_cells},
        {"test_perturbed", r.test_perturbed_cells},
        {"train_control", r.train_control_cells},
        {"train_perturbed", r.train_perturbed_cells},
        {"predicted", r.predicted_cells}}},
  };
  auto& methods = j["methods"] = nlohmann::ordered_json::object();
  for (const auto& m : r.methods) {
    nlohmann::ordered_json s = {{"pearson_r_top_genes", optional_number(m.scores.pearson_top)},
                                {"rmse_top_genes", m.scores.rmse_top},
                                {"pearson_r_all_genes", optional_number(m.scores.pearson_all)},
                                {"rmse_all_genes", m.scores.rmse_all},
                                {"description", m.description}};
    if (!m.scores.pearson_top || !m.scores.pearson_all) s["pearson_r_note"] = "undefined: a constant shift";
    methods[m.name] = std::move(s);
  }
  auto& top = j["most_changed_genes"] = nlohmann::ordered_json::array();
  for (std::size_t g : r.top_genes) top.push_back({{"gene", r.genes[g]}, {"true_shift", r.true_shift[g]}});
  return j;
}

void write_perturbation_shift_files(const PerturbationShiftReport& r, const std::filesystem::path& dir) {
  std::vector<std::string> header = {"gene", "control_mean", "perturbed_mean", "true_shift"};
  for (const auto& m : r.methods) header.push_back(m.name + "_shift");
  header.push_back("change_rank");
  std::vector<std::size_t> rank(r.genes.size(), 0);
  for (std::size_t k = 0; k < r.top_genes.size(); ++k) rank[r.top_genes[k]] = k + 1;
  CsvTable table(header);
  for (std::size_t g = 0; g < r.genes.size(); ++g) {
    std::vector<std::string> row = {r.genes[g], csv_number(r.control_mean[g]), csv_number(r.perturbed_mean[g]),
                                    csv_number(r.true_shift[g])};
    for (const auto& m : r.methods) row.push_back(csv_number(m.shift[g]));
    row.push_back(rank[g] ? std::to_string(rank[g]) : "");
    table.add_row(std::move(row));
  }
  table.write(dir / "shifts.csv");

  // Predicted against true shift over the most-changed genes: the model and
  // the training-shift baseline, one colour each.
  const ShiftMethod& model = r.method("c2s");
  const ShiftMethod& baseline = r.method("training_shift");
  std::vector<double> x, y;
  std::vector<std::int32_t> category;
  for (std::int32_t c = 0; c < 2; ++c)
    for (std::size_t g : r.top_genes) {
      x.push_back(r.true_shift[g]);
      y.push_back((c == 0 ? model : baseline).shift[g]);
      category.push_back(c);
    }
  auto r_text = [](const std::optional<double>& v) { return v ? fmt::format("{:.3f}", *v) : std::string("undefined"); };
  plot::ScatterPlot p;
  p.title = fmt::format("{} vs {}: mean shift of the {} most-changed genes", r.options.perturbation,
                        r.options.control_value, r.top_genes.size());
  p.x_label = "true shift (held-out cells, ln(1 + normalised count))";
  p.y_label = "predicted shift";
  p.x = x;
  p.y = y;
  p.categories = category;
  p.category_names = {"c2s (r = " + r_text(model.scores.pearson_top) + ")",
                      "training shift (r = " + r_text(baseline.scores.pearson_top) + ")"};
  p.style = plot::ScatterStyle::Dots;
  p.lines.push_back(plot::OverlayLine::identity());
  plot::write_png(p, (dir / "shift_scatter.png").string());
}

}  // namespace c2s
