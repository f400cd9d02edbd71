// Every golden model folder, loaded and run in float32, against the float64
// reference: logits, per-position argmax, embeddings, greedy continuations,
// left-padded batches, and KV-cache decoding against recomputation.
#include <gtest/gtest.h>

#include <cmath>

#include "model/golden_models.hpp"

namespace c2s {
namespace {

using namespace testing_support;

class GoldenModel : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { set_compute_threads(2); }
  void SetUp() override {
    golden_ = golden_outputs(GetParam());
    model_ = load_causal_lm(golden_model_dir(GetParam()), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  }
  nlohmann::json golden_;
  std::unique_ptr<CausalLM> model_;
};

double max_abs_diff(const std::vector<float>& a, const nlohmann::json& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) m = std::max(m, std::abs(double(a[i]) - b[i].get<double>()));
  return m;
}

TEST_P(GoldenModel, LastLogitsArgmaxAndEmbeddingsMatchTheReference) {
  c10::NoGradGuard no_grad;
  for (const auto& seq : golden_["sequences"]) {
    auto ids = seq["input_ids"].get<std::vector<std::int64_t>>();
    auto hidden = run_hidden(*model_, ids);
    auto logits = model_->logits(hidden);  // [T, V]
    EXPECT_LT(max_abs_diff(to_vector(logits[-1]), seq["last_logits"]), 1e-4) << "T=" << ids.size();
    EXPECT_LT(max_abs_diff(to_vector(hidden.mean(0)), seq["hidden_mean"]), 1e-4) << "T=" << ids.size();
    const auto fixed = golden_["fixed_id"].get<std::int64_t>();
    for (std::size_t t = 0; t < ids.size(); ++t) {
      const auto& expect = seq["per_position"][t];
      auto row = logits[std::int64_t(t)];
      EXPECT_EQ(row.argmax().item<std::int64_t>(), expect[0].get<std::int64_t>()) << "position " << t;
      EXPECT_NEAR(row.logsumexp(0).item<double>(), expect[1].get<double>(), 1e-4) << "position " << t;
      EXPECT_NEAR(row[fixed].item<double>(), expect[2].get<double>(), 1e-4) << "position " << t;
    }
  }
}

TEST_P(GoldenModel, GreedyContinuationsMatchWithAndWithoutTheCache) {
  c10::NoGradGuard no_grad;
  const int n = golden_["n_new"].get<int>();
  for (const auto& seq : golden_["sequences"]) {
    auto ids = seq["input_ids"].get<std::vector<std::int64_t>>();
    auto expected = seq["greedy"].get<std::vector<std::int64_t>>();
    EXPECT_EQ(greedy_recompute(*model_, ids, n), expected);

    // With the cache: prefill, then one token per step; every step's logits
    // equal those of recomputing the whole sequence.
    const auto T = std::int64_t(ids.size());
    const double rounding = std::max(1e-5, 2 * golden_["fp32_vs_fp64_max_abs_logit_diff"].get<double>());
    KvCache cache = model_->make_cache(1, 4);  // small, to exercise growth
    ForwardInput in{ids_tensor(ids), at::arange(T, at::kLong).view({1, T}), at::ones({1, T}, at::kBool)};
    auto logits = model_->logits(model_->forward(in, &cache)[0][-1]);
    std::vector<std::int64_t> got, seqs = ids;
    for (int i = 0; i < n; ++i) {
      auto recomputed = model_->logits(run_hidden(*model_, seqs)[-1]);
      // Equal up to float32 rounding (which the reference measured for each model).
      EXPECT_LT((logits - recomputed).abs().max().item<double>(), rounding) << "step " << i;
      got.push_back(logits.argmax().item<std::int64_t>());
      seqs.push_back(got.back());
      const std::int64_t pos = std::int64_t(seqs.size()) - 1;
      ForwardInput step{ids_tensor({got.back()}), at::full({1, 1}, pos, at::kLong), at::ones({1, 1}, at::kBool)};
      logits = model_->logits(model_->forward(step, &cache)[0][-1]);
    }
    EXPECT_EQ(got, expected);
    EXPECT_EQ(cache.length(), T + n);
  }
}

TEST_P(GoldenModel, LeftPaddedBatchRowsEqualTheUnpaddedRuns) {
  c10::NoGradGuard no_grad;
  const auto& batch = golden_["batch"];
  auto rows = batch["input_ids"].get<std::vector<std::vector<std::int64_t>>>();
  auto mask = batch["attention_mask"].get<std::vector<std::vector<std::int64_t>>>();
  auto pos = batch["position_ids"].get<std::vector<std::vector<std::int64_t>>>();
  const auto B = std::int64_t(rows.size()), T = std::int64_t(rows[0].size());
  std::vector<std::int64_t> flat_ids, flat_mask, flat_pos;
  for (std::int64_t b = 0; b < B; ++b) {
    flat_ids.insert(flat_ids.end(), rows[b].begin(), rows[b].end());
    flat_mask.insert(flat_mask.end(), mask[b].begin(), mask[b].end());
    flat_pos.insert(flat_pos.end(), pos[b].begin(), pos[b].end());
  }
  auto ids = at::tensor(flat_ids, at::kLong).view({B, T});
  auto valid = at::tensor(flat_mask, at::kLong).view({B, T}).to(at::kBool);
  auto positions = at::tensor(flat_pos, at::kLong).view({B, T});
  // Padding tokens must not matter: use another id there.
  ids = at::where(valid, ids, at::full_like(ids, 3));
  KvCache cache = model_->make_cache(B, T + 16);
  auto logits = model_->logits(model_->forward({ids, positions, valid}, &cache).select(1, T - 1));  // [B, V]
  const int n = golden_["n_new"].get<int>();
  std::vector<std::vector<std::int64_t>> greedy(static_cast<std::size_t>(B));
  auto next_pos = positions.select(1, T - 1).view({B, 1});
  for (int i = 0; i < n; ++i) {
    if (i == 0)
      for (std::int64_t b = 0; b < B; ++b) {
        auto single = model_->logits(run_hidden(*model_, golden_["sequences"][std::size_t(b)]["input_ids"].get<std::vector<std::int64_t>>())[-1]);
        EXPECT_LT((logits[b] - single).abs().max().item<double>(), 1e-5) << "row " << b;
        if (!batch["last_logits"].is_null()) {
          EXPECT_LT(max_abs_diff(to_vector(logits[b]), batch["last_logits"][std::size_t(b)]), 1e-4) << "row " << b;
        }
        EXPECT_EQ(logits[b].argmax().item<std::int64_t>(), batch["last_summary"][std::size_t(b)][0].get<std::int64_t>());
      }
    auto next = logits.argmax(-1);
    for (std::int64_t b = 0; b < B; ++b) greedy[std::size_t(b)].push_back(next[b].item<std::int64_t>());
    next_pos = next_pos + 1;
    logits = model_->logits(model_->forward({next.view({B, 1}), next_pos, at::ones({B, 1}, at::kBool)}, &cache).select(1, 0));
  }
  EXPECT_EQ(greedy, batch["greedy"].get<std::vector<std::vector<std::int64_t>>>());
}

INSTANTIATE_TEST_SUITE_P(Folders, GoldenModel, ::testing::ValuesIn(golden_model_names()), golden_test_name);

}  // namespace
}  // namespace c2s
