#include "data/store_split.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/random.hpp"

namespace c2s {

Column assign_splits(const SentenceStore& store, const SplitOptions& options) {
  const auto& f = options.fractions;
  if (f.size() != 3) throw UsageError("--fractions takes three numbers: train,validation,test");
  double sum = 0;
  for (double x : f) {
    if (!(x >= 0) || !std::isfinite(x)) throw UsageError("--fractions must be non-negative numbers");
    sum += x;
  }
  if (std::abs(sum - 1.0) > 1e-6) throw UsageError(fmt::format("--fractions must add up to 1 (they add up to {})", sum));

  const std::size_t n = std::size_t(store.n_cells());
  Column split{.name = "split", .kind = Column::Kind::Categorical};
  split.categories = kSplitNames;
  split.codes.assign(n, 0);
  Rng rng(options.seed, 0x73706c6974);

  if (options.by.empty()) {
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t(0));
    shuffle(order, rng);
    std::size_t n_train = std::size_t(std::llround(f[0] * double(n)));
    std::size_t n_val = std::min(n - n_train, std::size_t(std::llround(f[1] * double(n))));
    for (std::size_t i = 0; i < n; ++i) split.codes[order[i]] = i < n_train ? 0 : (i < n_train + n_val ? 1 : 2);
    return split;
  }

  const Column* groups = store.obs().find(options.by);
  if (!groups) throw UsageError(store.path(), "no obs column '" + options.by + "' to split by");
  std::map<std::string, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < n; ++i) members[groups->text(i)].push_back(i);
  std::size_t wanted_splits = std::size_t(std::count_if(f.begin(), f.end(), [](double x) { return x > 0; }));
  if (members.size() < wanted_splits)
    throw UsageError(store.path(), fmt::format("obs column '{}' has {} groups; {} non-empty splits need at least as "
                                               "many",
                                               options.by, members.size(), wanted_splits));
  std::vector<std::string> names;
  for (auto& [name, cells] : members) names.push_back(name);
  // Greedy assignment of groups in a random order, each to the split furthest
  // below its target (empty wanted splits first); the best of many seeded
  // orders (squared distance to the target fractions) is kept.
  std::vector<int> best_assignment;
  double best_cost = 1e300;
  for (int trial = 0; trial < 256; ++trial) {
    std::vector<std::size_t> order(names.size());
    std::iota(order.begin(), order.end(), std::size_t(0));
    shuffle(order, rng);
    std::vector<double> assigned(3, 0);
    std::vector<std::size_t> group_count(3, 0);
    std::vector<int> assignment(names.size(), 0);
    for (std::size_t gi : order) {
      const double size = double(members[names[gi]].size());
      bool need_empty = false;
      for (int s = 0; s < 3; ++s) need_empty |= f[std::size_t(s)] > 0 && group_count[std::size_t(s)] == 0;
      int best = -1;
      double best_deficit = -1e300;
      for (int s = 0; s < 3; ++s) {
        if (f[std::size_t(s)] <= 0 || (need_empty && group_count[std::size_t(s)] > 0)) continue;
        double deficit = f[std::size_t(s)] * double(n) - assigned[std::size_t(s)];
        if (deficit > best_deficit) best_deficit = deficit, best = s;
      }
      assignment[gi] = best;
      assigned[std::size_t(best)] += size;
      ++group_count[std::size_t(best)];
    }
    double cost = 0;
    for (int s = 0; s < 3; ++s) cost += std::pow(assigned[std::size_t(s)] / double(n) - f[std::size_t(s)], 2);
    if (cost < best_cost) best_cost = cost, best_assignment = assignment;
  }
  for (std::size_t gi = 0; gi < names.size(); ++gi)
    for (auto c : members[names[gi]]) split.codes[c] = best_assignment[gi];
  return split;
}

nlohmann::json describe_splits(const SentenceStore& store, const Column& split, const std::string& by) {
  nlohmann::json out = nlohmann::json::object();
  const Column* groups = by.empty() ? nullptr : store.obs().find(by);
  for (std::size_t s = 0; s < kSplitNames.size(); ++s) {
    std::int64_t cells = 0;
    std::set<std::string> members;
    for (std::size_t i = 0; i < split.codes.size(); ++i)
      if (split.codes[i] == std::int32_t(s)) {
        ++cells;
        if (groups) members.insert(groups->text(i));
      }
    nlohmann::json entry = {{"cells", cells}};
    if (groups) entry[by] = std::vector<std::string>(members.begin(), members.end());
    out[kSplitNames[s]] = entry;
  }
  return out;
}

bool store_has_split(const SentenceStore& store, const std::string& name) {
  const Column* split = store.obs().find("split");
  if (!split) return false;
  for (std::size_t i = 0; i < split->size(); ++i)
    if (split->text(i) == name) return true;
  return false;
}

std::vector<std::int64_t> cells_in_split(const SentenceStore& store, const std::string& name) {
  const Column* split = store.obs().find("split");
  if (!split) throw Error(store.path(), "the store has no split yet (run `c2s split` first)");
  std::vector<std::int64_t> cells;
  std::set<std::string> present;
  for (std::size_t i = 0; i < split->size(); ++i) {
    std::string value = split->text(i);
    if (value == name) cells.push_back(std::int64_t(i));
    if (!value.empty()) present.insert(std::move(value));
  }
  if (cells.empty()) {
    std::string held;
    for (const auto& v : present) held += (held.empty() ? "" : ", ") + v;
    throw Error(store.path(), fmt::format("no cells in split '{}' (the store's splits with cells: {})", name,
                                          held.empty() ? "none" : held));
  }
  return cells;
}

}  // namespace c2s
