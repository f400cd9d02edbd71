// The token sampler against distributions worked out here from the logits:
// greedy is the argmax (ties to the lowest id), sampled draws follow
// softmax(logits / T) restricted as transformers restricts it (mask, then
// repetition penalty, then temperature, top-k with ties, top-p), and a
// (seed, stream) pair always gives the same draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "core/random.hpp"
#include "engine/token_sampler.hpp"
#include "test_support.hpp"

namespace c2s {
namespace {

using testing_support::expect_error;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

SamplingOptions greedy_options() { return SamplingOptions{}; }

SamplingOptions sampled(double temperature = 1.0, std::int64_t top_k = 0, double top_p = 1.0, double penalty = 1.0,
                        std::uint64_t seed = 12345) {
  SamplingOptions o;
  o.do_sample = true;
  o.temperature = temperature;
  o.top_k = top_k;
  o.top_p = top_p;
  o.repetition_penalty = penalty;
  o.seed = seed;
  return o;
}

std::int64_t choose_once(const SamplingOptions& o, std::vector<float> logits,
                         const std::vector<std::int64_t>& seen = {}, const std::vector<std::uint8_t>& allowed = {},
                         std::uint64_t stream = 0) {
  TokenSampler s(o, stream);
  return s.choose(logits, seen, allowed);
}

// How often each token is drawn in `n` draws from one stream (the sampler
// gets a fresh copy of the logits each time: it may change them).
std::vector<std::int64_t> draw_counts(const SamplingOptions& o, const std::vector<float>& logits, int n,
                                      const std::vector<std::int64_t>& seen = {},
                                      const std::vector<std::uint8_t>& allowed = {}, std::uint64_t stream = 0) {
  TokenSampler s(o, stream);
  std::vector<std::int64_t> counts(logits.size(), 0);
  for (int i = 0; i < n; ++i) {
    std::vector<float> copy = logits;
    const std::int64_t t = s.choose(copy, seen, allowed);
    EXPECT_GE(t, 0);
    EXPECT_LT(t, std::int64_t(logits.size()));
    if (t >= 0 && t < std::int64_t(logits.size())) ++counts[std::size_t(t)];
  }
  return counts;
}

// softmax(scores / T) in double over the tokens in `keep` (all when empty),
// zero elsewhere.
std::vector<double> softmax(const std::vector<double>& scores, double temperature,
                            const std::set<std::size_t>& keep = {}) {
  std::vector<double> p(scores.size(), 0.0);
  double top = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (keep.empty() || keep.count(i)) top = std::max(top, scores[i] / temperature);
  double total = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    if (keep.empty() || keep.count(i)) total += p[i] = std::exp(scores[i] / temperature - top);
  for (double& v : p) v /= total;
  return p;
}

std::vector<double> as_double(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Pearson's chi-square of `counts` against `expected` probabilities must stay
// below the 1 - 3e-7 quantile (z = 5, Wilson-Hilferty) of its degrees of
// freedom, and tokens of probability zero must never be drawn. A correct
// sampler fails this about once in three million seeds; a wrong temperature
// or support fails it by orders of magnitude at these counts.
void expect_distribution(const std::vector<std::int64_t>& counts, const std::vector<double>& expected,
                         const std::string& what) {
  ASSERT_EQ(counts.size(), expected.size());
  const double n = double(std::accumulate(counts.begin(), counts.end(), std::int64_t(0)));
  double chi2 = 0;
  int cells = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (expected[i] == 0) {
      EXPECT_EQ(counts[i], 0) << what << ": token " << i << " has probability zero";
      continue;
    }
    ASSERT_GE(n * expected[i], 5.0) << what << ": too few draws for a chi-square test";
    const double e = n * expected[i];
    chi2 += (double(counts[i]) - e) * (double(counts[i]) - e) / e;
    ++cells;
  }
  if (cells < 2) return;
  const double k = cells - 1, z = 5;
  const double bound = k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
  EXPECT_LT(chi2, bound) << what << ": draws do not follow the expected distribution";
}

// The smallest set of best tokens whose probability reaches p; false when p
// is within `slack` of a cumulative sum (float rounding may go either way).
bool nucleus(const std::vector<double>& probs, double p, std::set<std::size_t>& out, double slack = 1e-6) {
  std::vector<std::size_t> order(probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return probs[a] > probs[b]; });
  out.clear();
  double cum = 0;
  for (std::size_t i : order) {
    out.insert(i);
    cum += probs[i];
    if (std::abs(cum - p) < slack) return false;
    if (cum >= p) break;
  }
  return true;
}

TEST(TokenSamplerGreedy, PicksTheArgmaxWithTiesToTheLowestIdWhateverTheSamplingSettings) {
  EXPECT_EQ(choose_once(greedy_options(), {1, 3, 3, 2}), 1);
  EXPECT_EQ(choose_once(greedy_options(), {0, 0, 0}), 0);
  EXPECT_EQ(choose_once(greedy_options(), {-5, -2, -2, -7}), 1);
  EXPECT_EQ(choose_once(greedy_options(), {kNegInf, -1e30f, kNegInf}), 1);
  EXPECT_EQ(choose_once(greedy_options(), {42}), 0);
  // Many small-integer vectors (ties everywhere) against std::max_element,
  // which returns the first of equal maxima.
  Rng rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    std::vector<float> logits(1 + rng.below(40));
    for (float& v : logits) v = float(int(rng.below(5)) - 2);
    const auto expected = std::int64_t(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(choose_once(greedy_options(), logits), expected) << "trial " << trial;
  }
  // The sampling settings and the seed play no part.
  const std::vector<float> logits = {0.1f, 2.0f, 1.9f, -1.0f, 2.0f};
  for (std::uint64_t seed : {0, 1, 99})
    for (std::uint64_t stream : {0, 5}) {
      SamplingOptions o = greedy_options();
      o.temperature = 0.05;
      o.top_p = 0.01;
      o.top_k = 3;
      o.seed = seed;
      EXPECT_EQ(choose_once(o, logits, {}, {}, stream), 1);
    }
}

TEST(TokenSamplerGreedy, TheMaskRemovesTokens) {
  const std::vector<float> logits = {0.5f, 3.0f, 2.0f, 2.5f};
  EXPECT_EQ(choose_once(greedy_options(), logits, {}, {1, 0, 1, 1}), 3);
  EXPECT_EQ(choose_once(greedy_options(), logits, {}, {1, 0, 1, 0}), 2);
  EXPECT_EQ(choose_once(greedy_options(), logits, {}, {1, 0, 0, 0}), 0);
  EXPECT_EQ(choose_once(greedy_options(), logits, {}, {}), 1);  // empty: no mask
  // Only token 0 allowed, even with the lowest score and ties elsewhere.
  EXPECT_EQ(choose_once(greedy_options(), {-9, 1, 1}, {}, {1, 0, 0}), 0);
  // A mask allowing nothing is an error, greedy or sampled.
  expect_error([&] { choose_once(greedy_options(), logits, {}, {0, 0, 0, 0}); }, "allows no token");
  expect_error([&] { choose_once(sampled(), logits, {}, {0, 0, 0, 0}); }, "allows no token");
}

TEST(TokenSamplerRepetitionPenalty, DividesPositiveAndMultipliesNegativeScoresOfSeenTokensOnce) {
  SamplingOptions o = greedy_options();
  o.repetition_penalty = 2.0;
  // Positive: 2.0 / 2 = 1.0 falls below 1.5.
  EXPECT_EQ(choose_once(o, {2.0f, 1.5f, 0.1f}, {0}), 1);
  EXPECT_EQ(choose_once(o, {2.0f, 1.5f, 0.1f}, {2}), 0);
  EXPECT_EQ(choose_once(o, {2.0f, 1.5f, 0.1f}, {}), 0);
  // A token seen three times is penalised once: 2.0 / 2 = 1.0 still beats 0.8
  // (2.0 / 8 = 0.25 would not).
  EXPECT_EQ(choose_once(o, {2.0f, 0.8f}, {0, 0, 0}), 0);
  // Negative: -1.0 * 2 = -2.0 falls below -1.5 (dividing would raise it to -0.5).
  EXPECT_EQ(choose_once(o, {-1.0f, -1.5f}, {0}), 1);
  EXPECT_EQ(choose_once(o, {-1.0f, -1.5f}, {1}), 0);
  // A penalty below 1 favours seen tokens: 0.6 / 0.5 = 1.2 beats 1.0.
  o.repetition_penalty = 0.5;
  EXPECT_EQ(choose_once(o, {1.0f, 0.6f}, {1}), 1);
  // 1 is off.
  o.repetition_penalty = 1.0;
  EXPECT_EQ(choose_once(o, {2.0f, 1.5f}, {0}), 0);
  // A forbidden token stays forbidden whatever its penalty.
  o.repetition_penalty = 0.01;
  EXPECT_EQ(choose_once(o, {-3.0f, 5.0f, 1.0f}, {0}, {1, 0, 1}), 2);
  // Sampled: the penalised scores, then the temperature, make the distribution.
  const std::vector<float> logits = {1.0f, 0.5f, -0.5f, 0.2f, -1.0f};
  std::vector<double> penalised = as_double(logits);
  penalised[0] /= 1.5;
  penalised[2] *= 1.5;
  auto counts = draw_counts(sampled(0.8, 0, 1.0, 1.5), logits, 20000, {0, 2, 0});
  expect_distribution(counts, softmax(penalised, 0.8), "repetition penalty 1.5 on {0, 2, 0}");
}

TEST(TokenSamplerSampling, FrequenciesFollowTheSoftmaxOfTheAllowedScoresOverTheTemperature) {
  const std::vector<float> logits = {0.3f, -1.2f, 1.1f, 0.0f, 0.7f, -0.4f};
  for (double t : {1.0, 0.7, 2.0}) {
    auto counts = draw_counts(sampled(t), logits, 20000);
    expect_distribution(counts, softmax(as_double(logits), t), "temperature " + std::to_string(t));
  }
  // Masked tokens are never drawn; the others keep their relative odds.
  const std::vector<float> scores = {2.0f, 0.3f, 1.5f, -0.2f, 0.9f, 0.0f};
  auto counts = draw_counts(sampled(1.3), scores, 20000, {}, {0, 1, 0, 1, 1, 0});
  expect_distribution(counts, softmax(as_double(scores), 1.3, {1, 3, 4}), "mask {1, 3, 4}");
  counts = draw_counts(sampled(1.0), scores, 1000, {}, {0, 0, 0, 0, 0, 1});
  EXPECT_EQ(counts[5], 1000);
  // With the repetition penalty on: -inf stays -inf.
  counts = draw_counts(sampled(1.0, 0, 1.0, 3.0), scores, 1000, {0, 1, 2, 3, 4, 5}, {1, 0, 0, 0, 0, 0});
  EXPECT_EQ(counts[0], 1000);
}

TEST(TokenSamplerSampling, TopKKeepsTheKBestTokensAndAnyTiedWithTheKth) {
  const std::vector<float> logits = {2.0f, 1.0f, 1.0f, 1.0f, 0.5f, 0.0f};
  // k = 2: the second best score is shared by tokens 1, 2 and 3, all kept.
  auto counts = draw_counts(sampled(1.0, 2), logits, 20000);
  expect_distribution(counts, softmax(as_double(logits), 1.0, {0, 1, 2, 3}), "top-k 2");
  // k = 1 with a single best: always it.
  counts = draw_counts(sampled(1.0, 1), logits, 2000);
  EXPECT_EQ(counts[0], 2000);
  // k = 5 drops only the worst; k at or beyond the vocabulary drops nothing.
  counts = draw_counts(sampled(1.0, 5), logits, 20000);
  expect_distribution(counts, softmax(as_double(logits), 1.0, {0, 1, 2, 3, 4}), "top-k 5");
  counts = draw_counts(sampled(1.0, 6), logits, 20000);
  expect_distribution(counts, softmax(as_double(logits), 1.0), "top-k 6");
  counts = draw_counts(sampled(1.0, 100), logits, 20000);
  expect_distribution(counts, softmax(as_double(logits), 1.0), "top-k 100");
}

TEST(TokenSamplerSampling, TopPKeepsTheSmallestSetOfBestTokensReachingP) {
  // Probabilities 0.05, 0.5, 0.15, 0.3 (not in order of id).
  const std::vector<double> probs = {0.05, 0.5, 0.15, 0.3};
  std::vector<float> logits;
  for (double p : probs) logits.push_back(float(std::log(p)));
  const std::vector<std::pair<double, std::set<std::size_t>>> cases = {
      {0.3, {1}}, {0.5 - 1e-3, {1}}, {0.6, {1, 3}}, {0.79, {1, 3}}, {0.9, {1, 3, 2}}, {0.97, {0, 1, 2, 3}}, {1.0, {}}};
  for (const auto& [p, keep] : cases) {
    auto counts = draw_counts(sampled(1.0, 0, p), logits, 20000);
    expect_distribution(counts, softmax(as_double(logits), 1.0, keep), "top-p " + std::to_string(p));
  }
  // Random score vectors and thresholds: draws stay inside the nucleus and
  // reach every token of it that is not vanishingly rare.
  Rng rng(11);
  int checked = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<float> scores(8);
    for (float& s : scores) s = float(rng.uniform() * 4 - 2);
    const double p = 0.05 + 0.9 * rng.uniform();
    std::set<std::size_t> keep;
    const auto probs_t = softmax(as_double(scores), 1.0);
    if (!nucleus(probs_t, p, keep)) continue;
    ++checked;
    const auto expected = softmax(as_double(scores), 1.0, keep);
    auto counts = draw_counts(sampled(1.0, 0, p, 1.0, std::uint64_t(trial)), scores, 3000);
    for (std::size_t i = 0; i < scores.size(); ++i) {
      if (!keep.count(i)) {
        EXPECT_EQ(counts[i], 0) << "trial " << trial << " token " << i << " outside the nucleus";
      } else if (expected[i] > 0.01) {
        EXPECT_GT(counts[i], 0) << "trial " << trial << " token " << i << " never drawn";
      }
    }
  }
  EXPECT_GT(checked, 50);
}

TEST(TokenSamplerSampling, MaskThenTemperatureThenTopKThenTopPAsTransformersOrdersThem) {
  // Temperature before top-p: at T = 1 the nucleus of 0.8 is {0, 1}, at
  // T = 0.5 token 0 alone holds 0.87.
  const std::vector<float> three = {2.0f, 1.0f, 0.0f};
  auto counts = draw_counts(sampled(1.0, 0, 0.8), three, 20000);
  expect_distribution(counts, softmax(as_double(three), 1.0, {0, 1}), "T 1, top-p 0.8");
  counts = draw_counts(sampled(0.5, 0, 0.8), three, 2000);
  EXPECT_EQ(counts[0], 2000);
  // Top-k before top-p, which works on the renormalised top-k set: 0.4 and
  // 0.3 become 4/7 and 3/7, so p = 0.5 keeps token 0 alone (over the whole
  // vocabulary it would keep two).
  std::vector<float> four;
  for (double p : {0.4, 0.3, 0.2, 0.1}) four.push_back(float(std::log(p)));
  counts = draw_counts(sampled(1.0, 2, 0.5), four, 2000);
  EXPECT_EQ(counts[0], 2000);
  counts = draw_counts(sampled(1.0, 0, 0.5), four, 20000);
  expect_distribution(counts, softmax(as_double(four), 1.0, {0, 1}), "top-p 0.5 alone");
  // The mask before top-k: forbidden tokens do not take places among the k.
  const std::vector<float> ranked = {3.0f, 2.0f, 1.0f, 0.0f};
  counts = draw_counts(sampled(1.0, 2), ranked, 20000, {}, {0, 1, 1, 1});
  expect_distribution(counts, softmax(as_double(ranked), 1.0, {1, 2}), "mask then top-k 2");
}

TEST(TokenSamplerSampling, DrawsAreReproducibleForASeedAndStreamAndDifferAcrossThem) {
  Rng rng(3);
  std::vector<float> logits(50);
  for (float& v : logits) v = float(rng.uniform() * 2);
  auto draws = [&](std::uint64_t seed, std::uint64_t stream) {
    TokenSampler s(sampled(1.0, 0, 1.0, 1.0, seed), stream);
    std::vector<std::int64_t> out;
    for (int i = 0; i < 200; ++i) {
      std::vector<float> copy = logits;
      out.push_back(s.choose(copy, {}, {}));
    }
    return out;
  };
  const auto a = draws(7, 3);
  EXPECT_EQ(draws(7, 3), a);
  EXPECT_NE(draws(7, 4), a);
  EXPECT_NE(draws(8, 3), a);
  EXPECT_GT(std::set<std::int64_t>(a.begin(), a.end()).size(), 20u);  // really sampling
}

TEST(TokenSamplerOptions, ValidateRejectsImpossibleValues) {
  EXPECT_NO_THROW(SamplingOptions{}.validate());
  EXPECT_NO_THROW(sampled(0.01, 1, 1.0, 0.5).validate());
  EXPECT_NO_THROW(sampled(3.0, 0, 1e-9, 2.0).validate());
  // Greedy ignores temperature, top-k and top-p, as transformers does.
  SamplingOptions greedy;
  greedy.temperature = 0, greedy.top_k = -1, greedy.top_p = 1.5;
  EXPECT_NO_THROW(greedy.validate());
  greedy.repetition_penalty = 0;
  EXPECT_THROW(greedy.validate(), UsageError);
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double t : {0.0, -1.0, nan, inf}) EXPECT_THROW(sampled(t).validate(), UsageError) << "temperature " << t;
  EXPECT_THROW(sampled(1.0, -1).validate(), UsageError);
  for (double p : {0.0, -0.1, 1.5, nan}) EXPECT_THROW(sampled(1.0, 0, p).validate(), UsageError) << "top-p " << p;
  for (double r : {0.0, -1.0, nan, inf})
    EXPECT_THROW(sampled(1.0, 0, 1.0, r).validate(), UsageError) << "repetition penalty " << r;
  expect_error([] { sampled(0.0).validate(); }, "temperature");
  expect_error([] { sampled(1.0, 0, 1.5).validate(); }, "top-p");
  expect_error([] { sampled(1.0, -2).validate(); }, "top-k");
  expect_error([] { sampled(1.0, 0, 1.0, 0.0).validate(); }, "repetition penalty");
}

}  // namespace
}  // namespace c2s
