// Learning-rate schedules: the boundaries by hand, and every step of a few
// runs against transformers' lr_lambda code run by torch's LambdaLR.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <numbers>

#include "cli/cli_runner.hpp"
#include "train/lr_schedule.hpp"

namespace c2s {
namespace {

using namespace testing_support;

TEST(LrSchedule, ParsesTransformersNamesAndListsThemOtherwise) {
  EXPECT_EQ(parse_lr_schedule("constant"), LrSchedule::Constant);
  EXPECT_EQ(parse_lr_schedule("linear"), LrSchedule::Linear);
  EXPECT_EQ(parse_lr_schedule("cosine"), LrSchedule::Cosine);
  for (auto s : {LrSchedule::Constant, LrSchedule::Linear, LrSchedule::Cosine})
    EXPECT_EQ(parse_lr_schedule(lr_schedule_name(s)), s);
  try {
    parse_lr_schedule("cosine_with_restarts");
    ADD_FAILURE() << "no error";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "learning-rate schedule 'cosine_with_restarts': unknown (valid: constant, linear, cosine)");
  }
}

// Warmup 4 of 20 steps, base 1e-3: the factors written out by hand.
TEST(LrSchedule, BoundariesByHand) {
  const double base = 1e-3;
  for (auto s : {LrSchedule::Constant, LrSchedule::Linear, LrSchedule::Cosine}) {
    EXPECT_EQ(lr_at(s, base, 0, 4, 20), 0.0);  // the first update learns nothing, as in transformers
    EXPECT_EQ(lr_at(s, base, 1, 4, 20), base * 0.25);
    EXPECT_EQ(lr_at(s, base, 3, 4, 20), base * 0.75);
    EXPECT_EQ(lr_at(s, base, 4, 4, 20), base);  // warmup done: full rate
  }
  EXPECT_EQ(lr_at(LrSchedule::Constant, base, 19, 4, 20), base);
  EXPECT_EQ(lr_at(LrSchedule::Constant, base, 20, 4, 20), base);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 12, 4, 20), base * 0.5);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 19, 4, 20), base * (1.0 / 16));
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 20, 4, 20), 0.0);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 25, 4, 20), 0.0);  // clamped at 0
  EXPECT_NEAR(lr_at(LrSchedule::Cosine, base, 12, 4, 20), base * 0.5, 1e-18);
  // 0.5 (1 + cos(pi / 16)) = 0.99039264020161522...
  EXPECT_NEAR(lr_at(LrSchedule::Cosine, base, 5, 4, 20), base * 0.99039264020161522, 1e-18);
  // 0.5 (1 + cos(15 pi / 16)) = 0.0096073597983847847...
  EXPECT_NEAR(lr_at(LrSchedule::Cosine, base, 19, 4, 20), base * 0.0096073597983847847, 1e-18);
  EXPECT_NEAR(lr_at(LrSchedule::Cosine, base, 20, 4, 20), 0.0, 1e-20);
  // Past the end the half cycle turns back up, as in transformers.
  EXPECT_NEAR(lr_at(LrSchedule::Cosine, base, 24, 4, 20), base * 0.5 * (1 + std::cos(std::numbers::pi * 1.25)), 1e-18);

  // No warmup: the first update already has the full rate.
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 0, 0, 10), base);
  EXPECT_EQ(lr_at(LrSchedule::Cosine, base, 0, 0, 10), base);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 9, 0, 10), base * 0.1);
  // Warmup of the whole run: after it, (total - step) / max(1, 0).
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 9, 10, 10), base * 0.9);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 10, 10, 10), 0.0);
  EXPECT_EQ(lr_at(LrSchedule::Cosine, base, 10, 10, 10), base);
  // One step in all.
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 0, 0, 1), base);
  EXPECT_EQ(lr_at(LrSchedule::Linear, base, 0, 1, 1), 0.0);
}

TEST(LrSchedule, RefusesImpossibleRuns) {
  EXPECT_THROW(lr_at(LrSchedule::Linear, 1e-3, 0, -1, 10), UsageError);
  EXPECT_THROW(lr_at(LrSchedule::Linear, 1e-3, 0, 11, 10), UsageError);
  EXPECT_THROW(lr_at(LrSchedule::Constant, 1e-3, 0, 0, 0), UsageError);
  EXPECT_THROW(lr_at(LrSchedule::Cosine, 1e-3, -1, 0, 10), UsageError);
  expect_error([] { lr_at(LrSchedule::Cosine, 1e-3, 0, 12, 10); },
               "learning-rate schedule: warmup steps must be between 0 and the total steps 10 (got 12)");
}

// transformers 4.x optimization.py's lr_lambda functions (typed in: no
// transformers here), driven by torch's LambdaLR over a dummy optimiser as
// the Trainer does: the rate of each update, bit for bit.
TEST(LrSchedule, EveryStepEqualsTransformersThroughLambdaLR) {
  ScratchDir dir("lr-schedule");
  const std::vector<std::array<std::int64_t, 2>> runs{{0, 7}, {3, 17}, {10, 100}, {1, 1}, {5, 5}, {37, 1000}};
  const double base = 2e-4;
  nlohmann::json spec{{"base", base}, {"runs", runs}};
  std::ofstream(dir.path() / "spec.json") << spec.dump();
  ASSERT_EQ(run_python("d = '" + dir.path().string() + "'\n" + R"PY(
import json, math, torch

def constant(num_warmup_steps):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1.0, num_warmup_steps))
        return 1.0
    return lr_lambda

def linear(num_warmup_steps, num_training_steps):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        return max(0.0, float(num_training_steps - current_step) / float(max(1, num_training_steps - num_warmup_steps)))
    return lr_lambda

def cosine(num_warmup_steps, num_training_steps, num_cycles=0.5):
    def lr_lambda(current_step):
        if current_step < num_warmup_steps:
            return float(current_step) / float(max(1, num_warmup_steps))
        progress = float(current_step - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return lr_lambda

spec = json.load(open(d + '/spec.json'))
out = {}
for name in ('constant', 'linear', 'cosine'):
    out[name] = []
    for warmup, total in spec['runs']:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=spec['base'])
        lam = constant(warmup) if name == 'constant' else (linear if name == 'linear' else cosine)(warmup, total)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lam)
        lrs = []
        for _ in range(total):
            lrs.append(opt.param_groups[0]['lr'])  # the rate this update uses
            opt.step()
            sched.step()
        out[name].append(lrs)
json.dump(out, open(d + '/want.json', 'w'))
)PY"),
            0);
  const auto want = nlohmann::json::parse(slurp(dir.path() / "want.json"));
  std::size_t compared = 0;
  for (auto s : {LrSchedule::Constant, LrSchedule::Linear, LrSchedule::Cosine})
    for (std::size_t r = 0; r < runs.size(); ++r) {
      const auto& lrs = want[lr_schedule_name(s)][r];
      ASSERT_EQ(std::int64_t(lrs.size()), runs[r][1]);
      for (std::int64_t step = 0; step < runs[r][1]; ++step, ++compared)
        EXPECT_EQ(lr_at(s, base, step, runs[r][0], runs[r][1]), lrs[std::size_t(step)].get<double>())
            << lr_schedule_name(s) << " warmup " << runs[r][0] << " total " << runs[r][1] << " step " << step;
    }
  EXPECT_EQ(compared, 3u * (7 + 17 + 100 + 1 + 5 + 1000));
}

}  // namespace
}  // namespace c2s
