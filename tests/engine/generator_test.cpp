// Batched generation against a plain loop that re-runs the whole sequence
// without a cache at every step (and against the golden models' float64
// greedy tokens): for any batch size, with or without prefix sharing, with
// rows finishing early, with a constraining hook, EOS and stop strings; and
// sampled outputs that depend only on the seed and the prompt's index.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "engine/generator.hpp"
#include "model/golden_models.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using namespace testing_support;
using Ids = std::vector<std::int64_t>;
using Prompts = std::vector<Ids>;

// Below this lead of the best token over the next, float32 rounding of a
// cached run may legitimately pick the other one.
constexpr double kNearTie = 1e-4;

std::unique_ptr<CausalLM> load_model(const std::string& name) {
  return load_causal_lm(golden_model_dir(name), ComputeOptions{at::kFloat, c10::Device(c10::kCPU)});
}

Ids cat(Ids a, const Ids& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}
Ids slice(const Ids& v, std::size_t from, std::size_t to) {
  return Ids(v.begin() + std::ptrdiff_t(from), v.begin() + std::ptrdiff_t(to));
}

// Last-position logits of `ids` run as one sequence, no cache.
std::vector<float> last_logits(const CausalLM& model, const Ids& ids) {
  return to_vector(model.logits(run_hidden(model, ids)[-1]));
}

struct Step {
  std::int64_t token = -1;
  double margin = 0;  // lead over the next best admitted token
};
// The best admitted token, ties to the lowest id.
Step best(const std::vector<float>& scores, const std::function<bool(std::int64_t)>& admitted = {}) {
  Step s;
  double second = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (admitted && !admitted(std::int64_t(i))) continue;
    if (s.token < 0 || scores[i] > scores[std::size_t(s.token)]) {
      if (s.token >= 0) second = std::max(second, double(scores[std::size_t(s.token)]));
      s.token = std::int64_t(i);
    } else {
      second = std::max(second, double(scores[i]));
    }
  }
  s.margin = double(scores[std::size_t(s.token)]) - second;
  return s;
}

struct Reference {
  Ids tokens;
  std::vector<double> margins;
  double min_margin() const { return margins.empty() ? 1e9 : *std::min_element(margins.begin(), margins.end()); }
};
// Which ids may follow `generated`.
using Admit = std::function<bool(const Ids& generated, std::int64_t id)>;

// Greedy decoding re-running prompt + tokens so far at every step. With
// `penalty` != 1 the CTRL repetition penalty (positive scores divided,
// negative ones multiplied, once per distinct token) goes on the prompt's
// and the generated tokens, or on the generated ones only.
Reference recompute_greedy(const CausalLM& model, const Ids& prompt, int n, double penalty = 1.0,
                           bool penalise_prompt = true, const Admit& admit = {}) {
  c10::InferenceMode inference;
  Reference r;
  Ids seq = prompt;
  for (int i = 0; i < n; ++i) {
    auto scores = last_logits(model, seq);
    if (penalty != 1.0) {
      std::set<std::int64_t> seen(seq.begin() + std::ptrdiff_t(penalise_prompt ? 0 : prompt.size()), seq.end());
      for (auto id : seen) {
        float& s = scores[std::size_t(id)];
        s = s < 0 ? float(double(s) * penalty) : float(double(s) / penalty);
      }
    }
    std::function<bool(std::int64_t)> admitted;
    if (admit) admitted = [&](std::int64_t id) { return admit(r.tokens, id); };
    const Step s = best(scores, admitted);
    r.tokens.push_back(s.token);
    r.margins.push_back(s.margin);
    seq.push_back(s.token);
  }
  return r;
}

// Sampled decoding re-running the whole sequence at every step, prompt
// `index` drawing from its own stream (seed, index) as the header promises.
Ids recompute_sampled(const CausalLM& model, const Ids& prompt, std::size_t index, const SamplingOptions& o, int n) {
  c10::InferenceMode inference;
  TokenSampler sampler(o, index);
  Ids seq = prompt;
  for (int i = 0; i < n; ++i) {
    auto scores = last_logits(model, seq);
    seq.push_back(sampler.choose(scores, seq, {}));
  }
  return Ids(seq.begin() + std::ptrdiff_t(prompt.size()), seq.end());
}

// `got` equals the reference up to the first step where they differ, which
// must be a near tie of the reference (everything after it may differ).
// Returns false when it stopped at such a tie.
bool expect_tokens_match(const Ids& got, const Reference& ref, const std::string& what) {
  EXPECT_EQ(got.size(), ref.tokens.size()) << what;
  for (std::size_t i = 0; i < std::min(got.size(), ref.tokens.size()); ++i) {
    if (got[i] == ref.tokens[i]) continue;
    EXPECT_LT(ref.margins[i], kNearTie) << what << ": step " << i << " gave " << got[i] << ", the recompute "
                                        << ref.tokens[i] << " (lead " << ref.margins[i] << ")";
    return false;
  }
  return true;
}

std::string show(const Ids& v) {
  std::string s = "[";
  for (auto x : v) {
    if (s.size() > 1) s += ',';
    s += std::to_string(x);
  }
  return s + "]";
}

Prompts golden_sequences(const nlohmann::json& golden) {
  Prompts s;
  for (const auto& seq : golden["sequences"]) s.push_back(seq["input_ids"].get<Ids>());
  return s;
}

// Lengths 1 to 40 in no order; one prompt a prefix of two others, one twice.
Prompts mixed_prompts(const Prompts& s) {
  const Ids head = slice(s[2], 0, 12);
  return {s[0], s[1], s[2], {s[1][0]}, cat(head, s[0]), cat(head, {s[1][4], s[1][5]}), head, s[1]};
}

// Prompts that share their first 10 tokens (a task template), then differ.
Prompts template_prompts(const Prompts& s) {
  const Ids t = slice(s[2], 0, 10);
  return {cat(t, s[0]), cat(t, slice(s[1], 0, 3)), cat(t, {s[1][5]}), cat(t, s[1]), cat(t, slice(s[2], 20, 30))};
}

GenerationOptions greedy_options(std::int64_t max_new, std::int64_t batch = 16, bool share = true) {
  GenerationOptions o;
  o.max_new_tokens = max_new;
  o.batch_size = batch;
  o.share_prefix = share;
  return o;
}

// One thread: these models are too small to gain from a second, and on a
// busy two-core machine OpenMP's barriers then cost more than the work.
void use_one_thread() { set_compute_threads(1); }

class GeneratorOnGoldenModel : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() { use_one_thread(); }
  void SetUp() override {
    golden_ = golden_outputs(GetParam());
    model_ = load_model(GetParam());
    seqs_ = golden_sequences(golden_);
  }
  nlohmann::json golden_;
  std::unique_ptr<CausalLM> model_;
  Prompts seqs_;
};

TEST_P(GeneratorOnGoldenModel, GreedyEqualsRecomputingTheWholeSequenceForAnyBatchSizeAndPrefixSharing) {
  const int n = 16;
  const std::vector<std::pair<std::string, Prompts>> sets = {{"mixed", mixed_prompts(seqs_)},
                                                             {"template", template_prompts(seqs_)}};
  // (Batch size 1 never shares: one row has nothing to share with.)
  const std::vector<std::pair<std::int64_t, bool>> mixed_runs = {
      {1, true}, {2, true}, {2, false}, {16, true}, {16, false}};
  const std::vector<std::pair<std::int64_t, bool>> template_runs = {{2, true}, {16, true}, {16, false}};
  int ties = 0, compared = 0;  // comparisons cut short by a near tie, and all of them
  for (const auto& [set_name, prompts] : sets) {
    std::vector<Reference> refs;
    for (const auto& p : prompts) refs.push_back(recompute_greedy(*model_, p, n));
    for (const auto& [batch, share] : set_name == "mixed" ? mixed_runs : template_runs) {
      Generator generator(*model_);
      auto out = generator.generate(prompts, greedy_options(n, batch, share));
      ASSERT_EQ(out.size(), prompts.size());
      for (std::size_t i = 0; i < prompts.size(); ++i) {
        const std::string what = set_name + " prompt " + std::to_string(i) + " batch " + std::to_string(batch) +
                                 (share ? " shared" : " unshared");
        ties += !expect_tokens_match(out[i].tokens, refs[i], what);
        ++compared;
        EXPECT_EQ(out[i].finish_reason, "length") << what;
      }
      // The template set really shares its prefix when asked to.
      if (set_name == "template" && share && batch > 1) {
        EXPECT_GT(generator.stats().shared_prefix_tokens, 0);
      }
      if (!share || batch == 1) {
        EXPECT_EQ(generator.stats().shared_prefix_tokens, 0);
      }
      // The golden sequences (the mixed set's first three) against the
      // independent float64 reference's greedy tokens.
      if (set_name == "mixed" && batch == 16 && share) {
        for (std::size_t s = 0; s < 3; ++s) {
          const auto& g = golden_["sequences"][s];
          Reference golden{g["greedy"].get<Ids>(), g["greedy_margins"].get<std::vector<double>>()};
          expect_tokens_match(out[s].tokens, golden, "golden sequence " + std::to_string(s));
        }
      }
    }
  }
  // Near ties may excuse a few rows, not so many that the test proves little.
  EXPECT_LE(ties * 10, compared) << ties << " of " << compared << " comparisons stopped at a near tie";
}

INSTANTIATE_TEST_SUITE_P(Folders, GeneratorOnGoldenModel, ::testing::ValuesIn(golden_model_names()), golden_test_name);

// One golden folder per architecture (the others differ from these in
// stored precision or vocabulary size only).
class GeneratorOnEachArchitecture : public GeneratorOnGoldenModel {};

TEST_P(GeneratorOnEachArchitecture, StopsWhereTransformersWouldAtTheFoldersEndOfSequenceToken) {
  // golden.json's greedy_first_eos_index: where generate() with the folder's
  // generation config stops (and keeps the token).
  GenerationOptions o = greedy_options(16, 2);
  o.eos_ids = model_->config().eos_token_ids;
  ASSERT_FALSE(o.eos_ids.empty());
  auto out = Generator(*model_).generate(seqs_, o);
  for (std::size_t s = 0; s < 3; ++s) {
    const auto& g = golden_["sequences"][s];
    Reference golden{g["greedy"].get<Ids>(), g["greedy_margins"].get<std::vector<double>>()};
    const auto eos_at = g["greedy_first_eos_index"].get<std::int64_t>();
    if (eos_at >= 0) {
      golden.tokens.resize(std::size_t(eos_at + 1));
      golden.margins.resize(std::size_t(eos_at + 1));
    }
    expect_tokens_match(out[s].tokens, golden, "sequence " + std::to_string(s));
    EXPECT_EQ(out[s].finish_reason, eos_at >= 0 ? "eos" : "length") << "sequence " << s;
  }
}

TEST_P(GeneratorOnEachArchitecture, SampledOutputsDependOnlyOnTheSeedAndThePromptIndex) {
  GenerationOptions o;
  o.max_new_tokens = 8;
  o.sampling.do_sample = true;
  o.sampling.temperature = 0.9;
  o.sampling.top_k = 40;
  o.sampling.top_p = 0.95;
  o.sampling.repetition_penalty = 1.2;
  o.sampling.seed = 2024;
  const Prompts prompts = mixed_prompts(seqs_);
  std::vector<Ids> expected;
  for (std::size_t i = 0; i < prompts.size(); ++i)
    expected.push_back(recompute_sampled(*model_, prompts[i], i, o.sampling, int(o.max_new_tokens)));
  for (const auto& [batch, share] :
       std::vector<std::pair<std::int64_t, bool>>{{1, true}, {3, true}, {16, true}, {16, false}}) {
    o.batch_size = batch;
    o.share_prefix = share;
    auto out = Generator(*model_).generate(prompts, o);
    for (std::size_t i = 0; i < prompts.size(); ++i)
      EXPECT_EQ(out[i].tokens, expected[i]) << "prompt " << i << " batch " << batch << (share ? " shared" : "");
  }
  // Prompt 4 among other prompts (other lengths, so other batches and
  // padding, and more of them) keeps its tokens.
  Prompts others = prompts;
  for (std::size_t i = 0; i < others.size(); ++i)
    if (i != 4) std::reverse(others[i].begin(), others[i].end());
  others[0] = {seqs_[2][7]};
  others.push_back(seqs_[2]);
  others.push_back(slice(seqs_[1], 2, 9));
  o.batch_size = 3;
  auto out = Generator(*model_).generate(others, o);
  EXPECT_EQ(out[4].tokens, expected[4]);
  // Really sampled: another seed, and greedy decoding, give other tokens.
  o.sampling.seed = 2025;
  auto reseeded = Generator(*model_).generate(prompts, o);
  o.sampling.do_sample = false;
  auto greedy = Generator(*model_).generate(prompts, o);
  int differ_seed = 0, differ_greedy = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    differ_seed += reseeded[i].tokens != expected[i];
    differ_greedy += greedy[i].tokens != expected[i];
  }
  EXPECT_GE(differ_seed, 4);
  EXPECT_GE(differ_greedy, 4);
}

INSTANTIATE_TEST_SUITE_P(Folders, GeneratorOnEachArchitecture,
                         ::testing::Values("gemma2-tiny", "gpt2-tiny", "neox-tiny-seq"), golden_test_name);

// One model (GPT-NeoX, sequential residual, vocabulary 1024) for the
// features on top of plain decoding.
class GeneratorFeatures : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { use_one_thread(); }
  void SetUp() override {
    model_ = load_model("neox-tiny-seq");
    V_ = model_->config().vocab_size;
    prompts_ = mixed_prompts(golden_sequences(golden_outputs("neox-tiny-seq")));
  }
  // Greedy references whose steps are all clear of near ties (so the
  // expectations below are exact).
  std::vector<Reference> references(int n, double penalty = 1.0, bool penalise_prompt = true, const Admit& admit = {}) {
    return references_of(prompts_, n, penalty, penalise_prompt, admit);
  }
  std::vector<Reference> references_of(const Prompts& prompts, int n, double penalty = 1.0, bool penalise_prompt = true,
                                       const Admit& admit = {}) {
    std::vector<Reference> refs;
    for (std::size_t i = 0; i < prompts.size(); ++i) {
      refs.push_back(recompute_greedy(*model_, prompts[i], n, penalty, penalise_prompt, admit));
      EXPECT_GT(refs.back().min_margin(), kNearTie) << "prompt " << i << ": a near tie; choose other test prompts";
    }
    return refs;
  }
  std::unique_ptr<CausalLM> model_;
  std::int64_t V_ = 0;
  Prompts prompts_;
};

TEST_F(GeneratorFeatures, TheAllowedTokensHookRestrictsEveryStepAndSeesItsPromptAndItsTokens) {
  // A small set that includes tokens the model prefers anyway (466, 713);
  // each may be used once.
  const std::set<std::int64_t> allowed_set = {3, 17, 64, 100, 255, 466, 713, 900};
  std::map<std::size_t, std::vector<Ids>> calls;
  bool all_ones = true;
  AllowedTokens hook = [&](std::size_t prompt, std::span<const std::int64_t> generated,
                           std::span<std::uint8_t> allowed) {
    EXPECT_EQ(std::int64_t(allowed.size()), V_);
    all_ones = all_ones && std::all_of(allowed.begin(), allowed.end(), [](std::uint8_t f) { return f == 1; });
    calls[prompt].emplace_back(generated.begin(), generated.end());
    std::fill(allowed.begin(), allowed.end(), 0);
    for (auto id : allowed_set)
      if (std::find(generated.begin(), generated.end(), id) == generated.end()) allowed[std::size_t(id)] = 1;
  };
  const int n = 6;
  const auto refs = references(n, 1.0, true, [&](const Ids& generated, std::int64_t id) {
    return allowed_set.count(id) && std::find(generated.begin(), generated.end(), id) == generated.end();
  });
  for (std::int64_t batch : {16, 3}) {
    calls.clear();
    auto out = Generator(*model_).generate(prompts_, greedy_options(n, batch), hook);
    EXPECT_TRUE(all_ones) << "the mask is not all 1 on entry";
    EXPECT_EQ(calls.size(), prompts_.size());
    for (std::size_t i = 0; i < prompts_.size(); ++i) {
      const auto& t = out[i].tokens;
      EXPECT_EQ(t, refs[i].tokens) << "prompt " << i << " batch " << batch;
      ASSERT_EQ(t.size(), std::size_t(n));
      for (auto id : t) EXPECT_TRUE(allowed_set.count(id)) << "prompt " << i << ": token " << id << " is not allowed";
      EXPECT_EQ(std::set<std::int64_t>(t.begin(), t.end()).size(), t.size()) << "prompt " << i << " repeats a token";
      // One call per token, each with the tokens before it.
      ASSERT_EQ(calls[i].size(), std::size_t(n)) << "prompt " << i;
      for (std::size_t k = 0; k < calls[i].size(); ++k)
        EXPECT_EQ(calls[i][k], slice(t, 0, k)) << "prompt " << i << " call " << k;
    }
  }
  // Sampled, the hook binds just the same.
  GenerationOptions o = greedy_options(n, 4);
  o.sampling.do_sample = true;
  o.sampling.seed = 5;
  o.sampling.temperature = 2.0;
  o.sampling.top_k = 0;
  auto out = Generator(*model_).generate(prompts_, o, hook);
  for (std::size_t i = 0; i < prompts_.size(); ++i) {
    const auto& t = out[i].tokens;
    for (auto id : t) EXPECT_TRUE(allowed_set.count(id)) << "prompt " << i << ": token " << id;
    EXPECT_EQ(std::set<std::int64_t>(t.begin(), t.end()).size(), t.size()) << "prompt " << i;
  }
  // A mask that allows nothing is an error naming the problem.
  AllowedTokens nothing_at_3 = [](std::size_t, std::span<const std::int64_t> generated,
                                  std::span<std::uint8_t> allowed) {
    if (generated.size() == 3) std::fill(allowed.begin(), allowed.end(), 0);
  };
  expect_error([&] { Generator(*model_).generate(prompts_, greedy_options(n), nothing_at_3); }, "allows no token");
}

TEST_F(GeneratorFeatures, ARowEndsAfterAnEndOfSequenceTokenWhichItKeepsWhileTheOthersGoOn) {
  const int n = 12;
  const auto refs = references(n);
  const std::vector<Ids> eos_sets = {{refs[0].tokens[2]}, {refs[0].tokens[2], refs[2].tokens[5]}};
  for (const auto& eos : eos_sets) {
    std::vector<Generation> expected;
    int stopped = 0;
    for (const auto& r : refs) {
      auto it = std::find_if(r.tokens.begin(), r.tokens.end(),
                             [&](std::int64_t t) { return std::find(eos.begin(), eos.end(), t) != eos.end(); });
      if (it == r.tokens.end()) {
        expected.push_back({r.tokens, "length"});
      } else {
        expected.push_back({Ids(r.tokens.begin(), it + 1), "eos"});
        ++stopped;
      }
    }
    ASSERT_GT(stopped, 0);
    ASSERT_LT(stopped, int(refs.size())) << "every row stops: choose another end-of-sequence token";
    for (std::int64_t batch : {16, 3}) {
      GenerationOptions o = greedy_options(n, batch);
      o.eos_ids = eos;
      auto out = Generator(*model_).generate(prompts_, o);
      for (std::size_t i = 0; i < prompts_.size(); ++i) {
        EXPECT_EQ(out[i].tokens, expected[i].tokens) << "prompt " << i << " eos " << show(eos) << " batch " << batch;
        EXPECT_EQ(out[i].finish_reason, expected[i].finish_reason) << "prompt " << i << " eos " << show(eos);
      }
    }
  }
}

TEST_F(GeneratorFeatures, RowsLeavingTheBatchDoNotChangeTheOthers) {
  const int n = 12;
  const auto refs = references(n);
  // An end-of-sequence id the model never picks here, forced by the hook on
  // some rows after a given number of tokens (row 5 at once).
  std::set<std::int64_t> used;
  for (const auto& r : refs) used.insert(r.tokens.begin(), r.tokens.end());
  std::int64_t eos = 1;
  while (used.count(eos)) ++eos;
  const std::map<std::size_t, std::size_t> stop_after = {{0, 1}, {3, 4}, {5, 0}, {7, 8}, {2, 10}};
  AllowedTokens hook = [&](std::size_t prompt, std::span<const std::int64_t> generated,
                           std::span<std::uint8_t> allowed) {
    auto it = stop_after.find(prompt);
    if (it != stop_after.end() && generated.size() == it->second) {
      std::fill(allowed.begin(), allowed.end(), 0);
      allowed[std::size_t(eos)] = 1;
    }
  };
  for (std::int64_t batch : {16, 3, 1})
    for (bool share : {true, false}) {
      GenerationOptions o = greedy_options(n, batch, share);
      o.eos_ids = {eos};
      auto out = Generator(*model_).generate(prompts_, o, hook);
      for (std::size_t i = 0; i < prompts_.size(); ++i) {
        auto it = stop_after.find(i);
        const std::string what = "prompt " + std::to_string(i) + " batch " + std::to_string(batch);
        if (it == stop_after.end()) {
          EXPECT_EQ(out[i].tokens, refs[i].tokens) << what;
          EXPECT_EQ(out[i].finish_reason, "length") << what;
        } else {
          EXPECT_EQ(out[i].tokens, cat(slice(refs[i].tokens, 0, it->second), {eos})) << what;
          EXPECT_EQ(out[i].finish_reason, "eos") << what;
        }
      }
    }
}

TEST_F(GeneratorFeatures, AStopStringEndsARowAtTheFirstTokenWhoseTextContainsIt) {
  // One letter per token, so that a stop string can span tokens.
  auto letters = [](std::span<const std::int64_t> ids) {
    std::string s;
    for (auto id : ids) s += char('a' + id % 26);
    return s;
  };
  TokenDecoder decoder = letters;
  const int n = 12;
  const auto refs = references(n);
  // Letters 3-4 of prompt 0's text (two tokens), letters 6-8 of prompt 3's.
  const std::vector<std::vector<std::string>> stop_sets = {
      {letters(refs[0].tokens).substr(3, 2)},
      {letters(refs[0].tokens).substr(3, 2), letters(refs[3].tokens).substr(6, 3)}};
  for (const auto& stops : stop_sets) {
    std::vector<Generation> expected;
    int stopped = 0;
    for (const auto& r : refs) {
      Generation g{r.tokens, "length"};
      for (std::size_t k = 1; k <= r.tokens.size(); ++k) {
        const std::string text = letters(std::span(r.tokens).first(k));
        if (std::any_of(stops.begin(), stops.end(), [&](const auto& s) { return text.find(s) != std::string::npos; })) {
          g = {slice(r.tokens, 0, k), "stop_string"};
          ++stopped;
          break;
        }
      }
      expected.push_back(g);
    }
    ASSERT_GE(stopped, int(stops.size()));
    ASSERT_LT(stopped, int(refs.size()));
    for (std::int64_t batch : {16, 2}) {
      GenerationOptions o = greedy_options(n, batch);
      o.stop_strings = stops;
      auto out = Generator(*model_).generate(prompts_, o, {}, decoder);
      for (std::size_t i = 0; i < prompts_.size(); ++i) {
        EXPECT_EQ(out[i].tokens, expected[i].tokens) << "prompt " << i << " batch " << batch;
        EXPECT_EQ(out[i].finish_reason, expected[i].finish_reason) << "prompt " << i;
      }
    }
  }
  // The text is the row's generated text: a stop string found only in a
  // prompt's text ends nothing (nor does it in transformers, which looks at
  // the end of the sequence).
  std::string in_prompt;
  const std::string prompt_text = letters(prompts_[2]);
  for (std::size_t at = 0; at + 3 <= prompt_text.size() && in_prompt.empty(); ++at) {
    const std::string s = prompt_text.substr(at, 3);
    if (std::none_of(refs.begin(), refs.end(),
                     [&](const Reference& r) { return letters(r.tokens).find(s) != std::string::npos; }))
      in_prompt = s;
  }
  ASSERT_FALSE(in_prompt.empty());
  {
    GenerationOptions o = greedy_options(n);
    o.stop_strings = {in_prompt};
    auto out = Generator(*model_).generate(prompts_, o, {}, decoder);
    for (std::size_t i = 0; i < prompts_.size(); ++i) {
      EXPECT_EQ(out[i].tokens, refs[i].tokens) << "prompt " << i << " stop " << in_prompt;
      EXPECT_EQ(out[i].finish_reason, "length") << "prompt " << i;
    }
  }
  // Stop strings need a decoder; an empty one is impossible.
  GenerationOptions o = greedy_options(n);
  o.stop_strings = {"ab"};
  EXPECT_THROW(Generator(*model_).generate(prompts_, o), UsageError);
  o.stop_strings = {"ab", ""};
  EXPECT_THROW(Generator(*model_).generate(prompts_, o, {}, decoder), UsageError);
}

TEST_F(GeneratorFeatures, TheRepetitionPenaltyCoversThePromptAndTheGeneratedTokens) {
  const int n = 8;
  // Prompts that already hold the tokens the model goes on to prefer (their
  // own greedy continuation), so that penalising the prompt matters.
  const auto plain_refs = references(6);
  Prompts prompts;
  for (std::size_t i = 0; i < prompts_.size(); ++i) prompts.push_back(cat(prompts_[i], plain_refs[i].tokens));
  const auto with_prompt = references_of(prompts, n, 1.5, true);
  // The cases must tell the variants apart for the test to mean anything.
  const auto plain = references_of(prompts, n);
  std::vector<Reference> generated_only;
  for (const auto& p : prompts) generated_only.push_back(recompute_greedy(*model_, p, n, 1.5, false));
  int differs_plain = 0, differs_generated_only = 0;
  for (std::size_t i = 0; i < prompts.size(); ++i) {
    differs_plain += with_prompt[i].tokens != plain[i].tokens;
    differs_generated_only += with_prompt[i].tokens != generated_only[i].tokens;
  }
  ASSERT_GT(differs_plain, 0);
  ASSERT_GT(differs_generated_only, 0);
  for (std::int64_t batch : {16, 3}) {
    GenerationOptions o = greedy_options(n, batch);
    o.sampling.repetition_penalty = 1.5;
    auto out = Generator(*model_).generate(prompts, o);
    for (std::size_t i = 0; i < prompts.size(); ++i)
      EXPECT_EQ(out[i].tokens, with_prompt[i].tokens) << "prompt " << i << " batch " << batch;
  }
}

TEST_F(GeneratorFeatures, StatsCountTokensRunWithASharedPrefixOncePerBatch) {
  // Five prompts of 10 shared tokens then tails whose first ids all differ.
  const Ids shared = slice(prompts_[2], 0, 10);
  const Prompts prompts = {cat(shared, {3, 8, 9}), cat(shared, {4}), cat(shared, cat({5}, prompts_[0])),
                           cat(shared, {6, 1, 2, 3, 4, 5, 6, 7}), cat(shared, {7, 7})};
  std::int64_t total = 0;
  for (const auto& p : prompts) total += std::int64_t(p.size());
  const std::int64_t N = 5, n = 6;
  struct Case {
    std::int64_t batch;
    bool share;
    std::int64_t shared_tokens;  // 10 per prompt beyond the first of each batch of two or more
  };
  for (const Case& c : {Case{16, true, 10 * (N - 1)}, Case{16, false, 0}, Case{2, true, 10 * (N - 3)},
                        Case{4, true, 10 * (N - 2)}, Case{1, true, 0}}) {
    Generator generator(*model_);
    auto out = generator.generate(prompts, greedy_options(n, c.batch, c.share));
    const auto& s = generator.stats();
    const std::string what = "batch " + std::to_string(c.batch) + (c.share ? " shared" : "");
    EXPECT_EQ(s.prompts, N) << what;
    EXPECT_EQ(s.shared_prefix_tokens, c.shared_tokens) << what;
    EXPECT_EQ(s.prefill_tokens, total - c.shared_tokens) << what;
    EXPECT_EQ(s.decode_tokens, N * (n - 1)) << what;
    EXPECT_GT(s.prefill_seconds, 0) << what;
    EXPECT_GT(s.decode_seconds, 0) << what;
  }
  // Rows ending early: each row's tokens after its first are decode tokens.
  GenerationOptions o = greedy_options(12, 16, true);
  Generator generator(*model_);
  auto plain = generator.generate(prompts, o);
  o.eos_ids = {plain[0].tokens[1], plain[3].tokens[4]};
  auto out = generator.generate(prompts, o);
  std::int64_t decode = 0;
  for (const auto& g : out) decode += std::int64_t(g.tokens.size()) - 1;
  EXPECT_LT(decode, N * 11);
  EXPECT_EQ(generator.stats().decode_tokens, decode);
  EXPECT_EQ(generator.stats().prefill_tokens, total - 10 * (N - 1));  // the second call's own counts
  // No prompts: nothing to do.
  EXPECT_TRUE(generator.generate({}, o).empty());
  EXPECT_EQ(generator.stats().prompts, 0);
  EXPECT_EQ(generator.stats().prefill_tokens, 0);
}

TEST_F(GeneratorFeatures, ImpossibleOptionsAndPromptsAreRefusedBeforeAnyWork) {
  EXPECT_NO_THROW(GenerationOptions{}.validate());
  auto bad = [](auto change) {
    GenerationOptions o;
    change(o);
    return o;
  };
  const std::vector<std::pair<std::string, GenerationOptions>> cases = {
      {"max new tokens 0", bad([](auto& o) { o.max_new_tokens = 0; })},
      {"max new tokens -1", bad([](auto& o) { o.max_new_tokens = -1; })},
      {"batch size 0", bad([](auto& o) { o.batch_size = 0; })},
      {"batch size -4", bad([](auto& o) { o.batch_size = -4; })},
      {"temperature 0", bad([](auto& o) { o.sampling.do_sample = true, o.sampling.temperature = 0; })},
      {"top-p 1.5", bad([](auto& o) { o.sampling.do_sample = true, o.sampling.top_p = 1.5; })},
      {"top-k -1", bad([](auto& o) { o.sampling.do_sample = true, o.sampling.top_k = -1; })},
      {"repetition penalty 0", bad([](auto& o) { o.sampling.repetition_penalty = 0; })},
      {"empty stop string", bad([](auto& o) { o.stop_strings = {""}; })},
  };
  int hook_calls = 0;
  AllowedTokens counting = [&](std::size_t, std::span<const std::int64_t>, std::span<std::uint8_t>) { ++hook_calls; };
  TokenDecoder decoder = [](std::span<const std::int64_t>) { return std::string("x"); };
  for (const auto& [what, o] : cases) {
    EXPECT_THROW(o.validate(), UsageError) << what;
    EXPECT_THROW(Generator(*model_).generate(prompts_, o, counting, decoder), UsageError) << what;
  }
  EXPECT_EQ(hook_calls, 0);
  GenerationOptions one = greedy_options(1);
  EXPECT_NO_THROW(one.validate());
  expect_error([&] { Generator(*model_).generate({{1, 2}, {}}, one, counting); }, "prompt 1: no tokens");
  expect_error(
      [&] {
        Generator(*model_).generate({{1, V_}}, one, counting);
      },
      "prompt 0: token id 1024 is outside the model's vocabulary of 1024");
  expect_error([&] { Generator(*model_).generate({{5}, {3, -1}}, one, counting); }, "prompt 1: token id -1");
  EXPECT_EQ(hook_calls, 0);
  // One new token is a valid request: exactly one comes back.
  auto out = Generator(*model_).generate(prompts_, one);
  for (const auto& g : out) {
    EXPECT_EQ(g.tokens.size(), 1u);
    EXPECT_EQ(g.finish_reason, "length");
  }
}

// GPT-2's positions are learned (128 here): a request that would run past
// them must be an Error naming the problem (as ContinuationScorer's is), not
// libtorch's index error from deep inside the embedding.
TEST(GeneratorPositions, AGpt2RequestBeyondItsPositionsIsAnErrorBeforeAnyWork) {
  use_one_thread();
  auto model = load_model("gpt2-tiny");
  const Ids prompt(120, 5);
  // 120 + 9 new tokens: the last one is chosen at position 127, the model's last.
  auto ok = Generator(*model).generate({prompt}, greedy_options(9));
  EXPECT_EQ(ok[0].tokens.size(), 9u);
  try {
    Generator(*model).generate({{1, 2}, prompt}, greedy_options(10));
    ADD_FAILURE() << "no error for 129 positions";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("prompt 1: needs 129 positions, the model has 128"), std::string::npos) << what;
    EXPECT_EQ(what.find('\n'), std::string::npos) << "a multi-line message: " << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a c2s::Error: " << e.what();
  }
}

TEST(GeneratorSharedPrefixLength, LeavesEachPromptAtLeastOneTokenOfItsOwn) {
  const Prompts p = {{1, 2, 3, 4, 5}, {1, 2, 3, 9}, {1, 2, 3}, {7, 2, 3}, {1, 2, 3, 4, 5}, {1}};
  EXPECT_EQ(shared_prefix_length(p, {0, 1}), 3u);
  EXPECT_EQ(shared_prefix_length(p, {1, 0}), 3u);
  EXPECT_EQ(shared_prefix_length(p, {0, 2}), 2u);  // prompt 2 is all prefix: its last token stays
  EXPECT_EQ(shared_prefix_length(p, {0, 4}), 4u);  // identical prompts
  EXPECT_EQ(shared_prefix_length(p, {0, 1, 3}), 0u);
  EXPECT_EQ(shared_prefix_length(p, {0, 5}), 0u);
  EXPECT_EQ(shared_prefix_length(p, {0, 1, 2, 4}), 2u);
  EXPECT_EQ(shared_prefix_length(p, {}), 0u);
}

TEST(GeneratorLeftPaddedInput, PadsOnTheLeftWithPositionsFromTheFirstRealToken) {
  const Ids a = {11, 12, 13}, b = {21};
  auto in = left_padded_input({std::span<const std::int64_t>(a), std::span<const std::int64_t>(b)}, 4, 0,
                              c10::Device(c10::kCPU));
  ASSERT_EQ(in.input_ids.sizes(), at::IntArrayRef({2, 3}));
  auto ids = in.input_ids.contiguous(), pos = in.position_ids.contiguous(), valid = in.valid.contiguous();
  EXPECT_EQ(Ids(ids.data_ptr<std::int64_t>(), ids.data_ptr<std::int64_t>() + 6), Ids({11, 12, 13, 0, 0, 21}));
  const Ids p(pos.data_ptr<std::int64_t>(), pos.data_ptr<std::int64_t>() + 6);
  EXPECT_EQ(Ids({p[0], p[1], p[2], p[5]}), Ids({4, 5, 6, 4}));  // padded places' positions do not matter
  const std::vector<bool> v = {valid[0][0].item<bool>(), valid[0][1].item<bool>(), valid[0][2].item<bool>(),
                               valid[1][0].item<bool>(), valid[1][1].item<bool>(), valid[1][2].item<bool>()};
  EXPECT_EQ(v, std::vector<bool>({true, true, true, false, false, true}));
}

}  // namespace
}  // namespace c2s
