// Tick selection, tick labels and axis ranges.
#include "plot/axis.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace c2s::plot {
namespace {

std::vector<std::string> labels(const std::vector<Tick>& ticks) {
  std::vector<std::string> out;
  for (const Tick& t : ticks) out.push_back(t.label);
  return out;
}

TEST(LinearTicks, UnitRangeGetsTenths) {
  auto ticks = linear_ticks(0, 1, 6);
  EXPECT_EQ(labels(ticks), (std::vector<std::string>{"0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_DOUBLE_EQ(ticks[3].value, 0.6);
}

TEST(LinearTicks, NegativeValuesUseATrueMinus) {
  auto ticks = linear_ticks(-3.7, 12.1, 8);
  EXPECT_EQ(labels(ticks), (std::vector<std::string>{"\u22122", "0", "2", "4", "6", "8", "10", "12"}));
}

TEST(LinearTicks, NeverMoreThanAskedAndAtLeastTwo) {
  for (double span : {0.003, 0.7, 1.0, 13.0, 999.0, 12345.0})
    for (int most = 2; most <= 12; ++most) {
      auto ticks = linear_ticks(-span / 3, span, most);
      EXPECT_LE(int(ticks.size()), most) << span << " " << most;
      EXPECT_GE(ticks.size(), 2u) << span << " " << most;
      for (const Tick& t : ticks) EXPECT_TRUE(t.value >= -span / 3 - 1e-12 && t.value <= span + 1e-12);
    }
}

TEST(LinearTicks, LargeAndTinyMagnitudesUsePowersOfTen) {
  EXPECT_EQ(labels(linear_ticks(0, 3e6, 4)),
            (std::vector<std::string>{"0", "1\u00d710\u2076", "2\u00d710\u2076", "3\u00d710\u2076"}));
  EXPECT_EQ(labels(linear_ticks(0, 2.5e-4, 3)),
            (std::vector<std::string>{"0", "1\u00d710\u207b\u2074", "2\u00d710\u207b\u2074"}));
}

TEST(LinearTicks, DegenerateRanges) {
  EXPECT_EQ(linear_ticks(2, 2, 5).size(), 1u);
  EXPECT_TRUE(linear_ticks(NAN, 1, 5).empty());
  EXPECT_EQ(labels(linear_ticks(1, 0, 3)), (std::vector<std::string>{"0", "0.5", "1.0"}));
}

TEST(LogTicks, DecadesWithSuperscriptsBeyondThousands) {
  EXPECT_EQ(labels(log_ticks(1, 1e6, 8)),
            (std::vector<std::string>{"1", "10", "100", "1000", "10\u2074", "10\u2075", "10\u2076"}));
  EXPECT_EQ(labels(log_ticks(0.001, 1, 8)), (std::vector<std::string>{"10\u207b\u00b3", "0.01", "0.1", "1"}));
}

TEST(LogTicks, ManyDecadesSkipSome) {
  auto ticks = log_ticks(1, 1e12, 5);
  EXPECT_LE(ticks.size(), 5u);
  EXPECT_GE(ticks.size(), 3u);
}

TEST(LogTicks, NarrowRangesUseOneTwoFiveOrLinear) {
  EXPECT_EQ(labels(log_ticks(1, 6, 6)), (std::vector<std::string>{"1", "2", "5"}));
  EXPECT_GE(log_ticks(1.1, 1.5, 5).size(), 2u);
  EXPECT_TRUE(log_ticks(0, 10, 5).empty());
}

TEST(Axis, AroundPadsAndHandlesDegenerateRanges) {
  Axis a = Axis::around(0, 10, 0.1);
  EXPECT_DOUBLE_EQ(a.lo, -1);
  EXPECT_DOUBLE_EQ(a.hi, 11);
  Axis same = Axis::around(3, 3, 0.1);
  EXPECT_LT(same.lo, 3);
  EXPECT_GT(same.hi, 3);
  Axis zero = Axis::around(0, 0, 0.1);
  EXPECT_LT(zero.lo, 0);
  EXPECT_GT(zero.hi, 0);
  Axis none = Axis::around(NAN, NAN, 0.1);
  EXPECT_EQ(none.lo, 0);
  EXPECT_EQ(none.hi, 1);
  Axis log_none = Axis::around(-1, 5, 0.1, true);
  EXPECT_TRUE(log_none.log);
  EXPECT_GT(log_none.lo, 0);
}

TEST(Axis, FractionOnLinearAndLogAxes) {
  EXPECT_DOUBLE_EQ((Axis{10, 20}).fraction(15), 0.5);
  EXPECT_NEAR((Axis{1, 100, true}).fraction(10), 0.5, 1e-12);
  EXPECT_TRUE(std::isnan((Axis{1, 100, true}).fraction(0)));
}

}  // namespace
}  // namespace c2s::plot
