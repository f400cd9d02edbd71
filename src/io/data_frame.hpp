// obs / var tables as AnnData holds them: an index of names and typed columns.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace c2s {

struct Column {
  enum class Kind { String, Numeric, Boolean, Categorical };
  std::string name;
  Kind kind = Kind::String;
  std::vector<std::string> strings;      // Kind::String
  std::vector<double> numbers;           // Kind::Numeric (integers widened; NaN = missing)
  std::vector<std::uint8_t> booleans;    // Kind::Boolean
  std::vector<std::string> categories;   // Kind::Categorical
  std::vector<std::int32_t> codes;       // Kind::Categorical, -1 = missing
  bool ordered = false;                  // Kind::Categorical

  std::size_t size() const;
  // The value of row i as text ("" for a missing value), whatever the kind.
  std::string text(std::size_t i) const;
  // The same column restricted to the given rows, in that order.
  Column take(const std::vector<std::int64_t>& rows) const;
  // Re-encodes any kind as a categorical column of its text values
  // (categories sorted; missing values stay missing).
  Column as_categorical() const;
};

struct DataFrame {
  std::vector<std::string> index;  // obs_names / var_names
  std::vector<Column> columns;

  std::size_t n_rows() const { return index.size(); }
  const Column* find(const std::string& name) const;
  DataFrame take(const std::vector<std::int64_t>& rows) const;
};

// anndata's make_index_unique (var_names_make_unique): the second and later
// occurrences of a name get "-1", "-2", ... (skipping suffixes that would
// collide with another name). Returns how many names were changed.
std::size_t make_index_unique(std::vector<std::string>& names);

}  // namespace c2s
