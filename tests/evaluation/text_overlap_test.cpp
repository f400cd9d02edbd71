// ROUGE-1 word overlap of an abstract with its reference.
#include "evaluation/text_overlap.hpp"

#include <gtest/gtest.h>

namespace c2s {
namespace {

TEST(TextOverlap, Rouge1CountsSharedWordsClipped) {
  // Candidate: 4 words, reference: 7; shared: "t", "cells" (once: clipped), "ifn".
  const WordOverlap o = rouge1("T cells, cells IFN", "Activated T cells respond to IFN-beta");
  EXPECT_DOUBLE_EQ(o.precision, 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(o.recall, 3.0 / 7.0);
  EXPECT_DOUBLE_EQ(o.f1, 2 * (0.75 * 3.0 / 7.0) / (0.75 + 3.0 / 7.0));
  // Case and punctuation do not matter; the same text scores 1.
  EXPECT_DOUBLE_EQ(rouge1("PBMCs: stimulated.", "pbmcs stimulated").f1, 1.0);
  // Nothing shared, or no words at all: 0.
  EXPECT_DOUBLE_EQ(rouge1("lung", "liver").f1, 0.0);
  EXPECT_DOUBLE_EQ(rouge1("", "liver").f1, 0.0);
  EXPECT_DOUBLE_EQ(rouge1("...", "").precision, 0.0);
  // Non-ASCII bytes separate words.
  EXPECT_DOUBLE_EQ(rouge1("IFN\xce\xb2 response", "ifn response").f1, 1.0);
}

}  // namespace
}  // namespace c2s
