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
  // their continuations in chunks of `batch_size` rows over copies of it.
  std::vector<std::size_t> group;
  auto flush = [&] {
    if (!group.empty()) score_group(prompts, continuations, group, batch_size, results);
    if (progress) progress->advance(group.size());
    group.clear();
  };
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (continuations[i].empty()) {
      if (progress) progress->advance(1);
      continue;
    }
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
                                     const std::vector<std::size_t>& members, std::int64_t batch_size,
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
  KvCache prompt_cache = model_.make_cache(G, slots + std::int64_t(longest) - 1);

  // Each prompt's last position (the last slot: prompts are left-padded)
  // predicts its continuations' first tokens.
  auto hidden = model_.forward(left_padded_input(rows_of_prompts, 0, 0, device), &prompt_cache);
  auto first = at::log_softmax(model_.logits(hidden.select(1, slots - 1)), -1).cpu().contiguous();  // [G, V]
  const float* first_lp = first.data_ptr<float>();
  const std::int64_t V = first.size(1);

  // (prompt in group, continuation) of every continuation longer than one
  // token; longest first, so that rows of a chunk have similar lengths.
  std::vector<std::pair<std::int64_t, std::size_t>> rows;
  std::vector<std::vector<double>> sums(members.size());
  for (std::int64_t g = 0; g < G; ++g) {
    const auto& cs = continuations[members[std::size_t(g)]];
    auto& out = results[members[std::size_t(g)]];
    out.assign(cs.size(), {});
    sums[std::size_t(g)].resize(cs.size());
    for (std::size_t j = 0; j < cs.size(); ++j) {
      sums[std::size_t(g)][j] = first_lp[g * V + cs[j][0]];
      out[j].tokens = std::int64_t(cs[j].size());
      stats_.continuation_tokens += out[j].tokens;
      if (cs[j].size() > 1) rows.emplace_back(g, j);
    }
    stats_.continuations += std::int64_t(cs.size());
  }
  auto length_of = [&](const std::pair<std::int64_t, std::size_t>& r) {
    return continuations[members[std::size_t(r.first)]][r.second].size();
  };
  std::stable_sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return length_of(a) > length_of(b); });

  for (std::size_t start = 0; start < rows.size(); start += std::size_t(batch_size)) {
    const std::size_t end = std::min(rows.size(), start + std::size_t(batch_size));
    const auto n = std::int64_t(end - start);
    const auto T = std::int64_t(length_of(rows[start])) - 1;
    // Right padding after each row's prompt: row r holds its tokens 0..L-2
    // at positions P.. (P its prompt's length) and then padding, which no
    // real token attends to (pad positions stay below the longest row's, so
    // learned position tables are never overrun).
    auto ids = at::zeros({n, T}, at::kLong);
    auto valid = at::zeros({n, T}, at::kBool);
    auto positions = at::zeros({n, T}, at::kLong);
    auto ids_a = ids.accessor<std::int64_t, 2>();
    auto valid_a = valid.accessor<bool, 2>();
    auto pos_a = positions.accessor<std::int64_t, 2>();
    std::vector<std::int64_t> flat, targets, prompt_rows;  // real positions (row-major in [n, T]), their targets
    std::vector<std::pair<std::size_t, std::size_t>> owner;  // (group member, continuation) of each real position
    for (std::int64_t r = 0; r < n; ++r) {
      const auto [g, j] = rows[start + std::size_t(r)];
      prompt_rows.push_back(g);
      const auto& c = continuations[members[std::size_t(g)]][j];
      const auto P = std::int64_t(prompts[members[std::size_t(g)]].size());
      for (std::int64_t t = 0; t < T; ++t) pos_a[r][t] = P + t;
      for (std::int64_t t = 0; t + 1 < std::int64_t(c.size()); ++t) {
        ids_a[r][t] = c[std::size_t(t)];
        valid_a[r][t] = true;
        flat.push_back(r * T + t);
        targets.push_back(c[std::size_t(t) + 1]);
        owner.emplace_back(std::size_t(g), j);
      }
    }
    KvCache cache = prompt_cache;
    cache.select_rows(at::tensor(prompt_rows, at::kLong));  // each row its own copy of its prompt's slots
    ForwardInput input{ids.to(device), positions.to(device), valid.to(device)};
    auto out = model_.forward(input, &cache);  // [n, T, H]
    // Only real positions go through the output head.
    auto real = out.reshape({n * T, out.size(2)}).index_select(0, at::tensor(flat, at::kLong).to(device));
    auto log_probs = at::log_softmax(model_.logits(real), -1);  // [R, V] float32
    auto picked = log_probs.gather(1, at::tensor(targets, at::kLong).to(device).view({-1, 1})).cpu().contiguous();
    const float* lp = picked.data_ptr<float>();
    for (std::size_t k = 0; k < owner.size(); ++k) sums[owner[k].first][owner[k].second] += lp[k];
    stats_.padded_tokens += n * T;
  }
  for (std::int64_t g = 0; g < G; ++g)
    for (std::size_t j = 0; j < sums[std::size_t(g)].size(); ++j)
      results[members[std::size_t(g)]][j].log_likelihood = sums[std::size_t(g)][j];
}

}  // namespace c2s
