// Prompt embeddings on every golden model: mean pooling reproduces the
// reference's hidden_mean, batching (left padding, sorting by length) changes
// nothing, last-token pooling is the last position's hidden state.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "engine/prompt_embedder.hpp"
#include "core/error.hpp"
#include "model/golden_models.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;

class EmbedderOnGoldenModel : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { set_compute_threads(2); }
  void SetUp() override {
    golden_ = golden_outputs(GetParam());
    model_ = load_causal_lm(golden_model_dir(GetParam()), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
    // Not sorted by length, and one prompt twice: results come back in input order.
    for (int s : {1, 0, 2, 1}) prompts_.push_back(golden_["sequences"][s]["input_ids"].get<std::vector<std::int64_t>>());
    sequence_of_ = {1, 0, 2, 1};
  }
  nlohmann::json golden_;
  std::unique_ptr<CausalLM> model_;
  std::vector<std::vector<std::int64_t>> prompts_;
  std::vector<int> sequence_of_;
};

double max_abs_diff(const at::Tensor& a, const nlohmann::json& b) {
  auto v = to_vector(a);
  EXPECT_EQ(v.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < v.size() && i < b.size(); ++i) m = std::max(m, std::abs(double(v[i]) - b[i].get<double>()));
  return m;
}

TEST_P(EmbedderOnGoldenModel, MeanPoolingMatchesTheReferenceBatchedOrNot) {
  PromptEmbedder embedder(*model_);
  auto batched = embedder.embed(prompts_, Pooling::Mean, 4);
  EXPECT_EQ(embedder.stats().prompts, 4);
  EXPECT_EQ(embedder.stats().tokens, 17 + 5 + 40 + 17);
  EXPECT_EQ(embedder.stats().padded_tokens, 4 * 40);
  auto single = embedder.embed(prompts_, Pooling::Mean, 1);
  auto pairs = embedder.embed(prompts_, Pooling::Mean, 3);
  ASSERT_EQ(batched.sizes(), at::IntArrayRef({4, model_->config().hidden_size}));
  EXPECT_EQ(batched.scalar_type(), at::kFloat);
  EXPECT_NO_THROW(batched.mul_(1));  // an ordinary tensor, not an inference-mode one
  for (std::int64_t i = 0; i < 4; ++i) {
    const auto& seq = golden_["sequences"][std::size_t(sequence_of_[std::size_t(i)])];
    EXPECT_LT(max_abs_diff(batched[i], seq["hidden_mean"]), 1e-4) << "prompt " << i;
    EXPECT_LT((batched[i] - single[i]).abs().max().item<double>(), 1e-5) << "prompt " << i;
    EXPECT_LT((pairs[i] - single[i]).abs().max().item<double>(), 1e-5) << "prompt " << i;
  }
}

TEST_P(EmbedderOnGoldenModel, LastTokenPoolingIsTheHiddenStateAtTheLastPosition) {
  c10::NoGradGuard no_grad;
  PromptEmbedder embedder(*model_);
  auto batched = embedder.embed(prompts_, Pooling::LastToken, 4);
  auto single = embedder.embed(prompts_, Pooling::LastToken, 1);
  for (std::int64_t i = 0; i < 4; ++i) {
    auto expected = run_hidden(*model_, prompts_[std::size_t(i)])[-1].to(at::kFloat);
    EXPECT_LT((single[i] - expected).abs().max().item<double>(), 1e-6) << "prompt " << i;
    EXPECT_LT((batched[i] - expected).abs().max().item<double>(), 1e-5) << "prompt " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Folders, EmbedderOnGoldenModel, ::testing::ValuesIn(golden_model_names()),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(PromptEmbedder, BadPromptsAreErrorsNamingThem) {
  auto model = load_causal_lm(golden_model_dir("gpt2-tiny"), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  PromptEmbedder embedder(*model);
  expect_error([&] { embedder.embed({{1, 2}, {}}, Pooling::Mean, 2); }, "prompt 1: no tokens");
  expect_error([&] { embedder.embed({{1, 600}}, Pooling::Mean, 2); },
               "prompt 0: token id 600 is outside the model's vocabulary of 512");
  expect_error([&] { embedder.embed({{1}, std::vector<std::int64_t>(129, 3)}, Pooling::Mean, 2); },
               "prompt 1: needs 129 positions, the model has 128");
  EXPECT_EQ(embedder.embed({std::vector<std::int64_t>(128, 3)}, Pooling::Mean, 2).size(0), 1);
  EXPECT_EQ(embedder.embed({}, Pooling::Mean, 2).size(0), 0);
  EXPECT_THROW(embedder.embed({{1}}, Pooling::Mean, 0), UsageError);
}

TEST(PromptEmbedder, PoolingNames) {
  EXPECT_EQ(parse_pooling("mean"), Pooling::Mean);
  EXPECT_EQ(parse_pooling("last"), Pooling::LastToken);
  EXPECT_EQ(pooling_name(Pooling::LastToken), "last");
  expect_error([] { parse_pooling("max"); }, "unknown pooling 'max' (expected mean or last)");
  EXPECT_THROW(parse_pooling("Mean"), UsageError);
}

}  // namespace
}  // namespace c2s
