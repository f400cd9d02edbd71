#include "cli/run_report.hpp"

#include <array>
#include <cmath>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "io/line_reader.hpp"
#include "plot/line_chart.hpp"

namespace c2s {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A JSON value at a path of keys, or null.
const json& at(const json& j, std::initializer_list<const char*> keys) {
  static const json null;
  const json* p = &j;
  for (const char* k : keys) {
    if (!p->is_object() || !p->contains(k)) return null;
    p = &(*p)[k];
  }
  return *p;
}

std::string number(const json& v, int digits = 3) {
  if (v.is_number_integer()) return fmt::format("{}", v.get<std::int64_t>());
  if (v.is_number()) return fmt::format("{:.{}f}", v.get<double>(), digits);
  if (v.is_string()) return v.get<std::string>();
  return "—";
}

std::string minutes(const json& seconds) {
  return seconds.is_number() ? fmt::format("{:.1f} min", seconds.get<double>() / 60) : "—";
}

// One model's training curve: the loss of each logged step (and its moving
// average over 25 steps) and the validation loss of each evaluation.
struct Curve {
  std::vector<double> step, loss, smooth, eval_step, eval_loss;
};

Curve read_curve(const fs::path& log) {
  Curve c;
  LineReader reader(log.string());
  std::string_view line;
  while (reader.next(line)) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("step")) continue;
    if (j.contains("validation_loss") && j["validation_loss"].is_number()) {
      c.eval_step.push_back(j["step"].get<double>());
      c.eval_loss.push_back(j["validation_loss"].get<double>());
    } else if (j.contains("loss") && j["loss"].is_number()) {
      c.step.push_back(j["step"].get<double>());
      c.loss.push_back(j["loss"].get<double>());
    }
  }
  double sum = 0;
  for (std::size_t i = 0; i < c.loss.size(); ++i) {
    sum += c.loss[i];
    if (i >= 25) sum -= c.loss[i - 25];
    c.smooth.push_back(sum / double(std::min<std::size_t>(i + 1, 25)));
  }
  return c;
}

struct Figure {
  std::string file, caption;
};

}  // namespace

json write_run_report(const fs::path& run_dir) {
  const fs::path summary_path = run_dir / "summary.json";
  if (!fs::exists(summary_path)) throw Error(run_dir.string(), "no summary.json: not a `c2s pipeline` run folder");
  const json s = read_json_file(summary_path);
  if (!s.is_object() || !s.contains("convert"))
    throw Error(summary_path.string(), "not the summary of a `c2s pipeline` run (no convert step)");

  AtomicOutput out((run_dir / "report").string());
  const fs::path dir = out.temp_path();
  fs::create_directories(dir);
  std::vector<Figure> figures;
  auto copy_figure = [&](const fs::path& from, const std::string& name, const std::string& caption) {
    if (!fs::exists(from)) return;
    fs::copy_file(from, dir / name, fs::copy_options::overwrite_existing);
    figures.push_back({name, caption});
  };
  copy_figure(run_dir / "plots" / "inverse_fit.png", "inverse_fit.png",
              "Inverse model: log-expression against log10 rank, with the fitted line (what turns generated "
              "sentences back into expression).");
  copy_figure(run_dir / "plots" / "reconstructed_vs_original.png", "reconstructed_vs_original.png",
              "Expression reconstructed from the sentences against the original.");

  // Training curves, drawn from the logs.
  std::vector<std::pair<std::string, Curve>> curves;
  for (const auto& [key, name] : {std::pair{"annotation_model", "annotation model"},
                                  std::pair{"generation_model", "generation model"}}) {
    const fs::path log = run_dir / key / "train_log.jsonl";
    if (fs::exists(log)) curves.emplace_back(name, read_curve(log));
  }
  if (!curves.empty()) {
    plot::LineChart chart;
    chart.title = "Training loss (response tokens)";
    chart.x_label = "step";
    chart.y_label = "loss";
    chart.log_y = true;
    for (const auto& [name, c] : curves) {
      chart.series.emplace_back(name + ", training (25-step mean)", plot::ValueSpan(c.step), plot::ValueSpan(c.smooth));
      plot::LineSeries v(name + ", validation", plot::ValueSpan(c.eval_step), plot::ValueSpan(c.eval_loss));
      v.dashed = true;
      v.markers = true;
      chart.series.push_back(v);
    }
    plot::write_png(chart, (dir / "training_curves.png").string());
    figures.push_back({"training_curves.png",
                       "Training curves of the models trained from scratch: training loss (moving mean) and "
                       "validation loss on the validation donors' cells."});
  }
  copy_figure(run_dir / "annotate" / "confusion_matrix.png", "confusion_matrix.png",
              "Cell-type annotation of the held-out donors' cells (constrained mode): confusion matrix, rows "
              "normalised.");
  if (fs::exists(run_dir / "generation_eval"))
    for (const auto& e : fs::directory_iterator(run_dir / "generation_eval"))
      if (e.path().extension() == ".png")
        copy_figure(e.path(), "generation_" + e.path().filename().string(),
                    "Generated cells against held-out real cells (" + e.path().stem().string() + ").");

  // The summary table.
  std::vector<std::array<std::string, 3>> rows;  // what, figure, note
  auto row = [&](std::string what, std::string value, std::string note = "") {
    rows.push_back({std::move(what), std::move(value), std::move(note)});
  };
  const json& conv = s["convert"];
  row("cells x genes", number(conv["cells"]) + " x " + number(conv["genes"]),
      at(s, {"simulated"}).is_object() ? "simulated (built-in default)" : "input data");
  row("genes per cell (mean)", number(conv["mean_genes_per_cell"], 1));
  row("inverse model R²", number(at(s, {"inverse_model", "r2"})), "log-expression against log10 rank");
  if (const json& sp = at(s, {"split"}); sp.is_object()) row("split", sp.dump(), "");
  if (const json& m = s.value("annotation_model", json()); m.is_object())
    row("annotation model", number(m["steps"]) + " steps, " + minutes(m["seconds"]),
        "best validation loss " + number(m["best_validation_loss"]) + "; " + number(m["trained_parameters"]) +
            " parameters");
  if (const json& a = s.value("annotate", json()); a.is_object()) {
    row("annotation accuracy (c2s, constrained)", number(at(a, {"scores", "accuracy"})),
        "macro-F1 " + number(at(a, {"scores", "macro_f1"})) + "; " + number(a["cells"]) + " held-out cells in " +
            number(a["seconds"], 1) + " s");
  }
  if (const json& b = s.value("baseline", json()); b.is_object()) {
    row("annotation accuracy (k-NN baseline)", number(at(b, {"knn", "accuracy"})),
        "k = " + number(at(b, {"knn", "k"})) + " on " + number(at(b, {"knn", "pcs"})) +
            " PCs of log-normalised expression; macro-F1 " + number(at(b, {"knn", "macro_f1"})));
    row("annotation accuracy (logistic regression baseline)", number(at(b, {"logreg", "accuracy"})),
        "log-normalised expression; macro-F1 " + number(at(b, {"logreg", "macro_f1"})));
  }
  if (const json& m = s.value("generation_model", json()); m.is_object())
    row("generation model", number(m["steps"]) + " steps, " + minutes(m["seconds"]),
        "best validation loss " + number(m["best_validation_loss"]));
  if (const json& gc = s.value("generate_cells", json()); gc.is_object())
    row("generated cells", number(gc.value("cells", json())), number(gc.value("seconds", json()), 1) + " s");
  if (const json& e = s.value("evaluate_generation", json()); e.is_object()) {
    // Generated cells beside the naive baselines, as evaluate-generation
    // reports them (docs/formats/evaluate-generation-output.md).
    for (const auto& [key, name] : {std::pair{"generated", "generated cells"},
                                    std::pair{"mean_ranks", "naive baseline: the type's mean ranking"},
                                    std::pair{"sampled_ranks", "naive baseline: sampled rankings"},
                                    std::pair{"train_cells", "real training cells (reference)"}}) {
      const json& v = e.value(key, json());
      if (!v.is_object()) continue;
      for (const auto& [field, against] : {std::pair{"knn_accuracy", "real cells"},
                                           std::pair{"knn_accuracy_rebuilt", "real cells rebuilt alike"}}) {
        if (!v.contains(field)) continue;
        std::string knn;
        for (const char* k : {"3", "5", "10", "25"})
          knn += std::string(knn.empty() ? "" : ", ") + "k=" + k + ": " + number(at(v, {field, k}));
        const std::string mmd_field = std::string(field) == "knn_accuracy" ? "mmd2" : "mmd2_rebuilt";
        row(std::string("k-NN type recognition (fitted on ") + against + "), " + name, knn,
            "MMD² " + number(v.value(mmd_field, json()), 4));
      }
    }
  }
  row("total time", minutes(s.value("seconds", json())));

  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>c2s run report</title>\n"
          "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
          "img{max-width:100%}figure{margin:2em 0}code{font-size:90%}</style></head><body>\n"
       << "<h1>c2s run report</h1>\n<p>Run folder <code>" << escape(run_dir.string())
       << "</code>. Every figure below was computed by this run; rebuild this page with <code>c2s report "
       << escape(run_dir.string()) << "</code>.</p>\n<h2>Summary</h2>\n<table><tr><th>what</th><th>figure</th>"
       << "<th>note</th></tr>\n";
  for (const auto& r : rows)
    html << "<tr><td>" << escape(r[0]) << "</td><td>" << escape(r[1]) << "</td><td>" << escape(r[2]) << "</td></tr>\n";
  html << "</table>\n<h2>Figures</h2>\n";
  for (const auto& f : figures)
    html << "<figure><img src=\"" << escape(f.file) << "\" alt=\"" << escape(f.caption) << "\"><figcaption>"
         << escape(f.caption) << "</figcaption></figure>\n";
  html << "<h2>Commands</h2>\n<p>Each model step ran as this command (its log in <code>logs/</code>):</p>\n<pre>";
  for (const char* key : {"annotation_model", "annotate", "baseline", "generation_model", "generate_cells",
                          "evaluate_generation"})
    if (const json& c = at(s, {key, "command"}); c.is_string()) html << escape(c.get<std::string>()) << "\n";
  html << "</pre>\n</body></html>\n";
  {
    std::ofstream f(dir / "index.html");
    f << html.str();
    if (!f) throw Error((dir / "index.html").string(), "cannot write");
  }
  out.commit();
  json files = json::array();
  for (const auto& f : figures) files.push_back(f.file);
  return {{"page", (run_dir / "report" / "index.html").string()}, {"figures", files}};
}

}  // namespace c2s
