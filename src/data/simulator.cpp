// The count simulator: a PBMC-like expression model drawn once from the seed
// (gene base levels, cell-type marker programs, donor and interferon effects)
// and a fast per-cell sampler of negative binomial counts from it.
#include "data/simulator.hpp"

#include <algorithm>
#include <cmath>
#include <future>
#include <numeric>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/random.hpp"
#include "core/thread_pool.hpp"
#include "io/anndata_writer.hpp"

namespace c2s {

namespace {

// Random streams of the model itself; cell i uses stream i, far below these.
constexpr std::uint64_t kModelStream = 1ull << 63;
enum ModelPart : std::uint64_t { kGenes, kPrograms, kDonors, kStimulation, kTypes };

// Samplers written out here rather than std:: distributions, whose output
// differs between standard libraries, so a seed gives the same data anywhere.
class Draw {
 public:
  explicit Draw(Rng& rng) : rng_(rng) {}

  double uniform() { return rng_.uniform(); }
  double open_uniform() { return (double(rng_.next() >> 11) + 1.0) * 0x1.0p-53; }  // (0, 1]
  std::uint64_t below(std::uint64_t n) { return rng_.below(n); }

  // Marsaglia's polar method, keeping the second value for the next call.
  double normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u, v, s;
    do {
      u = 2 * uniform() - 1;
      v = 2 * uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s == 0);
    const double f = std::sqrt(-2 * std::log(s) / s);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  // Gamma(shape, scale 1): Marsaglia and Tsang (2000); shapes below 1 via
  // Gamma(shape + 1) * U^(1/shape).
  double gamma(double shape) {
    if (shape < 1) return gamma(shape + 1) * std::pow(open_uniform(), 1 / shape);
    const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
    for (;;) {
      const double x = normal();
      double v = 1 + c * x;
      if (v <= 0) continue;
      v = v * v * v;
      const double u = open_uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (std::log(u) < 0.5 * x * x + d * (1 - v + std::log(v))) return d * v;
    }
  }

  // Knuth's product method for small means, Hoermann's PTRS (1993) above.
  std::int64_t poisson(double lambda) {
    if (lambda <= 0) return 0;
    if (lambda < 10) {
      const double limit = std::exp(-lambda);
      double product = uniform();
      std::int64_t k = 0;
      while (product > limit) {
        product *= uniform();
        ++k;
      }
      return k;
    }
    const double slam = std::sqrt(lambda), loglam = std::log(lambda);
    const double b = 0.931 + 2.53 * slam, a = -0.059 + 0.02483 * b;
    const double inv_alpha = 1.1239 + 1.1328 / (b - 3.4), vr = 0.9277 - 3.6224 / (b - 2);
    for (;;) {
      const double u = uniform() - 0.5, v = uniform(), us = 0.5 - std::fabs(u);
      const auto k = std::int64_t(std::floor((2 * a / us + b) * u + lambda + 0.43));
      if (us >= 0.07 && v <= vr) return k;
      if (k < 0 || (us < 0.013 && v > us)) continue;
      if (std::log(v) + std::log(inv_alpha) - std::log(a / (us * us) + b) <= -lambda + double(k) * loglam - log_gamma(double(k) + 1))
        return k;
    }
  }

  // Negative binomial with mean `lambda` and shape `a` (variance
  // lambda + lambda^2 / a): inversion for small means, where it needs one
  // uniform; gamma-Poisson mixture above.
  std::int64_t negative_binomial(double lambda, double a) {
    if (lambda <= 0) return 0;
    if (lambda < 8) {
      const double u = uniform();
      // P(0) >= exp(-lambda) (Jensen) >= 1 - lambda + lambda^2/2 - lambda^3/6,
      // so most draws of small means end here, without exp or log1p.
      if (u < 1 - lambda * (1 - lambda * (0.5 - lambda / 6))) return 0;
      const double q = lambda / (lambda + a);
      double p = std::exp(-a * std::log1p(lambda / a));
      double cdf = p;
      std::int64_t k = 0;
      while (u >= cdf) {
        p *= (double(k) + a) / double(k + 1) * q;
        ++k;
        cdf += p;
        if (p < 1e-17) break;  // rounding left cdf just short of u
      }
      return k;
    }
    return poisson(lambda * gamma(a) / a);
  }

 private:
  // log Gamma(x) for x >= 1 (Stirling series, as numpy does): std::lgamma
  // writes the global signgam and is not safe to call from several threads.
  static double log_gamma(double x) {
    static constexpr double c[10] = {8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04,
                                     -5.952380952380952e-04, 8.417508417508418e-04, -1.917526917526918e-03,
                                     6.410256410256410e-03,  -2.955065359477124e-02, 1.796443723688307e-01,
                                     -1.39243221690590e+00};
    if (x == 1.0 || x == 2.0) return 0.0;
    const int n = x < 7.0 ? int(7 - x) : 0;
    double x0 = x + n;
    const double x2 = 1.0 / (x0 * x0);
    double g = c[9];
    for (int k = 8; k >= 0; --k) g = g * x2 + c[k];
    double result = g / x0 + 0.5 * std::log(2 * M_PI) + (x0 - 0.5) * std::log(x0) - x0;
    for (int k = 1; k <= n; ++k) {
      x0 -= 1.0;
      result -= std::log(x0);
    }
    return result;
  }

  Rng& rng_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// Walker's alias method (Vose's construction): O(1) draws from a fixed
// discrete distribution, used for the many rarely expressed genes.
class AliasTable {
 public:
  void build(const std::vector<double>& weights, std::vector<std::int32_t> values) {
    const std::size_t n = weights.size();
    values_ = std::move(values);
    probability_.assign(n, 1.0f);
    alias_.resize(n);
    std::iota(alias_.begin(), alias_.end(), 0);
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    if (n == 0 || total <= 0) return;
    std::vector<double> scaled(n);
    std::vector<std::int32_t> small, large;
    for (std::size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * double(n) / total;
      (scaled[i] < 1 ? small : large).push_back(std::int32_t(i));
    }
    while (!small.empty() && !large.empty()) {
      const auto s = small.back(), l = large.back();
      small.pop_back();
      probability_[std::size_t(s)] = float(scaled[std::size_t(s)]);
      alias_[std::size_t(s)] = l;
      scaled[std::size_t(l)] -= 1 - scaled[std::size_t(s)];
      if (scaled[std::size_t(l)] < 1) {
        large.pop_back();
        small.push_back(l);
      }
    }
  }
  std::int32_t sample(Draw& draw) const {
    const auto i = std::size_t(draw.below(values_.size()));
    return values_[draw.uniform() < probability_[i] ? i : std::size_t(alias_[i])];
  }
  bool empty() const { return values_.empty(); }

 private:
  std::vector<float> probability_;
  std::vector<std::int32_t> alias_, values_;
};

// Real PBMC cell types (proportions, library sizes and markers roughly as in
// 10x PBMC data); the marker fractions are shares of a cell's UMIs.
struct Marker {
  const char* gene;
  double fraction;
};
struct NamedType {
  const char* name;
  double weight;
  int lineage;  // types of one lineage share a program (T/NK, myeloid, B...)
  double library;
  std::vector<Marker> markers;
};

const std::vector<NamedType>& named_types() {
  static const std::vector<NamedType> types = {
      {"CD4 T cells", 0.30, 0, 0.85,
       {{"IL7R", .003}, {"CD3E", .002}, {"CD3D", .003}, {"LDHB", .005}, {"CCR7", .0015}, {"CD4", .0005}, {"LTB", .004}}},
      {"CD14+ Monocytes", 0.20, 1, 1.35,
       {{"LYZ", .035}, {"S100A9", .025}, {"S100A8", .015}, {"CST3", .006}, {"FCN1", .004}, {"CD14", .0012},
        {"TYROBP", .004}}},
      {"B cells", 0.12, 2, 1.0,
       {{"MS4A1", .002}, {"CD79A", .004}, {"CD79B", .002}, {"CD19", .0005}, {"BANK1", .0008}, {"HLA-DRA", .008},
        {"CD74", .01}}},
      {"NK cells", 0.08, 0, 0.9,
       {{"NKG7", .012}, {"GNLY", .018}, {"GZMB", .004}, {"KLRD1", .002}, {"PRF1", .002}, {"GZMA", .003},
        {"FGFBP2", .0015}}},
      {"CD8 T cells", 0.12, 0, 0.85,
       {{"CD8A", .0015}, {"CD8B", .0015}, {"CCL5", .008}, {"GZMK", .002}, {"CD3E", .002}, {"CD3D", .003},
        {"NKG7", .003}}},
      {"FCGR3A+ Monocytes", 0.07, 1, 1.3,
       {{"FCGR3A", .004}, {"MS4A7", .002}, {"LST1", .004}, {"AIF1", .005}, {"CST3", .006}, {"FCER1G", .004},
        {"TYROBP", .004}}},
      {"Dendritic cells", 0.04, 1, 1.2,
       {{"FCER1A", .002}, {"CLEC10A", .001}, {"CD1C", .0008}, {"CST3", .008}, {"HLA-DQA1", .003}, {"HLA-DRA", .012},
        {"CD74", .015}}},
      {"Megakaryocytes", 0.02, 3, 0.6,
       {{"PPBP", .03}, {"PF4", .02}, {"GP9", .002}, {"ITGA2B", .001}, {"NRGN", .005}, {"CAVIN2", .002}}},
      {"Plasmacytoid dendritic cells", 0.02, 4, 1.1,
       {{"LILRA4", .002}, {"IL3RA", .001}, {"CLEC4C", .001}, {"IRF7", .002}, {"GZMB", .004}, {"TCF4", .002}}},
      {"Plasma cells", 0.02, 2, 1.6,
       {{"JCHAIN", .02}, {"MZB1", .01}, {"IGHG1", .04}, {"XBP1", .003}, {"CD79A", .002}, {"IGKC", .05}}},
  };
  return types;
}

// Genes every cell expresses highly.
const std::vector<Marker> kHousekeeping = {
    {"MALAT1", .03}, {"B2M", .02},   {"TMSB4X", .02}, {"EEF1A1", .015}, {"ACTB", .01},
    {"RPL13", .008}, {"RPLP1", .008}, {"RPS12", .007}, {"TPT1", .008},  {"FTL", .008},
    {"RPS27A", .006}, {"GAPDH", .003}, {"HLA-B", .004}, {"FTH1", .006},  {"RPL41", .006},
};
// Interferon-stimulated genes at their resting level; "stim" cells raise them
// about 15-fold, as IFN-beta does in Kang et al. 2018.
const std::vector<Marker> kInterferon = {
    {"ISG15", .0004}, {"IFI6", .0002},  {"IFIT1", .0001}, {"IFIT3", .0002}, {"MX1", .0002},   {"OAS1", .0001},
    {"ISG20", .0002}, {"LY6E", .0003},  {"IFITM3", .0004}, {"IFI27", .00005}, {"IFIT2", .0001}, {"RSAD2", .00005},
};
// The 13 mitochondrially encoded genes, as shares of their 4% of all UMIs.
const std::vector<Marker> kMitochondrial = {
    {"MT-CO1", .25}, {"MT-CO2", .12},  {"MT-CO3", .12}, {"MT-ATP6", .12}, {"MT-CYB", .08},
    {"MT-ND4", .08}, {"MT-ND1", .06},  {"MT-ND2", .05}, {"MT-ND3", .04},  {"MT-ND5", .03},
    {"MT-ATP8", .02}, {"MT-ND4L", .02}, {"MT-ND6", .01},
};
constexpr double kMitochondrialShare = 0.04;
constexpr double kAmbient = 0.01;          // a marker's level outside its types, relative to its peak
constexpr double kLibrarySigma = 0.4;      // log-normal spread of UMIs per cell
constexpr double kMitochondrialSigma = 0.3;  // per-cell spread of the mitochondrial share
constexpr double kDonorSigma = 0.1;
// Genes expected to reach this many UMIs in an average cell of a type get a
// negative binomial draw each; the rest are drawn jointly (their total, then
// which genes), where the gamma noise would hardly change anything.
constexpr double kHeadMean = 0.1;

}  // namespace

struct Simulator::Model {
  struct TypeModel {
    std::vector<std::int32_t> head_gene;  // ascending
    std::vector<float> head_share, head_shape;
    std::vector<std::uint8_t> head_mitochondrial;
    double tail_share = 0;
    AliasTable tail;
    double library = 1;  // relative mean UMIs
  };

  SimulatorOptions options;
  DataFrame var;
  std::vector<std::string> type_names, donor_names, condition_names{"ctrl", "stim"};
  std::vector<double> type_cdf, type_weight, type_library;
  std::vector<TypeModel> types;
  std::vector<float> donor_factor;  // donor x gene
  std::vector<double> donor_library;
  std::vector<float> stim_factor;   // gene
  std::vector<double> inverse_total;  // type x donor x condition: 1 / expected share sum
  std::uint32_t barcode_key = 0;

  // Per-gene ingredients of the type profiles.
  std::int64_t n_genes = 0;
  std::vector<double> z;            // standard normal: log base level / sigma
  std::vector<float> shape;         // negative binomial shape (1 / dispersion)
  std::vector<std::uint8_t> named;  // 1: fixed share below, 0: drawn from z
  std::vector<std::uint8_t> mitochondrial;
  std::vector<std::vector<double>> fixed_share;                         // type x gene (named genes)
  std::vector<std::vector<std::pair<std::int32_t, double>>> fold;      // type -> (gene, fold) on synthetic genes
  double sigma = 1;

  explicit Model(const SimulatorOptions& o);
  std::vector<double> profile(std::size_t type, double s) const;
  double expected_genes(double s) const;
  void build_types();
  void generate_cell(std::int64_t cell, std::vector<std::uint32_t>& counts, std::vector<std::int32_t>& genes,
                     std::vector<float>& values, SimulatedCell& out) const;
};

Simulator::Model::Model(const SimulatorOptions& o) : options(o) {
  const auto& catalogue = named_types();
  if (o.n_cells < 0) throw UsageError("simulate: the number of cells must not be negative");
  if (o.n_cell_types < 1 || o.n_cell_types > 10000) throw UsageError("simulate: cell types must be 1..10000");
  if (o.n_donors < 1 || o.n_donors > 10000) throw UsageError("simulate: donors must be 1..10000");
  if (!(o.mean_counts >= 10)) throw UsageError("simulate: mean counts per cell must be at least 10");
  if (!(o.stimulated_fraction >= 0 && o.stimulated_fraction <= 1))
    throw UsageError("simulate: the stimulated fraction must be within 0..1");

  // Named genes: markers of the types in use, housekeeping, interferon, mitochondrial.
  const std::size_t n_types = std::size_t(o.n_cell_types);
  std::vector<std::string> named_genes;
  auto add_named = [&](const char* g) {
    if (std::find(named_genes.begin(), named_genes.end(), g) == named_genes.end()) named_genes.emplace_back(g);
  };
  for (std::size_t k = 0; k < std::min(n_types, catalogue.size()); ++k)
    for (const auto& m : catalogue[k].markers) add_named(m.gene);
  for (const auto* list : {&kHousekeeping, &kInterferon, &kMitochondrial})
    for (const auto& m : *list) add_named(m.gene);
  if (o.n_genes < std::int64_t(named_genes.size()) + 100)
    throw UsageError("simulate: need at least " + std::to_string(named_genes.size() + 100) + " genes");
  if (o.n_genes > INT32_MAX) throw UsageError("simulate: too many genes");
  n_genes = o.n_genes;
  const double target = o.mean_genes > 0 ? o.mean_genes : 0.09 * double(n_genes);
  if (target >= 0.9 * double(n_genes))
    throw UsageError("simulate: mean detected genes must be below 90% of the number of genes");

  // Gene order: named genes at random places among numbered synthetic ones.
  Rng genes_rng(o.seed, kModelStream + kGenes);
  Draw draw(genes_rng);
  std::vector<std::int32_t> position(static_cast<std::size_t>(n_genes));
  std::iota(position.begin(), position.end(), 0);
  for (std::size_t i = 0; i < named_genes.size(); ++i)
    std::swap(position[i], position[i + std::size_t(draw.below(std::uint64_t(n_genes) - i))]);
  std::vector<std::string> names(static_cast<std::size_t>(n_genes));
  std::vector<std::int32_t> gene_of_named(named_genes.size());
  for (std::size_t i = 0; i < named_genes.size(); ++i) {
    names[std::size_t(position[i])] = named_genes[i];
    gene_of_named[i] = position[i];
  }
  const int width = std::max<int>(5, int(std::to_string(n_genes).size()));
  std::int64_t synthetic = 0;
  this->named.assign(std::size_t(n_genes), 0);
  for (auto g : gene_of_named) this->named[std::size_t(g)] = 1;
  Column ids;
  ids.name = "gene_ids";
  ids.kind = Column::Kind::String;
  for (std::int64_t g = 0; g < n_genes; ++g) {
    if (names[std::size_t(g)].empty()) {
      std::string number = std::to_string(++synthetic);
      names[std::size_t(g)] = "GENE" + std::string(std::size_t(std::max<int>(0, width - int(number.size()))), '0') + number;
    }
    std::string id = std::to_string(g + 1);
    ids.strings.push_back("SIMG" + std::string(11 - std::min<std::size_t>(11, id.size()), '0') + id);
  }
  var.index = std::move(names);
  var.columns.push_back(std::move(ids));

  z.resize(std::size_t(n_genes));
  shape.resize(std::size_t(n_genes));
  for (std::int64_t g = 0; g < n_genes; ++g) {
    z[std::size_t(g)] = draw.normal();
    // Dispersion around 0.3, as fitted on 10x PBMC UMI counts.
    const double dispersion = std::clamp(0.3 * std::exp(0.5 * draw.normal()), 0.02, 5.0);
    shape[std::size_t(g)] = float(1 / dispersion);
  }
  mitochondrial.assign(std::size_t(n_genes), 0);
  auto gene_index = [&](const std::string& name) {
    return gene_of_named[std::size_t(std::find(named_genes.begin(), named_genes.end(), name) - named_genes.begin())];
  };
  for (const auto& m : kMitochondrial) mitochondrial[std::size_t(gene_index(m.gene))] = 1;

  // Cell types, their proportions and library sizes.
  Rng types_rng(o.seed, kModelStream + kTypes);
  Draw type_draw(types_rng);
  for (std::size_t k = 0; k < n_types; ++k) {
    if (k < catalogue.size()) {
      type_names.emplace_back(catalogue[k].name);
      type_weight.push_back(catalogue[k].weight);
      type_library.push_back(catalogue[k].library);
    } else {
      type_names.push_back("type_" + std::to_string(k + 1));
      type_weight.push_back(0.03 * std::exp(0.5 * type_draw.normal()));
      type_library.push_back(std::exp(0.2 * type_draw.normal()));
    }
  }
  const double weight_sum = std::accumulate(type_weight.begin(), type_weight.end(), 0.0);
  double mean_library = 0, cumulative = 0;
  for (std::size_t k = 0; k < n_types; ++k) {
    type_weight[k] /= weight_sum;
    mean_library += type_weight[k] * type_library[k];
  }
  for (std::size_t k = 0; k < n_types; ++k) {
    type_library[k] /= mean_library;
    cumulative += type_weight[k];
    type_cdf.push_back(cumulative);
  }
  type_cdf.back() = 1.0;

  // Fixed shares of named genes per type; a marker leaks into other types at
  // an ambient level.
  std::vector<double> peak(std::size_t(n_genes), 0);
  for (std::size_t k = 0; k < std::min(n_types, catalogue.size()); ++k)
    for (const auto& m : catalogue[k].markers) {
      auto& p = peak[std::size_t(gene_index(m.gene))];
      p = std::max(p, m.fraction);
    }
  fixed_share.assign(n_types, std::vector<double>(std::size_t(n_genes), 0));
  for (std::size_t k = 0; k < n_types; ++k) {
    auto& share = fixed_share[k];
    for (std::int64_t g = 0; g < n_genes; ++g) share[std::size_t(g)] = kAmbient * peak[std::size_t(g)];
    if (k < catalogue.size())
      for (const auto& m : catalogue[k].markers) share[std::size_t(gene_index(m.gene))] = m.fraction;
    for (const auto& m : kHousekeeping) share[std::size_t(gene_index(m.gene))] = m.fraction;
    for (const auto& m : kInterferon) share[std::size_t(gene_index(m.gene))] = m.fraction;
    for (const auto& m : kMitochondrial) share[std::size_t(gene_index(m.gene))] = m.fraction * kMitochondrialShare;
  }

  // Programs on synthetic genes: one per lineage and one per type, drawn from
  // the better expressed genes, as real markers are.
  std::vector<std::int32_t> pool;
  for (std::int64_t g = 0; g < n_genes; ++g)
    if (!this->named[std::size_t(g)]) pool.push_back(std::int32_t(g));
  std::sort(pool.begin(), pool.end(), [&](auto a, auto b) { return z[std::size_t(a)] > z[std::size_t(b)]; });
  pool.resize(std::max<std::size_t>(50, pool.size() * 3 / 10));
  const double scale = std::max(0.05, double(pool.size()) / 6000.0);  // 20000 genes: 1
  Rng programs_rng(o.seed, kModelStream + kPrograms);
  Draw program_draw(programs_rng);
  auto program = [&](double lo, double hi, double log_fold, double sd, std::vector<std::pair<std::int32_t, double>>& out) {
    const auto n = std::size_t(std::max(3.0, std::round((lo + (hi - lo) * program_draw.uniform()) * scale)));
    for (std::size_t i = 0; i < n; ++i)
      out.emplace_back(pool[std::size_t(program_draw.below(pool.size()))],
                       std::exp(log_fold + sd * program_draw.normal()));
  };
  std::vector<std::vector<std::pair<std::int32_t, double>>> lineage_fold;
  fold.resize(n_types);
  for (std::size_t k = 0; k < n_types; ++k) {
    const std::size_t lineage = k < catalogue.size() ? std::size_t(catalogue[k].lineage) : k;
    if (lineage_fold.size() <= lineage) lineage_fold.resize(lineage + 1);
    if (lineage_fold[lineage].empty()) program(60, 120, std::log(4.0), 0.5, lineage_fold[lineage]);
    fold[k] = lineage_fold[lineage];
    program(50, 150, std::log(6.0), 0.6, fold[k]);   // up
    program(10, 50, std::log(0.2), 0.4, fold[k]);    // down
  }

  // Donors: a mild per-gene effect and library size shift.
  Rng donors_rng(o.seed, kModelStream + kDonors);
  Draw donor_draw(donors_rng);
  for (int d = 0; d < o.n_donors; ++d) donor_names.push_back("donor_" + std::to_string(d + 1));
  donor_factor.resize(std::size_t(o.n_donors) * std::size_t(n_genes));
  for (auto& f : donor_factor) f = float(std::exp(kDonorSigma * donor_draw.normal()));
  for (int d = 0; d < o.n_donors; ++d) donor_library.push_back(std::exp(kDonorSigma * donor_draw.normal()));
  const double donor_mean = std::accumulate(donor_library.begin(), donor_library.end(), 0.0) / o.n_donors;
  for (auto& l : donor_library) l /= donor_mean;
  barcode_key = std::uint32_t(donors_rng.next());

  // Stimulation: interferon genes up about 15-fold, 2% of the others shifted.
  Rng stim_rng(o.seed, kModelStream + kStimulation);
  Draw stim_draw(stim_rng);
  stim_factor.assign(std::size_t(n_genes), 1.0f);
  for (auto g : pool)
    if (stim_draw.uniform() < 0.02) stim_factor[std::size_t(g)] = float(std::exp(0.5 * stim_draw.normal()));
  for (const auto& m : kInterferon)
    stim_factor[std::size_t(gene_index(m.gene))] = float(std::exp(std::log(15.0) + 0.3 * stim_draw.normal()));

  // The spread of base levels that gives the requested detected genes per
  // cell (detection falls as the spread grows).
  double lo = 0.05, hi = 6.0;
  if (expected_genes(lo) < target) {
    warn("simulate: at most " + std::to_string(int(expected_genes(lo))) +
         " detected genes per cell are reachable with these counts; asked for " + std::to_string(int(target)));
    hi = lo;
  } else if (expected_genes(hi) > target) {
    lo = hi;
  }
  for (int i = 0; i < 30 && hi - lo > 1e-4; ++i) {
    const double mid = 0.5 * (lo + hi);
    (expected_genes(mid) > target ? lo : hi) = mid;
  }
  sigma = 0.5 * (lo + hi);
  build_types();
}

// Shares of a cell's UMIs per gene for a type (before donor and stimulation
// effects), for a spread `s` of synthetic base levels.
std::vector<double> Simulator::Model::profile(std::size_t type, double s) const {
  std::vector<double> p(std::size_t(n_genes), 0);
  double fixed = 0, free = 0;
  for (std::int64_t g = 0; g < n_genes; ++g) {
    const auto i = std::size_t(g);
    if (named[i]) {
      p[i] = fixed_share[type][i];
      fixed += p[i];
    } else {
      p[i] = std::exp(s * z[i]);
    }
  }
  for (const auto& [g, f] : fold[type]) p[std::size_t(g)] *= f;
  for (std::int64_t g = 0; g < n_genes; ++g)
    if (!named[std::size_t(g)]) free += p[std::size_t(g)];
  const double scale = std::max(0.0, 1 - fixed) / free;
  for (std::int64_t g = 0; g < n_genes; ++g)
    if (!named[std::size_t(g)]) p[std::size_t(g)] *= scale;
  return p;
}

// Mean detected genes per cell, over the library size distribution (3-point
// Gauss-Hermite) and the most common types, using the sampler's own split
// between negative binomial and Poisson genes.
double Simulator::Model::expected_genes(double s) const {
  static constexpr double node[3] = {-1.7320508075688772, 0.0, 1.7320508075688772};
  static constexpr double weight[3] = {1.0 / 6, 2.0 / 3, 1.0 / 6};
  std::vector<std::size_t> order(type_weight.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return type_weight[a] > type_weight[b]; });
  order.resize(std::min<std::size_t>(order.size(), 10));
  double total = 0, weights = 0;
  for (auto k : order) {
    const auto p = profile(k, s);
    const double mean = options.mean_counts * type_library[k];
    double genes = 0;
    for (int q = 0; q < 3; ++q) {
      const double library = mean * std::exp(kLibrarySigma * node[q] - 0.5 * kLibrarySigma * kLibrarySigma);
      double detected = 0;
      for (std::int64_t g = 0; g < n_genes; ++g) {
        const auto i = std::size_t(g);
        const double lambda = library * p[i];
        if (named[i] || p[i] * mean >= kHeadMean)
          detected += 1 - std::exp(-double(shape[i]) * std::log1p(lambda / double(shape[i])));
        else
          detected += 1 - std::exp(-lambda);
      }
      genes += weight[q] * detected;
    }
    total += type_weight[k] * genes;
    weights += type_weight[k];
  }
  return total / weights;
}

void Simulator::Model::build_types() {
  const std::size_t n_types = type_names.size(), n_donors = donor_names.size();
  types.resize(n_types);
  inverse_total.resize(n_types * n_donors * 2);
  for (std::size_t k = 0; k < n_types; ++k) {
    auto& t = types[k];
    t.library = type_library[k];
    const auto p = profile(k, sigma);
    const double mean = options.mean_counts * t.library;
    std::vector<double> tail_weight;
    std::vector<std::int32_t> tail_gene;
    for (std::int64_t g = 0; g < n_genes; ++g) {
      const auto i = std::size_t(g);
      if (named[i] || p[i] * mean >= kHeadMean) {
        t.head_gene.push_back(std::int32_t(g));
        t.head_share.push_back(float(p[i]));
        t.head_shape.push_back(shape[i]);
        t.head_mitochondrial.push_back(mitochondrial[i]);
      } else if (p[i] > 0) {
        tail_weight.push_back(p[i]);
        tail_gene.push_back(std::int32_t(g));
        t.tail_share += p[i];
      }
    }
    t.tail.build(tail_weight, std::move(tail_gene));
    // Donor and stimulation effects act on the head genes only; on the tail
    // they would shift expected counts below 0.1 by a few percent.
    for (std::size_t d = 0; d < n_donors; ++d)
      for (std::size_t c = 0; c < 2; ++c) {
        double sum = t.tail_share;
        for (std::size_t h = 0; h < t.head_gene.size(); ++h) {
          const auto g = std::size_t(t.head_gene[h]);
          sum += double(t.head_share[h]) * donor_factor[d * std::size_t(n_genes) + g] * (c ? stim_factor[g] : 1.0f);
        }
        inverse_total[(k * n_donors + d) * 2 + c] = 1 / sum;
      }
  }
}

void Simulator::Model::generate_cell(std::int64_t cell, std::vector<std::uint32_t>& counts,
                                     std::vector<std::int32_t>& genes, std::vector<float>& values,
                                     SimulatedCell& out) const {
  Rng rng(options.seed, std::uint64_t(cell));
  Draw draw(rng);
  const double u = draw.uniform();
  const auto k = std::size_t(std::upper_bound(type_cdf.begin(), type_cdf.end(), u) - type_cdf.begin());
  const auto type = std::min(k, types.size() - 1);
  const auto donor = std::size_t(draw.below(donor_names.size()));
  const std::size_t condition = draw.uniform() < options.stimulated_fraction ? 1 : 0;
  const auto& t = types[type];
  const double library = options.mean_counts * t.library * donor_library[donor] *
                         std::exp(kLibrarySigma * draw.normal() - 0.5 * kLibrarySigma * kLibrarySigma);
  const double mt = std::exp(kMitochondrialSigma * draw.normal() - 0.5 * kMitochondrialSigma * kMitochondrialSigma);
  const double scale = library * inverse_total[(type * donor_names.size() + donor) * 2 + condition];

  genes.clear();
  values.clear();
  double total = 0;
  const float* donor_f = donor_factor.data() + donor * std::size_t(n_genes);
  for (std::size_t h = 0; h < t.head_gene.size(); ++h) {
    const auto g = std::size_t(t.head_gene[h]);
    double lambda = scale * double(t.head_share[h]) * donor_f[g];
    if (condition) lambda *= stim_factor[g];
    if (t.head_mitochondrial[h]) lambda *= mt;
    if (const auto c = draw.negative_binomial(lambda, t.head_shape[h])) {
      genes.push_back(std::int32_t(g));
      values.push_back(float(c));
      total += double(c);
    }
  }
  if (!t.tail.empty()) {
    // Head genes came out ascending; tail genes, disjoint from them, are
    // counted apart and merged in from the back.
    thread_local std::vector<std::int32_t> tail;
    tail.clear();
    const std::int64_t hits = draw.poisson(scale * t.tail_share);
    for (std::int64_t i = 0; i < hits; ++i) {
      const auto g = t.tail.sample(draw);
      if (counts[std::size_t(g)]++ == 0) tail.push_back(g);
    }
    total += double(hits);
    std::sort(tail.begin(), tail.end());
    std::ptrdiff_t i = std::ptrdiff_t(genes.size()) - 1, j = std::ptrdiff_t(tail.size()) - 1;
    genes.resize(genes.size() + tail.size());
    values.resize(genes.size());
    for (std::ptrdiff_t w = std::ptrdiff_t(genes.size()) - 1; j >= 0; --w) {
      if (i >= 0 && genes[std::size_t(i)] > tail[std::size_t(j)]) {
        genes[std::size_t(w)] = genes[std::size_t(i)];
        values[std::size_t(w)] = values[std::size_t(i--)];
      } else {
        auto& c = counts[std::size_t(tail[std::size_t(j)])];
        genes[std::size_t(w)] = tail[std::size_t(j--)];
        values[std::size_t(w)] = float(c);
        c = 0;
      }
    }
  }
  out.cell_type = std::int32_t(type);
  out.donor = std::int32_t(donor);
  out.condition = std::int32_t(condition);
  out.n_counts = total;
}

Simulator::Simulator(const SimulatorOptions& options) : model_(std::make_unique<Model>(options)) {}
Simulator::~Simulator() = default;

const SimulatorOptions& Simulator::options() const { return model_->options; }
const DataFrame& Simulator::var() const { return model_->var; }
const std::vector<std::string>& Simulator::cell_type_names() const { return model_->type_names; }
const std::vector<std::string>& Simulator::donor_names() const { return model_->donor_names; }
const std::vector<std::string>& Simulator::condition_names() const { return model_->condition_names; }

std::string Simulator::barcode(std::int64_t cell) const {
  // An invertible 32-bit mix of the index: unique barcodes that look random.
  std::uint32_t x = std::uint32_t(cell) ^ model_->barcode_key;
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  x = ((x >> 16) ^ x) * 0x45d9f3bu;
  x = (x >> 16) ^ x;
  std::string s(18, '-');
  for (int i = 0; i < 16; ++i) s[std::size_t(i)] = "ACGT"[(x >> (2 * (15 - i))) & 3];
  s[17] = '1';
  return s;
}

void Simulator::generate(std::int64_t begin, std::int64_t end, SparseRows& rows,
                         std::vector<SimulatedCell>& cells) const {
  const auto& m = *model_;
  if (begin < 0 || end < begin || end > m.options.n_cells)
    throw Error("simulate", "cells [" + std::to_string(begin) + ", " + std::to_string(end) + ") out of range 0.." +
                                std::to_string(m.options.n_cells));
  const auto n = std::size_t(end - begin);
  cells.resize(n);
  std::vector<std::vector<std::int32_t>> genes(n);
  std::vector<std::vector<float>> values(n);
  ThreadPool::global().parallel_for(n, [&](std::size_t i) {
    // Tail counts by gene, zeroed again after each cell.
    thread_local std::vector<std::uint32_t> counts;
    if (counts.size() != std::size_t(m.n_genes)) counts.assign(std::size_t(m.n_genes), 0);
    m.generate_cell(begin + std::int64_t(i), counts, genes[i], values[i], cells[i]);
  });
  rows.clear(begin, m.n_genes);
  std::size_t nnz = 0;
  for (const auto& g : genes) nnz += g.size();
  rows.indices.reserve(nnz);
  rows.values.reserve(nnz);
  rows.indptr.reserve(n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    rows.indices.insert(rows.indices.end(), genes[i].begin(), genes[i].end());
    rows.values.insert(rows.values.end(), values[i].begin(), values[i].end());
    rows.indptr.push_back(std::int64_t(rows.indices.size()));
  }
}

void simulate_h5ad(const SimulatorOptions& options, const std::string& out_path) {
  Simulator simulator(options);
  AnnDataWriter writer(out_path, options.n_genes);
  const std::int64_t n = options.n_cells, block = 4096;
  std::vector<SimulatedCell> all;
  all.reserve(std::size_t(n));
  Progress progress("simulate", std::uint64_t(n));
  // Writing a block (HDF5, one thread) overlaps generating the next one on
  // the pool; the future is declared after the writer, so it is waited for
  // before the writer goes away, also when generation throws.
  SparseRows rows[2];
  std::vector<SimulatedCell> cells;
  std::future<void> writing;
  for (std::int64_t begin = 0, b = 0; begin < n; begin += block, b ^= 1) {
    const std::int64_t end = std::min(n, begin + block);
    simulator.generate(begin, end, rows[b], cells);
    all.insert(all.end(), cells.begin(), cells.end());
    if (writing.valid()) writing.get();
    writing = std::async(std::launch::async, [&writer, &block_rows = rows[b]] { writer.append_rows(block_rows); });
    progress.advance(std::uint64_t(end - begin));
  }
  if (writing.valid()) writing.get();

  DataFrame obs;
  obs.index.reserve(std::size_t(n));
  for (std::int64_t i = 0; i < n; ++i) obs.index.push_back(simulator.barcode(i));
  auto categorical = [&](const char* name, const std::vector<std::string>& categories, auto code) {
    Column c;
    c.name = name;
    c.kind = Column::Kind::Categorical;
    c.categories = categories;
    c.codes.reserve(all.size());
    for (const auto& cell : all) c.codes.push_back(code(cell));
    obs.columns.push_back(std::move(c));
  };
  categorical("cell_type", simulator.cell_type_names(), [](const SimulatedCell& c) { return c.cell_type; });
  categorical("sample_id", simulator.donor_names(), [](const SimulatedCell& c) { return c.donor; });
  categorical("condition", simulator.condition_names(), [](const SimulatedCell& c) { return c.condition; });
  Column counts;
  counts.name = "n_counts";
  counts.kind = Column::Kind::Numeric;
  for (const auto& cell : all) counts.numbers.push_back(cell.n_counts);
  obs.columns.push_back(std::move(counts));

  writer.set_obs(obs);
  writer.set_var(simulator.var());
  writer.add_uns("simulation_seed", std::int64_t(options.seed));
  writer.commit();
  progress.finish();
}

}  // namespace c2s
