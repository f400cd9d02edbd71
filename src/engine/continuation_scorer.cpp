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
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    if (!continuations[i].empty()) results[i] = score_prompt(prompts[i], continuations[i], batch_size);
    if (progress) progress->advance(1);
  }
  stats_.prompts = std::int64_t(prompts.size());
  stats_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return results;
}

std::vector<ContinuationScore> ContinuationScorer::score_prompt(
    const std::vector<std::int64_t>& prompt, const std::vector<std::vector<std::int64_t>>& continuations,
    std::int64_t batch_size) {
  c10::InferenceMode inference;
  const auto device = model_.options().device;
  const auto P = std::int64_t(prompt.size());
  std::size_t longest = 0;
  for (const auto& c : continuations) longest = std::max(longest, c.size());
  KvCache prompt_cache = model_.make_cache(1, P + std::int64_t(longest) - 1);

  // The prompt's last position predicts every continuation's first token.
  auto hidden = model_.forward(left_padded_input({std::span(prompt)}, 0, 0, device), &prompt_cache);
  auto first = at::log_softmax(model_.logits(hidden.select(1, P - 1)[0]), -1).cpu().contiguous();
  const float* first_lp = first.data_ptr<float>();
  stats_.prompt_tokens += P;

  std::vector<ContinuationScore> scores(continuations.size());
  std::vector<double> sums(continuations.size());
  for (std::size_t j = 0; j < continuations.size(); ++j) {
    sums[j] = first_lp[continuations[j][0]];
    scores[j].tokens = std::int64_t(continuations[j].size());
    stats_.continuation_tokens += scores[j].tokens;
  }
  stats_.continuations += std::int64_t(continuations.size());

  // Continuations of one token are done. The others run all but their last
  // token; longest first, so that rows of a chunk have similar lengths.
  std::vector<std::size_t> rows;
  for (std::size_t j = 0; j < continuations.size(); ++j)
    if (continuations[j].size() > 1) rows.push_back(j);
  std::stable_sort(rows.begin(), rows.end(),
                   [&](std::size_t a, std::size_t b) { return continuations[a].size() > continuations[b].size(); });

  for (std::size_t start = 0; start < rows.size(); start += std::size_t(batch_size)) {
    const std::size_t end = std::min(rows.size(), start + std::size_t(batch_size));
    const auto n = std::int64_t(end - start);
    const auto T = std::int64_t(continuations[rows[start]].size()) - 1;
    // Right padding: row r holds its tokens 0..L-2 at positions P.. and then
    // padding, which no real token attends to (positions of pads stay within
    // the longest row's, so learned position tables are never overrun).
    auto ids = at::zeros({n, T}, at::kLong);
    auto valid = at::zeros({n, T}, at::kBool);
    auto positions = (at::arange(T, at::kLong) + P).view({1, T}).repeat({n, 1});
    auto ids_a = ids.accessor<std::int64_t, 2>();
    auto valid_a = valid.accessor<bool, 2>();
    std::vector<std::int64_t> flat, targets;  // real positions (row-major in [n, T]) and the token each predicts
    std::vector<std::size_t> owner;           // the continuation of each real position
    for (std::int64_t r = 0; r < n; ++r) {
      const auto& c = continuations[rows[start + std::size_t(r)]];
      for (std::int64_t t = 0; t + 1 < std::int64_t(c.size()); ++t) {
        ids_a[r][t] = c[std::size_t(t)];
        valid_a[r][t] = true;
        flat.push_back(r * T + t);
        targets.push_back(c[std::size_t(t) + 1]);
        owner.push_back(rows[start + std::size_t(r)]);
      }
    }
    // The copy shares the prompt's buffers until expand() gives it its own
    // (with n == 1 it keeps sharing them, which is harmless: a chunk writes
    // only the slots after the prompt's, and each chunk writes them before
    // reading them).
    KvCache cache = prompt_cache;
    cache.expand(n);
    ForwardInput input{ids.to(device), positions.to(device), valid.to(device)};
    auto out = model_.forward(input, &cache);  // [n, T, H]
    // Only real positions go through the output head.
    auto real = out.reshape({n * T, out.size(2)}).index_select(0, at::tensor(flat, at::kLong).to(device));
    auto log_probs = at::log_softmax(model_.logits(real), -1);  // [R, V] float32
    auto picked = log_probs.gather(1, at::tensor(targets, at::kLong).to(device).view({-1, 1})).cpu().contiguous();
    const float* lp = picked.data_ptr<float>();
    for (std::size_t k = 0; k < owner.size(); ++k) sums[owner[k]] += lp[k];
    stats_.padded_tokens += n * T;
  }
  for (std::size_t j = 0; j < continuations.size(); ++j) scores[j].log_likelihood = sums[j];
  return scores;
}

}  // namespace c2s
