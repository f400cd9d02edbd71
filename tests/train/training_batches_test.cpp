// From prompt/response pairs to padded batches: tokenization as the reference
// builds training examples, collation (padding changes no loss), and the
// epoch plan (every example once, seeded, little padding).
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <fstream>
#include <set>

#include "core/error.hpp"
#include "model/golden_models.hpp"
#include "train/batch_plan.hpp"
#include "train/lm_batch.hpp"
#include "train/lm_loss.hpp"
#include "train/training_examples.hpp"

namespace c2s {
namespace {

using namespace testing_support;

std::vector<FormattedPrompt> pairs() {
  return {{"Cell sentence: CD3E CD3D IL7R.\nCell type:", " T cell."},
          {"Cell sentence: MS4A1 CD79A.\nCell type:", " B cell."},
          {"Cell sentence: LYZ S100A8 S100A9 CD14 FCN1 VCAN.\nCell type:", " CD14+ monocyte, classical."},
          {"Genes:", " NK."}};
}

const Tokenizer& neox_tokenizer() {
  static auto t = load_tokenizer(golden_model_dir("neox-tiny"));
  return *t;
}

TEST(TrainingExamples, PromptThenResponseThenEosWithThePromptLength) {
  const auto& tok = neox_tokenizer();
  const auto p = pairs();
  const auto ex = tokenize_examples(p, tok, 0);
  ASSERT_EQ(ex.size(), p.size());
  const auto eos = *tok.special_ids().eos;
  for (std::size_t i = 0; i < p.size(); ++i) {
    auto want = tok.encode(p[i].model_input, true);
    const auto response = tok.encode(p[i].response, false);
    EXPECT_EQ(ex.prompt_tokens(i), std::int64_t(want.size()));
    want.insert(want.end(), response.begin(), response.end());
    want.push_back(eos);
    EXPECT_EQ(std::vector<std::int64_t>(ex.ids(i).begin(), ex.ids(i).end()), std::vector<std::int64_t>(want.begin(), want.end()));
  }
  EXPECT_EQ(ex.truncated(), 0);
}

TEST(TrainingExamples, CutAtTheContextLengthAndCounted) {
  const auto& tok = neox_tokenizer();
  const auto p = pairs();
  const auto full = tokenize_examples(p, tok, 0);
  const auto cut = tokenize_examples(p, tok, 12);
  std::int64_t longer = 0;
  for (std::size_t i = 0; i < p.size(); ++i) {
    EXPECT_EQ(cut.length(i), std::min<std::int64_t>(12, full.length(i)));
    EXPECT_EQ(cut.prompt_tokens(i), std::min<std::int64_t>(12, full.prompt_tokens(i)));
    longer += full.length(i) > 12;
    for (std::int64_t t = 0; t < cut.length(i); ++t) EXPECT_EQ(cut.ids(i)[std::size_t(t)], full.ids(i)[std::size_t(t)]);
  }
  EXPECT_GT(longer, 0);
  EXPECT_EQ(cut.truncated(), longer);
}

TEST(TrainingExamples, TaskExampleFilesNeedBothStringsAndNameTheLine) {
  const auto dir = std::filesystem::path(::testing::TempDir());
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return dir / name;
  };
  auto ok = read_task_examples(write("ok.jsonl", "{\"model_input\":\"a\",\"response\":\"b\",\"task\":\"x\"}\n\n{\"model_input\":\"c\",\"response\":\"d\"}\n"));
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[1].model_input, "c");
  EXPECT_EQ(ok[1].response, "d");
  try {
    read_task_examples(write("bad.jsonl", "{\"model_input\":\"a\",\"response\":\"b\"}\n{\"model_input\":\"a\"}\n"));
    FAIL() << "accepted a line without a response";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("response"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_task_examples(write("junk.jsonl", "{not json\n")), Error);
  EXPECT_THROW(read_task_examples(write("empty.jsonl", "\n")), Error);
}

// Padding must change nothing: the loss of a padded batch is the sum of the
// examples' losses computed one by one without padding, for both loss modes.
TEST(LmBatch, PaddedBatchLossEqualsTheUnpaddedExamplesLosses) {
  set_compute_threads(2);
  c10::NoGradGuard no_grad;
  const auto& tok = neox_tokenizer();
  const auto ex = tokenize_examples(pairs(), tok, 0);
  auto model = load_causal_lm(golden_model_dir("neox-tiny"), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
  const std::vector<std::size_t> members = {2, 0, 3, 1};
  for (LossOn on : {LossOn::Response, LossOn::AllTokens}) {
    const auto batch = collate(ex, members, 1, on, c10::Device(c10::kCPU));
    EXPECT_EQ(batch.padded_tokens, 4 * ex.length(2));
    EXPECT_EQ(batch.real_tokens, ex.total_tokens());
    const auto got = lm_loss_sum(*model, model->forward(batch.input, nullptr), batch.labels);
    EXPECT_EQ(got.tokens, batch.tokens);
    double want = 0;
    std::int64_t want_tokens = 0;
    for (std::size_t m : members) {
      const auto one = collate(ex, std::vector<std::size_t>{m}, 1, on, c10::Device(c10::kCPU));
      EXPECT_EQ(one.padded_tokens, ex.length(m));
      EXPECT_EQ(one.tokens, counted_tokens(ex, m, on));
      // By hand: cross-entropy of each counted next token.
      auto logits = model->logits(run_hidden(*model, std::vector<std::int64_t>(ex.ids(m).begin(), ex.ids(m).end())));
      auto logp = at::log_softmax(logits.to(at::kDouble), -1);
      const std::int64_t first = on == LossOn::Response ? std::max<std::int64_t>(1, ex.prompt_tokens(m)) : 1;
      for (std::int64_t t = first; t < ex.length(m); ++t) {
        want -= logp[t - 1][ex.ids(m)[std::size_t(t)]].item<double>();
        ++want_tokens;
      }
    }
    EXPECT_EQ(got.tokens, want_tokens);
    EXPECT_NEAR(got.sum.item<double>(), want, 1e-4 * std::abs(want));
  }
}

TrainingExamples lengths_examples(const std::vector<std::int64_t>& lengths) {
  TrainingExamples ex;
  for (std::int64_t n : lengths) {
    std::vector<TokenId> prompt(std::size_t(n - 1), 5);
    ex.add(prompt, {}, 0, 0);
  }
  return ex;
}

TEST(BatchPlan, EveryExampleOncePerEpochSeededAndDifferentEachEpoch) {
  std::vector<std::int64_t> lengths;
  for (int i = 0; i < 1000; ++i) lengths.push_back(2 + (i * 37) % 300);
  const auto ex = lengths_examples(lengths);
  BatchPlanOptions o{8, 3, 7, true};
  const auto e0 = plan_epoch(ex, o, 0), again = plan_epoch(ex, o, 0), e1 = plan_epoch(ex, o, 1);
  auto flatten = [](const std::vector<TrainingStep>& steps) {
    std::vector<std::size_t> all;
    for (const auto& s : steps)
      for (const auto& m : s.micro_batches) all.insert(all.end(), m.begin(), m.end());
    return all;
  };
  const auto a = flatten(e0);
  EXPECT_EQ(a, flatten(again));
  EXPECT_NE(a, flatten(e1));
  EXPECT_EQ(std::set<std::size_t>(a.begin(), a.end()).size(), 1000u);
  EXPECT_EQ(a.size(), 1000u);
  EXPECT_EQ(e0.size(), 42u);  // ceil(1000 / 8) = 125 micro-batches, 3 per step
  for (std::size_t s = 0; s + 1 < e0.size(); ++s) EXPECT_EQ(e0[s].micro_batches.size(), 3u);

  // Bucketing: far less padding than the same shuffle without it.
  auto padding = [&](const std::vector<TrainingStep>& steps) {
    std::int64_t pad = 0;
    for (const auto& s : steps)
      for (const auto& m : s.micro_batches) {
        std::int64_t longest = 0, sum = 0;
        for (std::size_t i : m) longest = std::max(longest, ex.length(i)), sum += ex.length(i);
        pad += longest * std::int64_t(m.size()) - sum;
      }
    return pad;
  };
  BatchPlanOptions plain = o;
  plain.bucket_by_length = false;
  EXPECT_LT(padding(e0) * 10, padding(plan_epoch(ex, plain, 0)));

  EXPECT_THROW(plan_epoch(ex, BatchPlanOptions{0, 1, 7, true}, 0), UsageError);
}

}  // namespace
}  // namespace c2s
