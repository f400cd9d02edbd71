// Free-text answers matched to labels: normalisation, exact matches, the
// nearest label by edit distance, ties to the earlier label.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "tasks/label_matching.hpp"

namespace c2s {
namespace {

const std::vector<std::string> kLabels = {"CD4 T cells", "CD8 T cells", "CD14+ Monocytes", "NK cells"};

TEST(LabelMatching, NormalisesCaseSpacesQuotesAndTheFinalPeriod) {
  EXPECT_EQ(normalize_label_text("  \"CD14+  Monocytes.\" \n"), "cd14+ monocytes");
  EXPECT_EQ(normalize_label_text("NK cells. "), "nk cells");
  EXPECT_EQ(normalize_label_text(""), "");
  EXPECT_EQ(normalize_label_text("..."), "");
}

TEST(LabelMatching, ExactAfterNormalisationHasSimilarityOne) {
  const LabelMatch m = match_label("cd14+ monocytes.", kLabels);
  EXPECT_EQ(m.label, 2u);
  EXPECT_DOUBLE_EQ(m.similarity, 1.0);
}

TEST(LabelMatching, OtherwiseTheNearestLabelByEditDistance) {
  const LabelMatch m = match_label("CD8 T cell", kLabels);  // one deletion from "cd8 t cells"
  EXPECT_EQ(m.label, 1u);
  EXPECT_NEAR(m.similarity, 1.0 - 1.0 / 11.0, 1e-12);
  EXPECT_EQ(match_label("Monocytes CD14", kLabels).label, 2u);
  const LabelMatch nothing = match_label("", kLabels);  // empty text: equally far from all, the first
  EXPECT_EQ(nothing.label, 0u);
  EXPECT_DOUBLE_EQ(nothing.similarity, 0.0);
}

TEST(LabelMatching, TiesGoToTheEarlierLabel) {
  EXPECT_EQ(match_label("CDx T cells", kLabels).label, 0u);  // one substitution from CD4 and from CD8
}

TEST(LabelMatching, NoLabelsIsAnError) { EXPECT_THROW(match_label("x", {}), Error); }

}  // namespace
}  // namespace c2s
