// Dense delimited text reader: parses every line once, keeping nonzeros; a
// genes-in-rows file is transposed by a counting sort over cells.
#include "io/delimited_matrix.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

#include "core/error.hpp"
#include "io/line_reader.hpp"

namespace c2s {

namespace {

// ' ' stands for runs of blanks.
char delimiter_for(const std::string& path, std::string_view header) {
  std::string name = path;
  for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (name.ends_with(".gz")) name.resize(name.size() - 3);
  if (name.ends_with(".csv")) return ',';
  if (name.ends_with(".tsv")) return '\t';
  if (header.find('\t') != std::string_view::npos) return '\t';
  if (header.find(',') != std::string_view::npos) return ',';
  return ' ';
}

void split(std::string_view line, char delim, std::vector<std::string_view>& out) {
  out.clear();
  if (delim == ' ') {
    std::size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i == line.size()) break;
      std::size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      out.push_back(line.substr(i, j - i));
      i = j;
    }
    return;
  }
  std::size_t start = 0;
  for (;;) {
    auto at = line.find(delim, start);
    out.push_back(line.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return;
    start = at + 1;
  }
}

std::string_view unquote(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() >= 2 && ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\'')))
    s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

DelimitedMatrix::DelimitedMatrix(const std::string& path, bool genes_in_rows) {
  description_ = path;
  LineReader reader(path);
  std::string_view line;
  do {
    if (!reader.next(line)) throw Error(path, "empty file: expected a header row of column names");
  } while (line.empty());
  const char delim = delimiter_for(path, line);
  std::vector<std::string_view> fields;
  split(line, delim, fields);
  std::vector<std::string> header;
  for (auto f : fields) header.emplace_back(unquote(f));
  // A trailing delimiter leaves an empty last name; some writers add one.
  const bool trailing_delimiter = header.size() > 1 && header.back().empty();
  if (trailing_delimiter) header.pop_back();

  std::vector<std::string> row_names;
  std::vector<std::int64_t> indptr{0};
  std::vector<std::int32_t> indices;
  std::vector<float> values;
  std::size_t n_fields = 0;  // per data line, the row name included
  while (reader.next(line)) {
    if (line.empty()) continue;
    split(line, delim, fields);
    if (trailing_delimiter && fields.size() > 1 && fields.back().empty()) fields.pop_back();
    if (n_fields == 0) {
      n_fields = fields.size();
      if (n_fields == header.size() + 1) {
        // R style: the header names only the value columns.
      } else if (n_fields == header.size()) {
        header.erase(header.begin());
      } else {
        throw Error(reader.where(), "has " + std::to_string(n_fields) + " fields but the header has " +
                                        std::to_string(header.size()));
      }
      if (n_fields < 2) throw Error(reader.where(), "expected a row name followed by values");
    } else if (fields.size() != n_fields) {
      throw Error(reader.where(), "has " + std::to_string(fields.size()) + " fields, expected " +
                                      std::to_string(n_fields) + " as on the first data row");
    }
    row_names.emplace_back(unquote(fields[0]));
    for (std::size_t j = 1; j < n_fields; ++j) {
      std::string_view s = unquote(fields[j]);
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      double v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v))
        throw Error(reader.where(), "column " + std::to_string(j + 1) + " ('" + header[j - 1] +
                                        "'): not a finite number: '" + std::string(unquote(fields[j])) + "'");
      if (v == 0) continue;
      indices.push_back(std::int32_t(j - 1));
      values.push_back(float(v));
    }
    indptr.push_back(std::int64_t(indices.size()));
  }
  if (row_names.empty()) throw Error(path, "no data rows after the header");

  if (!genes_in_rows) {
    obs_.index = std::move(row_names);
    var_.index = std::move(header);
    indptr_ = std::move(indptr);
    indices_ = std::move(indices);
    values_ = std::move(values);
    return;
  }
  obs_.index = std::move(header);
  var_.index = std::move(row_names);
  const std::size_t n_cells = obs_.index.size();
  indptr_.assign(n_cells + 1, 0);
  for (auto c : indices) ++indptr_[std::size_t(c) + 1];
  for (std::size_t i = 1; i <= n_cells; ++i) indptr_[i] += indptr_[i - 1];
  indices_.resize(indices.size());
  values_.resize(values.size());
  std::vector<std::int64_t> next(indptr_.begin(), indptr_.end() - 1);
  for (std::size_t gene = 0; gene + 1 < indptr.size(); ++gene)
    for (auto k = std::size_t(indptr[gene]); k < std::size_t(indptr[gene + 1]); ++k) {
      auto at = std::size_t(next[std::size_t(indices[k])]++);
      indices_[at] = std::int32_t(gene);
      values_[at] = values[k];
    }
}


}  // namespace c2s
