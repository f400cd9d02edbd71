// Draws the inverse model's two figures from the points it was fitted on.
#include "cli/inverse_plots.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>

#include "core/error.hpp"
#include "data/reconstruction.hpp"
#include "plot/scatter_plot.hpp"

namespace c2s {

nlohmann::json write_inverse_plots(const InverseModel& model, const RankRuns& runs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir, "cannot create the plot folder: " + ec.message());
  // A density plot does not need every point of a million cells.
  std::vector<std::uint32_t> ranks;
  std::vector<float> y;
  runs.sample_points(20'000'000, ranks, y);
  std::vector<float> x(ranks.size()), predicted(ranks.size());
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    x[i] = float(std::log10(1.0 + ranks[i]));
    predicted[i] = reconstructed_value(model, ranks[i]);
  }
  const std::string shown = x.size() < std::size_t(runs.points) ? fmt::format("{} of {} points", x.size(), runs.points)
                                                                 : fmt::format("{} points", runs.points);

  const std::string fit_png = (std::filesystem::path(dir) / "inverse_fit.png").string();
  plot::ScatterPlot fit;
  fit.title = fmt::format("Expression vs rank ({} cells, {})", runs.cells, shown);
  fit.x_label = "log10(1 + rank)";
  fit.y_label = "normalised expression";
  fit.x = x;
  fit.y = y;
  fit.lines.push_back(plot::OverlayLine::fit(
      model.intercept, model.slope,
      fmt::format("{:.3f} {} {:.3f} x   R\u00b2 = {:.3f}", model.intercept, model.slope < 0 ? "\u2212" : "+",
                  std::abs(model.slope), model.r2)));
  plot::write_png(fit, fit_png);

  const std::string rec_png = (std::filesystem::path(dir) / "reconstructed_vs_original.png").string();
  plot::ScatterPlot rec;
  rec.title = fmt::format("Reconstructed vs original (Pearson {:.3f}, Spearman {:.3f})", model.pearson,
                          model.spearman);
  rec.x_label = "original expression";
  rec.y_label = "reconstructed from rank";
  rec.x = y;
  rec.y = predicted;
  rec.lines.push_back(plot::OverlayLine::identity());
  plot::write_png(rec, rec_png);
  return {fit_png, rec_png};
}

}  // namespace c2s
