// obs / var tables: per-kind sizes, text rendering of any cell, row selection
// and re-encoding as categorical.
#include "io/data_frame.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <unordered_map>
#include <unordered_set>
#include <map>
#include <numeric>

#include "core/error.hpp"

namespace c2s {

namespace {

// Integral values print without a decimal point ("3", not "3.0") because
// integer columns are widened to double on reading and must read back as the
// integers they were; everything else uses the shortest exact form.
std::string number_text(double v) {
  if (std::isnan(v)) return "";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::to_chars_result r;
  if (v == std::trunc(v) && std::fabs(v) < 1e15)
    r = std::to_chars(buf, buf + sizeof buf, static_cast<long long>(v));
  else
    r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void check_row(std::int64_t row, std::size_t n, const std::string& name) {
  if (row < 0 || std::uint64_t(row) >= n)
    throw Error("column " + name, "row " + std::to_string(row) + " out of range (" + std::to_string(n) + " rows)");
}

template <class T>
std::vector<T> take_values(const std::vector<T>& v, const std::vector<std::int64_t>& rows, const std::string& name) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (auto r : rows) {
    check_row(r, v.size(), name);
    out.push_back(v[std::size_t(r)]);
  }
  return out;
}

}  // namespace

std::size_t Column::size() const {
  switch (kind) {
    case Kind::String: return strings.size();
    case Kind::Numeric: return numbers.size();
    case Kind::Boolean: return booleans.size();
    case Kind::Categorical: return codes.size();
  }
  return 0;
}

std::string Column::text(std::size_t i) const {
  switch (kind) {
    case Kind::String: return strings.at(i);
    case Kind::Numeric: return number_text(numbers.at(i));
    // Python's spelling, so labels match what scanpy users see.
    case Kind::Boolean: return booleans.at(i) ? "True" : "False";
    case Kind::Categorical: {
      std::int32_t c = codes.at(i);
      if (c < 0) return "";
      if (std::size_t(c) >= categories.size())
        throw Error("column " + name, "category code " + std::to_string(c) + " out of range (" +
                                          std::to_string(categories.size()) + " categories)");
      return categories[std::size_t(c)];
    }
  }
  return "";
}

Column Column::take(const std::vector<std::int64_t>& rows) const {
  Column out;
  out.name = name;
  out.kind = kind;
  out.ordered = ordered;
  switch (kind) {
    case Kind::String: out.strings = take_values(strings, rows, name); break;
    case Kind::Numeric: out.numbers = take_values(numbers, rows, name); break;
    case Kind::Boolean: out.booleans = take_values(booleans, rows, name); break;
    case Kind::Categorical:
      out.categories = categories;
      out.codes = take_values(codes, rows, name);
      break;
  }
  return out;
}

Column Column::as_categorical() const {
  // Already categorical: its category order may carry meaning (ordered
  // factors, curated label orders), so it is kept as it is.
  if (kind == Kind::Categorical) return *this;
  Column out;
  out.name = name;
  out.kind = Kind::Categorical;
  out.codes.resize(size());
  if (kind == Kind::String) {
    std::map<std::string, std::int32_t> seen;
    for (const auto& s : strings) seen.emplace(s, 0);
    std::int32_t next = 0;
    for (auto& [s, code] : seen) {
      code = next++;
      out.categories.push_back(s);
    }
    for (std::size_t i = 0; i < strings.size(); ++i) out.codes[i] = seen[strings[i]];
  } else if (kind == Kind::Numeric) {
    // Sorted by value as pandas does, so "2" comes before "10".
    std::vector<double> values;
    for (double v : numbers)
      if (!std::isnan(v)) values.push_back(v);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    for (double v : values) out.categories.push_back(number_text(v));
    for (std::size_t i = 0; i < numbers.size(); ++i) {
      double v = numbers[i];
      out.codes[i] = std::isnan(v) ? -1
                                   : std::int32_t(std::lower_bound(values.begin(), values.end(), v) - values.begin());
    }
  } else {
    bool has[2] = {false, false};
    for (auto b : booleans) has[b ? 1 : 0] = true;
    std::int32_t code_of[2] = {-1, -1};
    if (has[0]) {
      code_of[0] = std::int32_t(out.categories.size());
      out.categories.push_back("False");
    }
    if (has[1]) {
      code_of[1] = std::int32_t(out.categories.size());
      out.categories.push_back("True");
    }
    for (std::size_t i = 0; i < booleans.size(); ++i) out.codes[i] = code_of[booleans[i] ? 1 : 0];
  }
  return out;
}

const Column* DataFrame::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

DataFrame DataFrame::take(const std::vector<std::int64_t>& rows) const {
  DataFrame out;
  out.index = take_values(index, rows, "index");
  out.columns.reserve(columns.size());
  for (const auto& c : columns) out.columns.push_back(c.take(rows));
  return out;
}

std::size_t make_index_unique(std::vector<std::string>& names) {
  std::unordered_set<std::string> taken(names.begin(), names.end());
  if (taken.size() == names.size()) return 0;
  std::unordered_set<std::string> seen;
  std::unordered_map<std::string, int> counter;
  std::size_t changed = 0;
  for (auto& name : names) {
    if (seen.insert(name).second) continue;
    int& n = counter[name];
    std::string candidate;
    do candidate = name + "-" + std::to_string(++n);
    while (taken.count(candidate));
    taken.insert(candidate);
    name = std::move(candidate);
    ++changed;
  }
  return changed;
}

}  // namespace c2s
