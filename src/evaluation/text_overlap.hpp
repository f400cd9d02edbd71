// How close a generated text (an interpretation's abstract) is to a
// reference: ROUGE-1, the overlap of their words. Words are runs of ASCII
// letters and digits (other bytes, UTF-8 included, separate them),
// lower-cased; a word counts as often as it occurs in both (clipped counts).
#pragma once
#include <string_view>

namespace c2s {

struct WordOverlap {
  double precision = 0;  // shared words / the candidate's words (0 for no words)
  double recall = 0;     // shared words / the reference's words
  double f1 = 0;         // their harmonic mean (0 when both are 0)
};

WordOverlap rouge1(std::string_view candidate, std::string_view reference);

}  // namespace c2s
