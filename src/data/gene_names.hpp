// Gene and cell name handling as AnnData and C2S define it: upper-casing for
// the sentence vocabulary, and anndata's make-unique rule for duplicates.
#pragma once
#include <string>
#include <vector>

namespace c2s {

std::string upper_case(std::string name);

// anndata's var_names_make_unique: the second and later occurrences of a name
// get "-1", "-2", ... (skipping suffixes that would collide with another
// name). Returns how many names were changed.
std::size_t make_unique_names(std::vector<std::string>& names);

// True when names look like cell barcodes (ACGT runs with an optional
// "-1" suffix), used to warn about a transposed matrix.
bool look_like_barcodes(const std::vector<std::string>& names);

}  // namespace c2s
