#include "engine/continuation_scorer.hpp"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <span>
#include <string>

#include "core/error.hpp"
#include "engine/generator.hpp"

namespace c2s {

std::vector<std::vector<ContinuationScore>> ContinuationScorer::score(
    const std::vector<std::vector<std::int64_t>>& prompts,
    const std::vector<std::vector<std::vector<std::int64_t>>>& continuations, std::int64_t batch_size,
    Progress* progress) {
  if (batch_size < 1) throw UsageError("batch size must be at least 1");
  if (continuations.size() != prompts.size())
    throw Error("scoring: " + std::to_string(prompts.size()) + " prompts but " + std::to_string(continuations.size()) +
                " lists of continuations");
  // Everything is checked before the first forward pass: a bad candidate
  // late in the input must not cost the work before it.
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    const std::string prompt_name = "prompt " + std::to_string(i);
    model_.check_input(prompts[i], 0, prompt_name);
    for (std::size_t j = 0; j < continuations[i].size(); ++j)
      // The last token is only predicted, never run.
      model_.check_input(continuations[i][j], std::int64_t(prompts[i].size()) - 1,
                         prompt_name + " candidate " + std::to_string(j));
  }
  stats_ = {};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::vector<ContinuationScore>> results(prompts.size());
  // Prompts run `batch_size` at a time (left-padded into one cache), then
  // their continuations, one per prompt at a time, over that cache. Batches
  // hold prompts of similar length, so that little work goes to padding
  // (cell sentences of all expressed genes range from tens to ~1,000 tokens).
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (!continuations[i].empty()) order.push_back(i);
    else if (progress) progress->advance(1);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return prompts[a].size() > prompts[b].size(); });
  std::vector<std::size_t> group;
  auto flush = [&] {
    if (!group.empty()) score_group(prompts, continuations, group, results);
    if (progress) progress->advance(group.size());
    group.clear();
  };
  for (std::size_t i : order) {
    group.push_back(i);
    if (std::int64_t(group.size()) == batch_size) flush();
  }
  flush();
  stats_.prompts = std::int64_t(prompts.size());
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return results;
}

void ContinuationScorer::score_group(const std::vector<std::vector<std::int64_t>>& prompts,
                                     const std::vector<std::vector<std::vector<std::int64_t>>>& continuations,
                                     const std::vector<std::size_t>& members,
                                     std::vector<std::vector<ContinuationScore>>& results) {
  c10::InferenceMode inference;
  const auto device = model_.options().device;
  const auto G = std::int64_t(members.size());
  std::int64_t slots = 0;  // the longest prompt: row g's tokens end at slot `slots`
  std::size_t longest = 0;
  std::vector<std::span<const std::int64_t>> rows_of_prompts;
  for (std::size_t m : members) {
    slots = std::max(slots, std::int64_t(prompts[m].size()));
    for (const auto& c : continuations[m]) longest = std::max(longest, c.size());
    rows_of_prompts.emplace_back(prompts[m]);
    stats_.prompt_tokens += std::int64_t(prompts[m].size());
  }
  stats_.prompt_slots += G * slots;
  KvCache prompt_cache = model_.make_cache(G, slots + std::int64_t(longest) - 1);

  // Each prompt's last position (the last slot: prompts are left-padded)
  // predicts its continuations' first tokens.
  auto hidden = model_.forward(left_padded_input(rows_of_prompts, 0, 0, device), &prompt_cache);
  auto first = at::log_softmax(model_.logits(hidden.select(1, slots - 1)), -1).cpu().contiguous();  // [G, V]
  const float* first_lp = first.data_ptr<float>();
  const std::int64_t V = first.size(1);

  std::vector<std::vector<double>> sums(members.size());
  std::size_t rounds = 0;
  for (std::int64_t g = 0; g < G; ++g) {
    const auto& cs = continuations[members[std::size_t(g)]];
    auto& out = results[members[std::size_t(g)]];
    out.assign(cs.size(), {});
    sums[std::size_t(g)].resize(cs.size());
    rounds = std::max(rounds, cs.size());
    for (std::size_t j = 0; j < cs.size(); ++j) {
      sums[std::size_t(g)][j] = first_lp[g * V + cs[j][0]];
      out[j].tokens = std::int64_t(cs[j].size());
      stats_.continuation_tokens += out[j].tokens;
    }
    stats_.continuations += std::int64_t(cs.size());
  }

  // Round j runs every prompt's continuation j (its tokens but the last)
  // after that prompt's own cache rows, then forgets them again: the prompts'
  // cache is never copied. Rows are right-padded to the round's longest; a
  // prompt without a continuation j (or one of a single token) is all
  // padding in that round.
  for (std::size_t j = 0; j < rounds; ++j) {
    std::int64_t T = 0;
    for (std::int64_t g = 0; g < G; ++g) {
      const auto& cs = continuations[members[std::size_t(g)]];
      if (j < cs.size()) T = std::max(T, std::int64_t(cs[j].size()) - 1);
    }
    if (T == 0) continue;
    // Pad positions continue each row's numbering, so they stay below the
    // round's longest row and learned position tables are never overrun.
    auto ids = at::zeros({G, T}, at::kLong);
    auto valid = at::zeros({G, T}, at::kBool);
    auto positions = at::zeros({G, T}, at::kLong);
    auto ids_a = ids.accessor<std::int64_t, 2>();
    auto valid_a = valid.accessor<bool, 2>();
    auto pos_a = positions.accessor<std::int64_t, 2>();
    std::vector<std::int64_t> flat, targets, owner;  // real positions (row-major in [G, T]), their targets, rows
    for (std::int64_t g = 0; g < G; ++g) {
      const auto& cs = continuations[members[std::size_t(g)]];
      const auto P = std::int64_t(prompts[members[std::size_t(g)]].size());
      for (std::int64_t t = 0; t < T; ++t) pos_a[g][t] = P + t;
      if (j >= cs.size()) continue;
      const auto& c = cs[j];
      for (std::int64_t t = 0; t + 1 < std::int64_t(c.size()); ++t) {
        ids_a[g][t] = c[std::size_t(t)];
        valid_a[g][t] = true;
        flat.push_back(g * T + t);
        targets.push_back(c[std::size_t(t) + 1]);
        owner.push_back(g);
      }
    }
    ForwardInput input{ids.to(device), positions.to(device), valid.to(device)};
    auto out = model_.forward(input, &prompt_cache);  // [G, T, H]
    prompt_cache.truncate(slots);
    // Only real positions go through the output head.
    auto real = out.reshape({G * T, out.size(2)}).index_select(0, at::tensor(flat, at::kLong).to(device));
    auto log_probs = at::log_softmax(model_.logits(real), -1);  // [R, V] float32
    auto picked = log_probs.gather(1, at::tensor(targets, at::kLong).to(device).view({-1, 1})).cpu().contiguous();
    const float* lp = picked.data_ptr<float>();
    for (std::size_t k = 0; k < owner.size(); ++k) sums[std::size_t(owner[k])][j] += lp[k];
    stats_.padded_tokens += G * T;
  }
  for (std::int64_t g = 0; g < G; ++g)
    for (std::size_t j = 0; j < sums[std::size_t(g)].size(); ++j)
      results[members[std::size_t(g)]][j].log_likelihood = sums[std::size_t(g)][j];
}

}  // namespace c2s
