// Free-text answers matched to a known label set, as the reference package's
// free generation needs (its answers are compared as text): the text is
// normalised (case, surrounding space and quotes, a trailing period, runs of
// spaces) and matched exactly, else to the label at the smallest edit
// distance.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace c2s {

struct LabelMatch {
  std::size_t label = 0;  // index into the labels
  // 1 - distance / longer length of the two normalised texts: 1 for an
  // exact match, 0 for nothing in common.
  double similarity = 0;
};

std::string normalize_label_text(std::string_view text);

// The nearest of `labels` (not empty) to `text`; ties go to the earlier label.
LabelMatch match_label(std::string_view text, const std::vector<std::string>& labels);

}  // namespace c2s
