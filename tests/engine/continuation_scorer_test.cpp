// Continuation scoring on every golden model: the cached prompt plus
// right-padded candidate batches give the log-likelihoods of running each
// whole sequence without a cache, for any batch size; the best candidate is
// the one the model prefers; bad input is refused before any work.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "engine/continuation_scorer.hpp"
#include "core/error.hpp"
#include "model/golden_models.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;

// Sum of log_softmax over the continuation's tokens, running prompt +
// continuation as one sequence with no cache.
double recomputed_log_likelihood(const CausalLM& model, const std::vector<std::int64_t>& prompt,
                                 const std::vector<std::int64_t>& continuation) {
  std::vector<std::int64_t> all = prompt;
  all.insert(all.end(), continuation.begin(), continuation.end());
  auto log_probs = at::log_softmax(model.logits(run_hidden(model, all)), -1);  // [T, V]
  double sum = 0;
  for (std::size_t k = 0; k < continuation.size(); ++k)
    sum += log_probs[std::int64_t(prompt.size() + k) - 1][continuation[k]].item<double>();
  return sum;
}

class ScorerOnGoldenModel : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { set_compute_threads(2); }
  void SetUp() override {
    golden_ = golden_outputs(GetParam());
    model_ = load_causal_lm(golden_model_dir(GetParam()), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
    for (const auto& seq : golden_["sequences"]) {
      prompts_.push_back(seq["input_ids"].get<std::vector<std::int64_t>>());
      greedy_.push_back(seq["greedy"].get<std::vector<std::int64_t>>());
    }
  }
  // Candidates of several lengths (one token, the golden greedy
  // continuation, ids from anywhere in the vocabulary, a duplicate).
  std::vector<std::vector<std::int64_t>> candidates(std::size_t p) const {
    const std::int64_t V = model_->config().vocab_size;
    const auto& g = greedy_[p];
    return {{g[0]},
            g,
            {V - 1, 3, 7},
            {g[0], g[1], V / 2},
            {11},
            std::vector<std::int64_t>(g.begin(), g.begin() + 5),
            {V / 3, V / 5, V / 7, V / 11, V / 13, V / 17, V / 19},
            {g[0]}};
  }
  nlohmann::json golden_;
  std::unique_ptr<CausalLM> model_;
  std::vector<std::vector<std::int64_t>> prompts_, greedy_;
};

TEST_P(ScorerOnGoldenModel, ScoresEqualTheFullSequenceRunWithoutACacheForAnyBatchSize) {
  c10::NoGradGuard no_grad;
  std::vector<std::vector<std::vector<std::int64_t>>> cands;
  for (std::size_t p = 0; p < prompts_.size(); ++p) cands.push_back(candidates(p));
  ContinuationScorer scorer(*model_);
  std::vector<std::vector<std::vector<ContinuationScore>>> runs;
  for (std::int64_t batch : {1, 3, 16}) runs.push_back(scorer.score(prompts_, cands, batch));
  for (std::size_t p = 0; p < prompts_.size(); ++p) {
    ASSERT_EQ(runs[0][p].size(), cands[p].size());
    for (std::size_t c = 0; c < cands[p].size(); ++c) {
      const double expected = recomputed_log_likelihood(*model_, prompts_[p], cands[p][c]);
      EXPECT_NEAR(runs[0][p][c].log_likelihood, expected, 1e-4) << "prompt " << p << " candidate " << c;
      EXPECT_EQ(runs[0][p][c].tokens, std::int64_t(cands[p][c].size()));
      EXPECT_LT(runs[0][p][c].log_likelihood, 0);
      // Batches pad differently, so the attention products differ in shape:
      // float32 rounding, 1e-6 relative (log-likelihoods of -60 here).
      for (std::size_t r = 1; r < runs.size(); ++r)
        EXPECT_NEAR(runs[r][p][c].log_likelihood, runs[0][p][c].log_likelihood,
                    std::max(1e-5, 1e-6 * std::abs(runs[0][p][c].log_likelihood)))
            << "prompt " << p << " candidate " << c << " run " << r;
    }
    EXPECT_EQ(runs[0][p][0].log_likelihood, runs[0][p][7].log_likelihood);  // the duplicate
  }
  const auto& s = scorer.stats();
  EXPECT_EQ(s.prompts, 3);
  EXPECT_EQ(s.prompt_tokens, 5 + 17 + 40);  // each prompt run once
  EXPECT_EQ(s.continuations, 3 * 8);
}

TEST_P(ScorerOnGoldenModel, BatchesHoldPromptsOfSimilarLength) {
  c10::NoGradGuard no_grad;
  // Prompts of 40, 5 and 17 tokens, two to a batch: in the given order the
  // 40 would share a batch with the 5 (2 x 40 + 17 = 97 positions run); by
  // length it goes with the 17 (2 x 40 + 5 = 85).
  const std::vector<std::vector<std::int64_t>> prompts = {prompts_[2], prompts_[0], prompts_[1]};
  ASSERT_EQ(prompts[0].size(), 40u);
  ASSERT_EQ(prompts[1].size(), 5u);
  ASSERT_EQ(prompts[2].size(), 17u);
  const std::vector<std::vector<std::vector<std::int64_t>>> cands = {candidates(2), candidates(0), candidates(1)};
  ContinuationScorer scorer(*model_);
  const auto got = scorer.score(prompts, cands, 2);
  EXPECT_EQ(scorer.stats().prompt_slots, 2 * 40 + 5);
  EXPECT_EQ(scorer.stats().prompt_tokens, 40 + 5 + 17);
  const auto alone = scorer.score({prompts[1]}, {cands[1]}, 1);
  ASSERT_EQ(got[1].size(), alone[0].size());
  for (std::size_t c = 0; c < alone[0].size(); ++c)
    EXPECT_NEAR(got[1][c].log_likelihood, alone[0][c].log_likelihood, 1e-5) << "candidate " << c;
}

TEST_P(ScorerOnGoldenModel, TheModelsOwnContinuationIsTheBestCandidate) {
  c10::NoGradGuard no_grad;
  for (std::size_t p = 0; p < prompts_.size(); ++p) {
    const auto& g = greedy_[p];
    // One token: the argmax of the last logits beats every other token tried.
    std::vector<std::vector<std::int64_t>> single = {{1}, {g[0]}, {model_->config().vocab_size - 2}, {(g[0] + 1) % 97}};
    // Several tokens: the greedy continuation against the same one with its
    // last token changed (the greedy token is the argmax given that prefix).
    std::vector<std::int64_t> changed(g.begin(), g.begin() + 4);
    changed.back() = (changed.back() + 5) % model_->config().vocab_size;
    std::vector<std::vector<std::int64_t>> multi = {changed, std::vector<std::int64_t>(g.begin(), g.begin() + 4)};
    ContinuationScorer scorer(*model_);
    auto r = scorer.score({prompts_[p], prompts_[p]}, {single, multi}, 2);
    for (std::size_t c = 0; c < single.size(); ++c)
      if (single[c][0] != g[0]) {
        EXPECT_GT(r[0][1].log_likelihood, r[0][c].log_likelihood) << "candidate " << c;
      }
    EXPECT_GT(r[1][1].log_likelihood, r[1][0].log_likelihood);
  }
}

TEST_P(ScorerOnGoldenModel, BFloat16ComputeStaysCloseToFloat32) {
  c10::NoGradGuard no_grad;
  auto bf16 = load_causal_lm(golden_model_dir(GetParam()), ComputeOptions{at::kBFloat16, c10::Device(c10::kCPU)});
  std::vector<std::vector<std::int64_t>> cands = candidates(1);
  auto fp32 = ContinuationScorer(*model_).score({prompts_[1]}, {cands}, 4);
  auto low = ContinuationScorer(*bf16).score({prompts_[1]}, {cands}, 4);
  for (std::size_t c = 0; c < cands.size(); ++c) {
    // bf16 keeps 8 bits of mantissa: a few hundredths per token at these sizes.
    EXPECT_NEAR(low[0][c].log_likelihood, fp32[0][c].log_likelihood, 0.05 * double(cands[c].size()) + 0.05)
        << "candidate " << c;
  }
}

INSTANTIATE_TEST_SUITE_P(Folders, ScorerOnGoldenModel, ::testing::ValuesIn(golden_model_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

class ScorerInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { set_compute_threads(2); }
  void SetUp() override {
    model_ = load_causal_lm(golden_model_dir("gpt2-tiny"), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  }
  std::unique_ptr<CausalLM> model_;
};

TEST_F(ScorerInput, BadPromptsAndCandidatesAreErrorsNamingThem) {
  ContinuationScorer scorer(*model_);
  expect_error([&] { scorer.score({{1, 2}, {3}}, {{{4}}, {{5}, {}}}, 4); }, "prompt 1 candidate 1: no tokens");
  expect_error([&] { scorer.score({{1, 2}, {}}, {{{4}}, {{5}}}, 4); }, "prompt 1: no tokens");
  expect_error([&] { scorer.score({{1, 2}}, {{{4}, {5, 512}}}, 4); },
               "prompt 0 candidate 1: token id 512 is outside the model's vocabulary of 512");
  expect_error([&] { scorer.score({{-1}}, {{{4}}}, 4); }, "prompt 0: token id -1");
  expect_error([&] { scorer.score({{1}}, {}, 4); }, "1 prompts but 0 lists");
  // GPT-2's positions are learned: 120 + 10 - 1 of its 128 is too many.
  std::vector<std::int64_t> long_prompt(120, 5);
  expect_error([&] { scorer.score({long_prompt}, {{{1}, std::vector<std::int64_t>(10, 2)}}, 4); },
               "prompt 0 candidate 1: needs 129 positions, the model has 128");
  EXPECT_EQ(scorer.score({long_prompt}, {{std::vector<std::int64_t>(9, 2)}}, 4)[0].size(), 1u);
  EXPECT_THROW(scorer.score({{1}}, {{{2}}}, 0), UsageError);
}

TEST_F(ScorerInput, APromptWithoutCandidatesGetsAnEmptyListAndIsNotRun) {
  ContinuationScorer scorer(*model_);
  auto r = scorer.score({{1, 2, 3}, {4, 5}}, {{}, {{6, 7}}}, 4);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_TRUE(r[0].empty());
  ASSERT_EQ(r[1].size(), 1u);
  EXPECT_EQ(scorer.stats().prompt_tokens, 2);
  EXPECT_EQ(scorer.stats().continuation_tokens, 2);
}

}  // namespace
}  // namespace c2s
