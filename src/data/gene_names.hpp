// Gene names as C2S uses them: upper-cased for the sentence vocabulary, and
// a check for cell barcodes where genes are expected.
#pragma once
#include <string>
#include <vector>

namespace c2s {

std::string upper_case(std::string name);

// True when names look like cell barcodes (ACGT runs with an optional
// "-1" suffix), used to warn about a transposed matrix.
bool look_like_barcodes(const std::vector<std::string>& names);

}  // namespace c2s
