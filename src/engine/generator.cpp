#include "engine/generator.hpp"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/error.hpp"

namespace c2s {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A row still being generated.
struct Row {
  std::size_t prompt;  // index into the prompts
  std::vector<std::int64_t> seen;  // prompt then generated tokens
  std::size_t prompt_length;
  TokenSampler sampler;
  std::int64_t next_position;
};

}  // namespace

void GenerationOptions::validate() const {
  if (max_new_tokens < 1) throw UsageError("max new tokens must be at least 1");
  if (batch_size < 1) throw UsageError("batch size must be at least 1");
  sampling.validate();
  for (const auto& s : stop_strings)
    if (s.empty()) throw UsageError("a stop string must not be empty");
}

std::size_t shared_prefix_length(const std::vector<std::vector<std::int64_t>>& prompts,
                                 const std::vector<std::size_t>& members) {
  if (members.empty()) return 0;
  const auto& first = prompts[members[0]];
  std::size_t n = first.size();
  for (std::size_t m : members) {
    const auto& p = prompts[m];
    n = std::min(n, p.size());
    std::size_t i = 0;
    while (i < n && p[i] == first[i]) ++i;
    n = i;
  }
  std::size_t shortest = first.size();
  for (std::size_t m : members) shortest = std::min(shortest, prompts[m].size());
  return std::min(n, shortest - 1);
}

ForwardInput left_padded_input(const std::vector<std::span<const std::int64_t>>& rows, std::int64_t first_position,
                               std::int64_t pad_id, const c10::Device& device) {
  const auto B = std::int64_t(rows.size());
  std::int64_t T = 0;
  for (const auto& r : rows) T = std::max(T, std::int64_t(r.size()));
  auto ids = at::full({B, T}, pad_id, at::kLong);
  auto pos = at::full({B, T}, first_position, at::kLong);
  auto valid = at::zeros({B, T}, at::kBool);
  auto ids_a = ids.accessor<std::int64_t, 2>();
  auto pos_a = pos.accessor<std::int64_t, 2>();
  auto valid_a = valid.accessor<bool, 2>();
  for (std::int64_t b = 0; b < B; ++b) {
    const auto& r = rows[std::size_t(b)];
    const std::int64_t pad = T - std::int64_t(r.size());
    for (std::int64_t t = 0; t < std::int64_t(r.size()); ++t) {
      ids_a[b][pad + t] = r[std::size_t(t)];
      pos_a[b][pad + t] = first_position + t;
      valid_a[b][pad + t] = true;
    }
  }
  return {ids.to(device), pos.to(device), valid.to(device)};
}

std::vector<Generation> Generator::generate(const std::vector<std::vector<std::int64_t>>& prompts,
                                            const GenerationOptions& options, const AllowedTokens& allowed,
                                            const TokenDecoder& decoder) {
  options.validate();
  if (!options.stop_strings.empty() && !decoder) throw UsageError("stop strings need a tokenizer to decode with");
  // The last new token is only chosen, never run.
  for (std::size_t i = 0; i < prompts.size(); ++i)
    model_.check_input(prompts[i], options.max_new_tokens - 1, "prompt " + std::to_string(i));
  stats_ = {};
  stats_.prompts = std::int64_t(prompts.size());
  std::vector<Generation> results(prompts.size());
  // Batches of similar length waste less work on padding.
  std::vector<std::size_t> order(prompts.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return prompts[a].size() > prompts[b].size(); });
  for (std::size_t start = 0; start < order.size(); start += std::size_t(options.batch_size)) {
    std::vector<std::size_t> members(order.begin() + std::ptrdiff_t(start),
                                     order.begin() + std::ptrdiff_t(std::min(order.size(), start + std::size_t(options.batch_size))));
    run_batch(prompts, members, options, allowed, decoder, results);
  }
  return results;
}

void Generator::run_batch(const std::vector<std::vector<std::int64_t>>& prompts, const std::vector<std::size_t>& members,
                          const GenerationOptions& options, const AllowedTokens& allowed, const TokenDecoder& decoder,
                          std::vector<Generation>& results) {
  c10::InferenceMode inference;
  const auto device = model_.options().device;
  const std::int64_t V = model_.config().vocab_size;
  auto t0 = std::chrono::steady_clock::now();

  const std::size_t prefix = options.share_prefix && members.size() > 1 ? shared_prefix_length(prompts, members) : 0;
  std::size_t longest = 0;
  for (std::size_t m : members) longest = std::max(longest, prompts[m].size());
  const auto B = std::int64_t(members.size());
  const std::int64_t capacity = std::int64_t(longest) + options.max_new_tokens;
  KvCache cache = model_.make_cache(prefix > 0 ? 1 : B, capacity);
  if (prefix > 0) {
    std::vector<std::span<const std::int64_t>> head = {std::span(prompts[members[0]]).first(prefix)};
    model_.forward(left_padded_input(head, 0, 0, device), &cache);
    cache.expand(B);
    stats_.prefill_tokens += std::int64_t(prefix);
    stats_.shared_prefix_tokens += std::int64_t(prefix) * (B - 1);
  }
  std::vector<std::span<const std::int64_t>> tails;
  std::vector<Row> rows;
  for (std::size_t m : members) {
    tails.push_back(std::span(prompts[m]).subspan(prefix));
    stats_.prefill_tokens += std::int64_t(prompts[m].size() - prefix);
    rows.push_back({m, prompts[m], prompts[m].size(), TokenSampler(options.sampling, m), std::int64_t(prompts[m].size())});
  }
  auto hidden = model_.forward(left_padded_input(tails, std::int64_t(prefix), 0, device), &cache);
  auto logits = model_.logits(hidden.select(1, hidden.size(1) - 1)).cpu().contiguous();

  std::vector<std::uint8_t> mask;
  bool first_step = true;
  while (!rows.empty()) {
    std::vector<std::int64_t> next(rows.size());
    std::vector<std::int64_t> keep;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      Row& row = rows[r];
      std::span<float> row_logits(logits.data_ptr<float>() + std::int64_t(r) * V, std::size_t(V));
      std::span<const std::int64_t> generated = std::span(row.seen).subspan(row.prompt_length);
      std::span<const std::uint8_t> allowed_span;
      if (allowed) {
        mask.assign(std::size_t(V), 1);
        allowed(row.prompt, generated, mask);
        allowed_span = mask;
      }
      next[r] = row.sampler.choose(row_logits, row.seen, allowed_span);
      row.seen.push_back(next[r]);
      const std::int64_t n_new = std::int64_t(row.seen.size() - row.prompt_length);
      std::string reason;
      if (std::find(options.eos_ids.begin(), options.eos_ids.end(), next[r]) != options.eos_ids.end()) reason = "eos";
      if (reason.empty() && !options.stop_strings.empty()) {
        std::string text = decoder(std::span(row.seen).subspan(row.prompt_length));
        for (const auto& s : options.stop_strings)
          if (text.find(s) != std::string::npos) reason = "stop_string";
      }
      if (reason.empty() && n_new >= options.max_new_tokens) reason = "length";
      if (!reason.empty()) {
        results[row.prompt] = {std::vector<std::int64_t>(row.seen.begin() + std::ptrdiff_t(row.prompt_length), row.seen.end()),
                               reason};
      } else {
        keep.push_back(std::int64_t(r));
      }
    }
    if (first_step) {
      stats_.prefill_seconds += seconds_since(t0);
      stats_.kv_cache_bytes = std::max(stats_.kv_cache_bytes, cache.bytes());
      t0 = std::chrono::steady_clock::now();
      first_step = false;
    } else {
      stats_.decode_tokens += std::int64_t(rows.size());
    }
    if (keep.empty()) break;
    if (keep.size() != rows.size()) {
      // Finished rows leave the batch: their cache rows go too.
      cache.select_rows(at::tensor(keep, at::kLong));
      std::vector<Row> kept;
      std::vector<std::int64_t> kept_next;
      for (auto r : keep) {
        kept.push_back(std::move(rows[std::size_t(r)]));
        kept_next.push_back(next[std::size_t(r)]);
      }
      rows = std::move(kept);
      next = std::move(kept_next);
    }
    const auto n = std::int64_t(rows.size());
    std::vector<std::int64_t> positions;
    for (auto& row : rows) positions.push_back(row.next_position++);
    ForwardInput step{at::tensor(next, at::kLong).view({n, 1}).to(device),
                      at::tensor(positions, at::kLong).view({n, 1}).to(device),
                      at::ones({n, 1}, at::TensorOptions().dtype(at::kBool).device(device))};
    logits = model_.logits(model_.forward(step, &cache).select(1, 0)).cpu().contiguous();
  }
  if (!first_step) stats_.decode_seconds += seconds_since(t0);
}

}  // namespace c2s
