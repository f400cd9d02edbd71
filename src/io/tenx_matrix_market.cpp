// 10x matrix-market folder reader: parses the coordinate file once into CSR
// over cells (a counting sort by barcode unless the file is already ordered
// by barcode, as Cell Ranger writes it).
#include "io/tenx_matrix_market.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/line_reader.hpp"
#include "io/tenx_features.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

// Splits on runs of spaces and tabs; returns the number of fields (at most max).
std::size_t split_blanks(std::string_view line, std::string_view* out, std::size_t max) {
  std::size_t n = 0, i = 0;
  while (i < line.size() && n < max) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i == line.size()) break;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    out[n++] = line.substr(i, j - i);
    i = j;
  }
  return n;
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return out;
    start = tab + 1;
  }
}

bool parse_int(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_float(std::string_view s, float& v) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The first of <dir>/<prefix><name>[.gz] that exists, or "".
std::string find_file(const fs::path& dir, const std::string& prefix, std::initializer_list<const char*> names) {
  std::error_code ec;
  for (const char* name : names)
    for (const char* suffix : {".gz", ""}) {
      fs::path p = dir / (prefix + name + suffix);
      if (fs::is_regular_file(p, ec)) return p.string();
    }
  return "";
}

TenxFeatures read_features(const std::string& path) {
  TenxFeatures f;
  LineReader reader(path);
  std::string_view line;
  bool any_type = false;
  while (reader.next(line)) {
    if (line.empty()) continue;
    auto fields = split_tabs(line);
    if (fields[0].empty()) throw Error(reader.where(), "empty feature id");
    f.ids.emplace_back(fields[0]);
    f.names.emplace_back(fields.size() > 1 && !fields[1].empty() ? fields[1] : fields[0]);
    f.types.emplace_back(fields.size() > 2 ? fields[2] : std::string_view());
    any_type |= fields.size() > 2;
  }
  if (!any_type) f.types.clear();
  return f;
}

std::vector<std::string> read_barcodes(const std::string& path) {
  std::vector<std::string> barcodes;
  LineReader reader(path);
  std::string_view line;
  while (reader.next(line)) {
    if (line.empty()) continue;
    barcodes.emplace_back(line.substr(0, line.find('\t')));
  }
  return barcodes;
}

}  // namespace

TenxMatrixMarket::TenxMatrixMarket(const std::string& path) {
  description_ = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path, "no such file or folder");
  fs::path dir = path;
  std::string prefix;
  if (!fs::is_directory(path, ec)) {
    std::string name = fs::path(path).filename().string();
    std::string lname = lower(name);
    std::size_t cut = lname.ends_with("matrix.mtx.gz") ? 13 : lname.ends_with("matrix.mtx") ? 10 : std::string::npos;
    if (cut == std::string::npos) throw Error(path, "not a 10x matrix file (expected a name ending in matrix.mtx[.gz])");
    prefix = name.substr(0, name.size() - cut);
    dir = fs::path(path).parent_path();
    if (dir.empty()) dir = ".";
  }
  std::string matrix = find_file(dir, prefix, {"matrix.mtx"});
  if (matrix.empty())
    throw Error(path, "no " + prefix + "matrix.mtx or " + prefix + "matrix.mtx.gz: not a 10x matrix-market folder");
  std::string features = find_file(dir, prefix, {"features.tsv", "genes.tsv"});
  if (features.empty())
    throw Error(path, "no " + prefix + "features.tsv[.gz] or " + prefix + "genes.tsv[.gz] beside the matrix");
  std::string barcodes = find_file(dir, prefix, {"barcodes.tsv"});
  if (barcodes.empty()) throw Error(path, "no " + prefix + "barcodes.tsv[.gz] beside the matrix");

  TenxFeatures f = read_features(features);
  TenxVar v = tenx_var(f, features);
  var_ = std::move(v.var);
  obs_.index = read_barcodes(barcodes);
  read_matrix(matrix, v.column_of, std::int64_t(f.ids.size()));
  description_ = fs::path(matrix).parent_path().string();
  if (description_.empty()) description_ = ".";
}

void TenxMatrixMarket::read_matrix(const std::string& path, const std::vector<std::int32_t>& column_of,
                                   std::int64_t n_features) {
  LineReader reader(path);
  std::string_view line;
  std::string_view f[5];
  if (!reader.next(line)) throw Error(path, "empty file");
  std::size_t nf = split_blanks(line, f, 5);
  if (nf != 5 || lower(f[0]) != "%%matrixmarket" || lower(f[1]) != "matrix" || lower(f[2]) != "coordinate")
    throw Error(reader.where(), "not a MatrixMarket coordinate header: '" + std::string(line.substr(0, 80)) + "'");
  const std::string field = lower(f[3]), symmetry = lower(f[4]);
  const bool is_integer = field == "integer", is_pattern = field == "pattern";
  if (!is_integer && !is_pattern && field != "real" && field != "double")
    throw Error(reader.where(), "unsupported MatrixMarket field '" + field + "' (expected integer, real or pattern)");
  if (symmetry != "general")
    throw Error(reader.where(), "unsupported MatrixMarket symmetry '" + symmetry + "' (expected general)");

  do {
    if (!reader.next(line)) throw Error(path, "no size line after the header");
  } while (line.empty() || line[0] == '%');
  std::int64_t n_genes = 0, n_cells = 0, nnz = 0;
  if (split_blanks(line, f, 4) != 3 || !parse_int(f[0], n_genes) || !parse_int(f[1], n_cells) ||
      !parse_int(f[2], nnz) || n_genes < 0 || n_cells < 0 || nnz < 0)
    throw Error(reader.where(), "expected '<rows> <columns> <entries>', found '" + std::string(line.substr(0, 80)) + "'");
  if (n_genes != n_features)
    throw Error(path, "matrix has " + std::to_string(n_genes) + " rows but the feature file lists " +
                          std::to_string(n_features) + " features");
  if (n_cells != n_rows())
    throw Error(path, "matrix has " + std::to_string(n_cells) + " columns but the barcode file lists " +
                          std::to_string(n_rows()) + " barcodes");
  if (n_cells > INT32_MAX || n_genes > INT32_MAX) throw Error(path, "matrix dimensions exceed 2^31");

  // The header's count is untrusted: reserve no more than the file could hold
  // (an entry takes at least 6 bytes; gzip rarely shrinks text 6-fold).
  std::error_code ec;
  auto file_bytes = std::int64_t(fs::file_size(path, ec));
  std::vector<std::int32_t> cells, genes;
  std::vector<float> values;
  std::int64_t reserve = std::min(nnz, ec ? std::int64_t(1) << 20 : file_bytes / 6 + 1);
  cells.reserve(std::size_t(reserve));
  genes.reserve(std::size_t(reserve));
  values.reserve(std::size_t(reserve));

  Progress progress("read " + fs::path(path).filename().string(), std::uint64_t(nnz), "entries");
  const std::size_t want = is_pattern ? 2 : 3;
  std::int64_t seen = 0;
  bool ordered = true;
  std::int32_t last_cell = 0;
  while (reader.next(line)) {
    if (line.empty() || line[0] == '%') continue;
    if (seen == nnz)
      throw Error(reader.where(), "more entries than the " + std::to_string(nnz) + " the size line declares");
    if (split_blanks(line, f, 4) != want)
      throw Error(reader.where(), "expected " + std::string(is_pattern ? "'<row> <column>'" : "'<row> <column> <value>'") +
                                      ", found '" + std::string(line.substr(0, 80)) + "'");
    std::int64_t g, c;
    if (!parse_int(f[0], g) || !parse_int(f[1], c))
      throw Error(reader.where(), "row and column must be integers, found '" + std::string(line.substr(0, 80)) + "'");
    if (g < 1 || g > n_genes)
      throw Error(reader.where(), "row " + std::to_string(g) + " out of range 1.." + std::to_string(n_genes));
    if (c < 1 || c > n_cells)
      throw Error(reader.where(), "column " + std::to_string(c) + " out of range 1.." + std::to_string(n_cells));
    float value = 1.0f;
    if (is_integer) {
      std::int64_t iv;
      if (!parse_int(f[2], iv)) throw Error(reader.where(), "value '" + std::string(f[2]) + "' is not an integer");
      value = float(iv);
    } else if (!is_pattern && !parse_float(f[2], value)) {
      throw Error(reader.where(), "value '" + std::string(f[2]) + "' is not a number");
    }
    ++seen;
    if ((seen & 0xFFFFF) == 0) progress.advance(0x100000);
    std::int32_t column = column_of[std::size_t(g - 1)];
    if (column < 0) continue;
    auto cell = std::int32_t(c - 1);
    ordered &= cell >= last_cell;
    last_cell = cell;
    cells.push_back(cell);
    genes.push_back(column);
    values.push_back(value);
  }
  if (seen != nnz)
    throw Error(path, "the size line declares " + std::to_string(nnz) + " entries but the file has " +
                          std::to_string(seen));
  progress.advance(std::uint64_t(seen & 0xFFFFF));
  progress.finish();

  indptr_.assign(std::size_t(n_cells) + 1, 0);
  for (auto c : cells) ++indptr_[std::size_t(c) + 1];
  for (std::size_t i = 1; i < indptr_.size(); ++i) indptr_[i] += indptr_[i - 1];
  if (ordered) {
    indices_ = std::move(genes);
    values_ = std::move(values);
  } else {
    indices_.resize(genes.size());
    values_.resize(values.size());
    std::vector<std::int64_t> next(indptr_.begin(), indptr_.end() - 1);
    for (std::size_t i = 0; i < cells.size(); ++i) {
      auto at = std::size_t(next[std::size_t(cells[i])]++);
      indices_[at] = genes[i];
      values_[at] = values[i];
    }
  }
}


}  // namespace c2s
