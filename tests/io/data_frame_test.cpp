// Unit tests of the obs/var table type: text of each kind, row selection and
// re-encoding as categorical.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "io/data_frame.hpp"

namespace c2s {
namespace {

Column numeric(std::vector<double> v) {
  Column c;
  c.name = "n";
  c.kind = Column::Kind::Numeric;
  c.numbers = std::move(v);
  return c;
}

Column strings(std::vector<std::string> v) {
  Column c;
  c.name = "s";
  c.kind = Column::Kind::String;
  c.strings = std::move(v);
  return c;
}

Column booleans(std::vector<std::uint8_t> v) {
  Column c;
  c.name = "b";
  c.kind = Column::Kind::Boolean;
  c.booleans = std::move(v);
  return c;
}

Column categorical(std::vector<std::string> cats, std::vector<std::int32_t> codes) {
  Column c;
  c.name = "c";
  c.kind = Column::Kind::Categorical;
  c.categories = std::move(cats);
  c.codes = std::move(codes);
  return c;
}

const double nan = std::numeric_limits<double>::quiet_NaN();

TEST(DataFrame, TextOfEachKind) {
  Column n = numeric({3, -2, 0.5, nan, 1e20, 0.1});
  EXPECT_EQ(n.size(), 6u);
  EXPECT_EQ(n.text(0), "3");  // integers widened to double print as integers
  EXPECT_EQ(n.text(1), "-2");
  EXPECT_EQ(n.text(2), "0.5");
  EXPECT_EQ(n.text(3), "");  // missing
  EXPECT_EQ(n.text(4), "1e+20");
  EXPECT_EQ(n.text(5), "0.1");
  EXPECT_EQ(numeric({std::numeric_limits<double>::infinity()}).text(0), "inf");

  Column s = strings({"a", ""});
  EXPECT_EQ(s.text(0), "a");
  EXPECT_EQ(s.text(1), "");

  Column b = booleans({1, 0});
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.text(0), "True");
  EXPECT_EQ(b.text(1), "False");

  Column c = categorical({"x", "y"}, {1, -1, 0});
  EXPECT_EQ(c.size(), 3u);
  EXPECT_EQ(c.text(0), "y");
  EXPECT_EQ(c.text(1), "");
  EXPECT_EQ(c.text(2), "x");
  Column bad = categorical({"x"}, {3});
  EXPECT_THROW(bad.text(0), Error);
}

TEST(DataFrame, TakeSelectsAndReordersRows) {
  DataFrame df;
  df.index = {"c0", "c1", "c2", "c3"};
  df.columns = {numeric({0, 1, 2, 3}), strings({"a", "b", "c", "d"}), booleans({0, 1, 0, 1}),
                categorical({"x", "y"}, {0, 1, -1, 0})};
  df.columns[3].ordered = true;
  DataFrame t = df.take({3, 0, 0});
  EXPECT_EQ(t.n_rows(), 3u);
  EXPECT_EQ(t.index, (std::vector<std::string>{"c3", "c0", "c0"}));
  EXPECT_EQ(t.find("n")->numbers, (std::vector<double>{3, 0, 0}));
  EXPECT_EQ(t.find("s")->strings, (std::vector<std::string>{"d", "a", "a"}));
  EXPECT_EQ(t.find("b")->booleans, (std::vector<std::uint8_t>{1, 0, 0}));
  const Column* c = t.find("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->categories, (std::vector<std::string>{"x", "y"}));  // categories kept, even unused ones
  EXPECT_EQ(c->codes, (std::vector<std::int32_t>{0, 0, 0}));
  EXPECT_TRUE(c->ordered);
  EXPECT_EQ(t.find("missing"), nullptr);
  EXPECT_TRUE(df.take({}).index.empty());
  EXPECT_THROW(df.take({4}), Error);
  EXPECT_THROW(df.take({-1}), Error);
}

TEST(DataFrame, AsCategorical) {
  Column s = strings({"b", "a", "b", "c"}).as_categorical();
  EXPECT_EQ(s.kind, Column::Kind::Categorical);
  EXPECT_EQ(s.name, "s");
  EXPECT_EQ(s.categories, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(s.codes, (std::vector<std::int32_t>{1, 0, 1, 2}));

  // Numbers sort by value, not by text; NaN stays missing.
  Column n = numeric({10, 2, nan, 2, 1.5}).as_categorical();
  EXPECT_EQ(n.categories, (std::vector<std::string>{"1.5", "2", "10"}));
  EXPECT_EQ(n.codes, (std::vector<std::int32_t>{2, 1, -1, 1, 0}));
  EXPECT_EQ(n.text(2), "");

  Column b = booleans({1, 1}).as_categorical();
  EXPECT_EQ(b.categories, (std::vector<std::string>{"True"}));
  EXPECT_EQ(b.codes, (std::vector<std::int32_t>{0, 0}));
  Column b2 = booleans({1, 0}).as_categorical();
  EXPECT_EQ(b2.categories, (std::vector<std::string>{"False", "True"}));
  EXPECT_EQ(b2.codes, (std::vector<std::int32_t>{1, 0}));

  // An existing categorical keeps its (possibly meaningful) category order.
  Column c = categorical({"z", "a"}, {0, 1, -1});
  c.ordered = true;
  Column same = c.as_categorical();
  EXPECT_EQ(same.categories, c.categories);
  EXPECT_EQ(same.codes, c.codes);
  EXPECT_TRUE(same.ordered);

  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(s.text(i), strings({"b", "a", "b", "c"}).text(i));
}

}  // namespace
}  // namespace c2s
