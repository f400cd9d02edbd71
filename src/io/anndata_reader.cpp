// AnnData .h5ad reader: resolves which matrix to read (X, raw/X, layers/<name>,
// legacy raw.X), streams dense and CSR rows from disk block by block, converts
// CSC once in memory, and decodes obs/var in both the >= 0.7 group layout and
// the legacy compound-dataset layout.
#include "io/anndata_reader.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "core/error.hpp"
#include "io/anndata_dataframe.hpp"
#include "io/hdf5_file.hpp"
#include "io/mapped_file.hpp"

namespace c2s {

namespace {

using h5::Handle;

std::string encoding_of(hid_t obj) {
  return h5::has_attribute(obj, "encoding-type") ? h5::read_string_attribute(obj, "encoding-type") : "";
}

std::int64_t length_of(hid_t dataset) {
  auto s = h5::shape(dataset);
  return s.size() == 1 ? s[0] : -1;
}

// numpy booleans as h5py stores them: an enum over int8 {FALSE, TRUE}.
bool is_bool_enum(hid_t type) {
  if (H5Tget_class(type) != H5T_ENUM || H5Tget_nmembers(type) != 2) return false;
  for (unsigned i = 0; i < 2; ++i) {
    char* name = H5Tget_member_name(type, i);
    std::string s = name ? name : "";
    H5free_memory(name);
    if (s != "FALSE" && s != "TRUE") return false;
  }
  return true;
}

// Reads a 1-D boolean dataset (h5py enum, or plain integers) as 0/1 bytes.
std::vector<std::uint8_t> read_booleans(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  std::int64_t n = length_of(dataset);
  std::vector<std::uint8_t> out(std::size_t(std::max<std::int64_t>(n, 0)));
  if (out.empty()) return out;
  if (H5Tget_class(type) == H5T_ENUM) {
    // HDF5 converts enums only to enums; read the enum's integer values as is.
    Handle mem(H5Tget_native_type(type, H5T_DIR_DEFAULT));
    std::size_t size = H5Tget_size(mem);
    std::vector<unsigned char> raw(size * out.size());
    if (H5Dread(dataset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()) < 0)
      throw Error(h5::where(dataset), "cannot read booleans (corrupt or truncated?)");
    for (std::size_t i = 0; i < out.size(); ++i) {
      bool nonzero = false;
      for (std::size_t b = 0; b < size; ++b) nonzero |= raw[i * size + b] != 0;
      out[i] = nonzero;
    }
    return out;
  }
  auto v = h5::read_vector<std::uint8_t>(dataset);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = v[i] != 0;
  return out;
}

// Category labels as text, whatever their stored type (strings, numbers or
// booleans); nullopt when of a kind we do not decode.
std::optional<std::vector<std::string>> read_labels(hid_t dataset) {
  if (length_of(dataset) < 0) return std::nullopt;
  Handle type(H5Dget_type(dataset));
  switch (H5Tget_class(type)) {
    case H5T_STRING: return h5::read_strings(dataset);
    case H5T_INTEGER:
    case H5T_FLOAT: {
      Column c;
      c.kind = Column::Kind::Numeric;
      c.numbers = h5::read_vector<double>(dataset);
      std::vector<std::string> out;
      for (std::size_t i = 0; i < c.size(); ++i) out.push_back(c.text(i));
      return out;
    }
    case H5T_ENUM:
      if (is_bool_enum(type)) {
        std::vector<std::string> out;
        for (auto b : read_booleans(dataset)) out.push_back(b ? "True" : "False");
        return out;
      }
      return std::nullopt;
    default: return std::nullopt;
  }
}

Column categorical(const std::string& name, hid_t codes_ds, std::vector<std::string> categories, bool ordered) {
  Column c;
  c.name = name;
  c.kind = Column::Kind::Categorical;
  c.ordered = ordered;
  c.categories = std::move(categories);
  c.codes = h5::read_vector<std::int32_t>(codes_ds);
  for (auto code : c.codes)
    if (code < -1 || code >= std::int32_t(c.categories.size()))
      throw Error(h5::where(codes_ds), "category code " + std::to_string(code) + " out of range (" +
                                           std::to_string(c.categories.size()) + " categories)");
  return c;
}

bool read_ordered(hid_t obj) {
  if (!h5::has_attribute(obj, "ordered")) return false;
  Handle attr(H5Aopen(obj, "ordered", H5P_DEFAULT));
  Handle type(H5Aget_type(attr));
  Handle mem(H5Tget_native_type(type, H5T_DIR_DEFAULT));
  if (H5Tget_size(mem) > 8) return false;
  unsigned char raw[8] = {};
  if (H5Aread(attr, mem, raw) < 0) return false;
  for (auto b : raw)
    if (b) return true;
  return false;
}

// anndata 0.7 stored a categorical column as its codes with an attribute
// `categories` holding an object reference to the categories dataset.
std::optional<Column> referenced_categorical(hid_t dataset, const std::string& name) {
  Handle attr(H5Aopen(dataset, "categories", H5P_DEFAULT));
  Handle type(H5Aget_type(attr));
  if (H5Tget_class(type) != H5T_REFERENCE) return std::nullopt;
  hobj_ref_t ref{};
  if (H5Aread(attr, H5T_STD_REF_OBJ, &ref) < 0) return std::nullopt;
  Handle cats(H5Rdereference2(dataset, H5P_DEFAULT, H5R_OBJECT, &ref));
  if (!cats.valid() || H5Iget_type(cats) != H5I_DATASET) return std::nullopt;
  auto labels = read_labels(cats);
  if (!labels) return std::nullopt;
  return categorical(name, dataset, std::move(*labels), read_ordered(cats));
}

std::optional<Column> column_from_dataset(hid_t dataset, const std::string& name) {
  if (length_of(dataset) < 0) return std::nullopt;  // 2-D and scalar columns are not obs/var columns
  Handle type(H5Dget_type(dataset));
  Column c;
  c.name = name;
  switch (H5Tget_class(type)) {
    case H5T_STRING:
      c.kind = Column::Kind::String;
      c.strings = h5::read_strings(dataset);
      return c;
    case H5T_INTEGER:
    case H5T_FLOAT:
      if (h5::has_attribute(dataset, "categories")) return referenced_categorical(dataset, name);
      c.kind = Column::Kind::Numeric;
      c.numbers = h5::read_vector<double>(dataset);
      return c;
    case H5T_ENUM:
      if (!is_bool_enum(type)) return std::nullopt;
      c.kind = Column::Kind::Boolean;
      c.booleans = read_booleans(dataset);
      return c;
    default: return std::nullopt;
  }
}

// pandas nullable arrays: `values` plus an optional boolean `mask` (true =
// missing). Integers become numbers with NaN where masked; booleans stay
// booleans when nothing is masked, else a False/True categorical with
// missing codes, so that no value is invented.
std::optional<Column> nullable_column(hid_t group, const std::string& name, bool boolean) {
  if (!h5::is_dataset(group, "values")) return std::nullopt;
  Handle values = h5::open_dataset(group, "values");
  std::vector<std::uint8_t> mask;
  if (h5::is_dataset(group, "mask")) {
    Handle m = h5::open_dataset(group, "mask");
    mask = read_booleans(m);
    if (std::int64_t(mask.size()) != length_of(values))
      throw Error(h5::where(group, "mask"), "has " + std::to_string(mask.size()) + " entries, values has " +
                                                std::to_string(length_of(values)));
  }
  Column c;
  c.name = name;
  if (!boolean) {
    c.kind = Column::Kind::Numeric;
    c.numbers = h5::read_vector<double>(values);
    for (std::size_t i = 0; i < mask.size(); ++i)
      if (mask[i]) c.numbers[i] = std::numeric_limits<double>::quiet_NaN();
    return c;
  }
  auto b = read_booleans(values);
  if (std::none_of(mask.begin(), mask.end(), [](auto m) { return m != 0; })) {
    c.kind = Column::Kind::Boolean;
    c.booleans = std::move(b);
    return c;
  }
  c.kind = Column::Kind::Categorical;
  c.categories = {"False", "True"};
  c.codes.resize(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) c.codes[i] = mask[i] ? -1 : (b[i] ? 1 : 0);
  return c;
}

// One column of a dataframe group; nullopt for encodings we do not decode
// (such columns are skipped: they must not keep the matrix from being read).
std::optional<Column> read_column(hid_t frame, const std::string& name) {
  if (h5::is_dataset(frame, name)) {
    Handle ds = h5::open_dataset(frame, name);
    return column_from_dataset(ds, name);
  }
  if (!h5::is_group(frame, name)) return std::nullopt;
  Handle g = h5::open_group(frame, name);
  std::string enc = encoding_of(g);
  if (enc == "categorical") {
    if (!h5::is_dataset(g, "codes") || !h5::is_dataset(g, "categories"))
      throw Error(h5::where(g), "categorical column without codes and categories");
    Handle cats = h5::open_dataset(g, "categories");
    auto labels = read_labels(cats);
    if (!labels) return std::nullopt;
    Handle codes = h5::open_dataset(g, "codes");
    return categorical(name, codes, std::move(*labels), read_ordered(g));
  }
  if (enc == "nullable-integer") return nullable_column(g, name, false);
  if (enc == "nullable-boolean") return nullable_column(g, name, true);
  return std::nullopt;
}

std::vector<std::string> default_index(std::int64_t n) {
  std::vector<std::string> out(std::size_t(std::max<std::int64_t>(n, 0)));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::to_string(i);
  return out;
}

std::vector<std::string> as_text(const Column& c) {
  if (c.kind == Column::Kind::String) return c.strings;
  std::vector<std::string> out(c.size());
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = c.text(i);
  return out;
}

void check_rows(const Column& c, std::size_t n, hid_t frame) {
  if (c.size() != n)
    throw Error(h5::where(frame, c.name), "has " + std::to_string(c.size()) + " rows, the index has " +
                                              std::to_string(n));
}

// anndata >= 0.7: a group with `_index` naming the index dataset and
// `column-order` listing the columns.
DataFrame read_frame_group(hid_t frame) {
  std::string enc = encoding_of(frame);
  if (!enc.empty() && enc != "dataframe") throw Error(h5::where(frame), "unsupported encoding '" + enc + "'");
  DataFrame df;
  std::string index_key = h5::has_attribute(frame, "_index") ? h5::read_string_attribute(frame, "_index") : "_index";
  if (!h5::is_dataset(frame, index_key)) throw Error(h5::where(frame, index_key), "index dataset missing");
  {
    Handle ds = h5::open_dataset(frame, index_key);
    auto index = column_from_dataset(ds, index_key);
    if (!index) throw Error(h5::where(frame, index_key), "index is not a 1-D array of names");
    df.index = as_text(*index);
  }
  std::vector<std::string> order;
  if (h5::has_attribute(frame, "column-order")) {
    order = h5::read_string_array_attribute(frame, "column-order");
  } else {
    for (auto& name : h5::children(frame))
      if (name != index_key && name != "__categories") order.push_back(name);
  }
  for (const auto& name : order) {
    if (name == index_key) continue;
    auto c = read_column(frame, name);
    if (!c) continue;
    check_rows(*c, df.index.size(), frame);
    df.columns.push_back(std::move(*c));
  }
  return df;
}

// Pre-0.7 layout: a compound dataset with one member per column; categorical
// columns are integer codes whose labels live in uns/<column>_categories.
DataFrame read_frame_compound(hid_t file, hid_t dataset) {
  DataFrame df;
  Handle type(H5Dget_type(dataset));
  std::int64_t n = length_of(dataset);
  if (n < 0) throw Error(h5::where(dataset), "expected a 1-D table");
  auto members = h5::compound_members(dataset);
  auto member_class = [&](const std::string& m) {
    return H5Tget_member_class(type, unsigned(H5Tget_member_index(type, m.c_str())));
  };
  std::string index_key;
  for (const char* k : {"index", "_index"})
    if (std::find(members.begin(), members.end(), k) != members.end()) index_key = k;
  if (index_key.empty())
    for (auto& m : members)
      if (member_class(m) == H5T_STRING) {
        index_key = m;
        break;
      }
  if (index_key.empty()) {
    df.index = default_index(n);
  } else if (member_class(index_key) == H5T_STRING) {
    df.index = h5::read_compound_strings(dataset, index_key);
  } else {
    Column c;
    c.kind = Column::Kind::Numeric;
    c.numbers = h5::read_compound_numbers(dataset, index_key);
    df.index = as_text(c);
  }
  for (const auto& m : members) {
    if (m == index_key) continue;
    Column c;
    c.name = m;
    H5T_class_t cls = member_class(m);
    if (cls == H5T_STRING) {
      c.kind = Column::Kind::String;
      c.strings = h5::read_compound_strings(dataset, m);
    } else if (cls == H5T_ENUM) {
      Handle mt(H5Tget_member_type(type, unsigned(H5Tget_member_index(type, m.c_str()))));
      if (!is_bool_enum(mt)) continue;
      c.kind = Column::Kind::Boolean;
      for (double v : h5::read_compound_numbers(dataset, m)) c.booleans.push_back(v != 0);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
      c.kind = Column::Kind::Numeric;
      c.numbers = h5::read_compound_numbers(dataset, m);
      std::string cats_path = "uns/" + m + "_categories";
      if (cls == H5T_INTEGER && h5::is_dataset(file, cats_path)) {
        Handle cats = h5::open_dataset(file, cats_path);
        if (auto labels = read_labels(cats)) {
          c.kind = Column::Kind::Categorical;
          c.categories = std::move(*labels);
          for (double v : c.numbers) {
            auto code = std::int32_t(v);
            if (code < -1 || code >= std::int32_t(c.categories.size()))
              throw Error(h5::where(dataset, m), "category code " + std::to_string(code) + " out of range (" +
                                                     std::to_string(c.categories.size()) + " categories in " +
                                                     cats_path + ")");
            c.codes.push_back(code);
          }
          c.numbers.clear();
        }
      }
    } else {
      continue;  // array members (legacy obsm-like fields) are not columns
    }
    df.columns.push_back(std::move(c));
  }
  return df;
}

// Reads obs/var from `path`; a missing table gets anndata's default names.
DataFrame read_frame(hid_t file, const std::string& path, std::int64_t expected_rows, const std::string& what) {
  DataFrame df;
  if (h5::is_group(file, path)) {
    Handle g = h5::open_group(file, path);
    df = read_frame_group(g);
  } else if (h5::is_dataset(file, path)) {
    Handle ds = h5::open_dataset(file, path);
    if (h5::type_class(ds) != H5T_COMPOUND) throw Error(h5::where(file, path), "expected a table");
    df = read_frame_compound(file, ds);
  } else {
    df.index = default_index(expected_rows);
  }
  if (std::int64_t(df.index.size()) != expected_rows)
    throw Error(h5::where(file, path), "has " + std::to_string(df.index.size()) + " rows, the matrix has " +
                                           std::to_string(expected_rows) + " " + what);
  return df;
}

}  // namespace

DataFrame read_anndata_dataframe(hid_t parent, const std::string& name) {
  if (!h5::is_group(parent, name)) throw Error(h5::where(parent, name), "no such dataframe group");
  Handle g = h5::open_group(parent, name);
  return read_frame_group(g);
}

struct AnnDataReader::Impl {
  std::string path;
  std::string matrix;  // object path of the matrix inside the file
  Handle file;
  Layout layout = Layout::Dense;
  std::int64_t rows = 0, cols = 0;
  DataFrame obs, var;

  Handle dense;                      // Dense: the 2-D dataset
  Handle data, indices;              // Csr / Csc: stored entries
  std::vector<std::int64_t> indptr;  // Csr: row offsets; Csc: column offsets until converted
  bool converted = false;            // Csc: csr_* below hold the whole matrix
  std::vector<std::int64_t> csr_indptr;
  std::vector<std::int32_t> csr_indices;
  std::vector<float> csr_values;
  std::vector<float> block;  // Dense: reused read buffer
  // Csr: the file mapped, when indices and data lie in it as int32 / float32
  // one after another (uncompressed): blocks then point into it.
  std::unique_ptr<MappedFile> mapping;
  MappedArray<std::int32_t> mapped_indices;
  MappedArray<float> mapped_data;
  std::int64_t released_upto = 0, previous_lo = 0;  // entries whose pages were given back

  std::string where(const std::string& name = "") const { return h5::where(file, name); }

  void open_matrix();
  void open_sparse(hid_t group, bool csr, const std::vector<std::int64_t>& shape);
  void convert_csc();
  void map_entries();
  bool read_mapped_rows(std::int64_t lo, SparseRows& out);
  void check_indices(const std::int32_t* idx, const std::int64_t* offsets, std::int64_t n_major,
                     std::int64_t first_major, std::int64_t limit) const;
};

void AnnDataReader::Impl::open_matrix() {
  if (h5::is_dataset(file, matrix)) {
    Handle ds = h5::open_dataset(file, matrix);
    std::string enc = encoding_of(ds);
    if (!enc.empty() && enc != "array") throw Error(where(matrix), "unsupported matrix encoding '" + enc + "'");
    auto s = h5::shape(ds);
    if (s.size() != 2) throw Error(where(matrix), "expected a 2-D matrix, found " + std::to_string(s.size()) + "-D");
    H5T_class_t cls = h5::type_class(ds);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw Error(where(matrix), "matrix values are not numbers");
    if (s[1] > std::numeric_limits<std::int32_t>::max()) throw Error(where(matrix), "more than 2^31 columns");
    layout = Layout::Dense;
    rows = s[0];
    cols = s[1];
    dense = std::move(ds);
    return;
  }
  if (!h5::is_group(file, matrix)) throw Error(where(matrix), "not a dataset or group");
  Handle g = h5::open_group(file, matrix);
  std::string enc = encoding_of(g);
  std::vector<std::int64_t> shape;
  bool csr;
  if (enc == "csr_matrix" || enc == "csc_matrix") {
    csr = enc == "csr_matrix";
    if (!h5::has_attribute(g, "shape")) throw Error(where(matrix), "sparse matrix without a shape attribute");
    shape = h5::read_int_array_attribute(g, "shape");
  } else if (enc.empty() && h5::has_attribute(g, "h5sparse_format")) {
    // Pre-0.7 files written through h5sparse.
    std::string fmt = h5::read_string_attribute(g, "h5sparse_format");
    if (fmt != "csr" && fmt != "csc") throw Error(where(matrix), "unsupported h5sparse_format '" + fmt + "'");
    csr = fmt == "csr";
    if (!h5::has_attribute(g, "h5sparse_shape")) throw Error(where(matrix), "sparse matrix without h5sparse_shape");
    shape = h5::read_int_array_attribute(g, "h5sparse_shape");
  } else if (enc.empty()) {
    throw Error(where(matrix), "group without an encoding-type (expected csr_matrix or csc_matrix)");
  } else {
    throw Error(where(matrix), "unsupported matrix encoding '" + enc + "'");
  }
  open_sparse(g, csr, shape);
}

void AnnDataReader::Impl::open_sparse(hid_t group, bool csr, const std::vector<std::int64_t>& shape) {
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
    throw Error(where(matrix), "shape attribute is not two non-negative sizes");
  rows = shape[0];
  cols = shape[1];
  layout = csr ? Layout::Csr : Layout::Csc;
  // Column indices (or, for CSC, row indices) are held as int32.
  if ((csr ? cols : rows) > std::numeric_limits<std::int32_t>::max())
    throw Error(where(matrix), "more than 2^31 " + std::string(csr ? "columns" : "rows"));
  for (const char* name : {"data", "indices", "indptr"})
    if (!h5::is_dataset(group, name)) throw Error(h5::where(group, name), "missing");
  data = h5::open_dataset(group, "data");
  indices = h5::open_dataset(group, "indices");
  Handle ptr = h5::open_dataset(group, "indptr");
  H5T_class_t cls = h5::type_class(data);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) throw Error(h5::where(group, "data"), "values are not numbers");
  if (h5::type_class(indices) != H5T_INTEGER) throw Error(h5::where(group, "indices"), "not integers");
  if (h5::type_class(ptr) != H5T_INTEGER) throw Error(h5::where(group, "indptr"), "not integers");
  std::int64_t nnz = length_of(data);
  if (nnz < 0) throw Error(h5::where(group, "data"), "expected a 1-D array");
  if (length_of(indices) != nnz)
    throw Error(h5::where(group, "indices"), "has " + std::to_string(length_of(indices)) + " entries, data has " +
                                                 std::to_string(nnz));
  std::int64_t major = csr ? rows : cols;
  std::int64_t n_ptr = length_of(ptr);
  if (n_ptr != major + 1)
    throw Error(h5::where(group, "indptr"), "has " + std::to_string(n_ptr) + " entries, expected " +
                                                std::to_string(major + 1) + " for shape (" + std::to_string(rows) +
                                                ", " + std::to_string(cols) + ")");
  // Read whole (8 bytes per row): every block then needs only two reads.
  indptr = h5::read_vector<std::int64_t>(ptr);
  if (indptr[0] != 0) throw Error(h5::where(group, "indptr"), "does not start at 0");
  for (std::size_t i = 1; i < indptr.size(); ++i)
    if (indptr[i] < indptr[i - 1])
      throw Error(h5::where(group, "indptr"), "decreases at entry " + std::to_string(i));
  if (indptr.back() != nnz)
    throw Error(h5::where(group, "indptr"), "ends at " + std::to_string(indptr.back()) + ", data has " +
                                                std::to_string(nnz) + " entries");
  if (csr) map_entries();
}

// `offsets` (n_major + 1 of them, starting at 0) delimit the rows (columns for
// CSC) of `idx`; every index must be below `limit`.
void AnnDataReader::Impl::check_indices(const std::int32_t* idx, const std::int64_t* offsets, std::int64_t n_major,
                                        std::int64_t first_major, std::int64_t limit) const {
  std::int64_t n = offsets[n_major];
  // A branch-free maximum (vectorised) first; the search only on failure.
  std::uint32_t largest = 0;
  for (std::int64_t k = 0; k < n; ++k) largest = std::max(largest, std::uint32_t(idx[k]));
  if (n == 0 || largest < std::uint64_t(limit)) return;
  for (std::int64_t k = 0; k < n; ++k) {
    if (std::uint32_t(idx[k]) < std::uint64_t(limit)) continue;
    // Off the fast path: find which row holds the bad entry, for the message.
    std::int64_t r = std::upper_bound(offsets, offsets + n_major + 1, k) - offsets - 1;
    throw Error(where(matrix + "/indices"), "index " + std::to_string(idx[k]) + " out of range (" +
                                                std::to_string(limit) + ") in " +
                                                (layout == Layout::Csc ? "column " : "row ") +
                                                std::to_string(first_major + r));
  }
}

void AnnDataReader::Impl::map_entries() {
  const std::int64_t nnz = indptr.back();
  if (nnz == 0) return;
  auto idx_layout = h5::raw_layout(indices, H5T_NATIVE_INT32);
  auto val_layout = h5::raw_layout(data, H5T_NATIVE_FLOAT);
  if (!idx_layout || !val_layout) return;
  auto file = MappedFile::open(path);
  if (!file) return;
  const auto n = std::uint64_t(nnz);
  // Chunks are located as blocks are read (a lookup each), not all up front.
  MappedArray<std::int32_t> idx(*file, idx_layout->chunk_elements, n, [this, l = *idx_layout](std::uint64_t c) {
    return h5::chunk_offset(indices, c, l, sizeof(std::int32_t));
  });
  MappedArray<float> val(*file, val_layout->chunk_elements, n, [this, l = *val_layout](std::uint64_t c) {
    return h5::chunk_offset(data, c, l, sizeof(float));
  });
  // The mapping must agree with what HDF5 reads, at both ends.
  const std::int64_t probe = std::min<std::int64_t>(nnz, 64);
  const auto n_probe = static_cast<std::size_t>(probe);
  for (std::int64_t from : {std::int64_t(0), nnz - probe}) {
    const auto b = std::uint64_t(from), e = std::uint64_t(from + probe);
    if (!idx.resolve(b, e) || !val.resolve(b, e)) return;
    std::vector<std::int32_t> i_h5(n_probe), i_map(n_probe);
    std::vector<float> v_h5(n_probe), v_map(n_probe);
    h5::read_1d(indices, H5T_NATIVE_INT32, from, probe, i_h5.data());
    h5::read_1d(data, H5T_NATIVE_FLOAT, from, probe, v_h5.data());
    idx.copy(b, e, i_map.data());
    val.copy(b, e, v_map.data());
    if (std::memcmp(i_h5.data(), i_map.data(), n_probe * 4) || std::memcmp(v_h5.data(), v_map.data(), n_probe * 4))
      return;
  }
  mapping = std::move(file);
  mapped_indices = std::move(idx);
  mapped_data = std::move(val);
}

// Points each row of `out` (indptr already set; its entries start at entry
// `lo`) at its entries in the mapped file; the few rows that cross a gap
// between stored chunks are copied into out.indices / out.values. False,
// with `out` untouched, when a chunk of the block cannot be located.
bool AnnDataReader::Impl::read_mapped_rows(std::int64_t lo, SparseRows& out) {
  const std::int64_t n = out.n_rows();
  const auto first = std::uint64_t(lo), last = first + std::uint64_t(out.nnz());
  if (!mapped_indices.resolve(first, last) || !mapped_data.resolve(first, last)) return false;
  // Map this block's pages now, on the reading thread, rather than by faults
  // in the workers; give back those of blocks before the previous one.
  mapped_indices.prefault(first, last);
  mapped_data.prefault(first, last);
  mapped_indices.release(std::uint64_t(released_upto), std::uint64_t(previous_lo));
  mapped_data.release(std::uint64_t(released_upto), std::uint64_t(previous_lo));
  released_upto = std::max(released_upto, previous_lo);
  previous_lo = lo;

  // Row r's entries are [first + indptr[r], first + indptr[r + 1]) of the arrays.
  auto entry = [&](std::int64_t r) { return first + std::uint64_t(out.indptr[std::size_t(r)]); };
  std::vector<const std::int32_t*> index_at(std::size_t(n), nullptr);
  std::vector<const float*> value_at(std::size_t(n), nullptr);
  std::size_t copied = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    const auto b = entry(r), e = entry(r + 1);
    index_at[std::size_t(r)] = mapped_indices.find(b, e);
    value_at[std::size_t(r)] = mapped_data.find(b, e);
    if (!index_at[std::size_t(r)] || !value_at[std::size_t(r)]) copied += std::size_t(e - b);
  }
  out.indices.resize(copied);
  out.values.resize(copied);
  std::size_t at = 0;
  for (std::int64_t r = 0; r < n; ++r) {
    const auto b = entry(r), e = entry(r + 1);
    if (!index_at[std::size_t(r)] || !value_at[std::size_t(r)]) {
      mapped_indices.copy(b, e, out.indices.data() + at);
      mapped_data.copy(b, e, out.values.data() + at);
      index_at[std::size_t(r)] = out.indices.data() + at;
      value_at[std::size_t(r)] = out.values.data() + at;
      at += std::size_t(e - b);
    }
    const std::int64_t row_offsets[2] = {0, std::int64_t(e - b)};
    check_indices(index_at[std::size_t(r)], row_offsets, 1, out.first_row + r, cols);
  }
  out.point_rows_at(std::move(index_at), std::move(value_at));
  return true;
}

void AnnDataReader::Impl::convert_csc() {
  std::int64_t nnz = indptr.back();
  std::vector<std::int32_t> row_of(static_cast<std::size_t>(nnz));
  std::vector<float> val(static_cast<std::size_t>(nnz));
  h5::read_1d(indices, H5T_NATIVE_INT32, 0, nnz, row_of.data());
  h5::read_1d(data, H5T_NATIVE_FLOAT, 0, nnz, val.data());
  check_indices(row_of.data(), indptr.data(), cols, 0, rows);
  csr_indptr.assign(std::size_t(rows) + 1, 0);
  for (auto r : row_of) ++csr_indptr[std::size_t(r) + 1];
  for (std::size_t r = 0; r < std::size_t(rows); ++r) csr_indptr[r + 1] += csr_indptr[r];
  std::vector<std::int64_t> next(csr_indptr.begin(), csr_indptr.end() - 1);
  csr_indices.resize(std::size_t(nnz));
  csr_values.resize(std::size_t(nnz));
  for (std::int64_t c = 0; c < cols; ++c)
    for (std::int64_t k = indptr[c]; k < indptr[c + 1]; ++k) {
      auto pos = std::size_t(next[std::size_t(row_of[std::size_t(k)])]++);
      csr_indices[pos] = std::int32_t(c);
      csr_values[pos] = val[std::size_t(k)];
    }
  converted = true;
  data.reset();
  indices.reset();
}

AnnDataReader::AnnDataReader(const std::string& path, const MatrixChoice& choice) : impl_(std::make_unique<Impl>()) {
  auto& m = *impl_;
  m.path = path;
  m.file = h5::open_file(path);
  if (!choice.layer.empty() && choice.raw)
    throw UsageError(path + ": choose either a layer or raw, not both");
  std::string var_path = "var";
  if (!choice.layer.empty()) {
    m.matrix = "layers/" + choice.layer;
    if (!h5::exists(m.file, m.matrix)) {
      std::string have;
      if (h5::is_group(m.file, "layers")) {
        Handle g = h5::open_group(m.file, "layers");
        for (auto& n : h5::children(g)) have += (have.empty() ? "" : ", ") + n;
      }
      throw Error(m.where(m.matrix), "no such layer (layers: " + (have.empty() ? "none" : have) + ")");
    }
  } else if (choice.raw) {
    if (h5::exists(m.file, "raw/X")) {
      m.matrix = "raw/X";
      var_path = "raw/var";
    } else if (h5::exists(m.file, "raw.X")) {
      m.matrix = "raw.X";
      var_path = "raw.var";
    } else {
      throw Error(m.where("raw/X"), "the file has no raw matrix");
    }
    if (!h5::exists(m.file, var_path)) throw Error(m.where(var_path), "raw matrix without its gene table");
  } else {
    m.matrix = "X";
    if (!h5::exists(m.file, "X")) throw Error(m.where("X"), "the file has no X matrix");
  }
  m.open_matrix();
  m.obs = read_frame(m.file, "obs", m.rows, "rows");
  m.var = read_frame(m.file, var_path, m.cols, "columns");
}

AnnDataReader::~AnnDataReader() = default;

std::int64_t AnnDataReader::n_rows() const { return impl_->rows; }
std::int64_t AnnDataReader::n_cols() const { return impl_->cols; }
const DataFrame& AnnDataReader::obs() const { return impl_->obs; }
const DataFrame& AnnDataReader::var() const { return impl_->var; }
AnnDataReader::Layout AnnDataReader::layout() const { return impl_->layout; }
bool AnnDataReader::reads_in_place() const { return impl_->mapping != nullptr; }

std::string AnnDataReader::description() const {
  return impl_->matrix == "X" ? impl_->path : impl_->path + " (" + impl_->matrix + ")";
}

void AnnDataReader::read_rows(std::int64_t begin, std::int64_t end, SparseRows& out) {
  auto& m = *impl_;
  if (begin < 0 || end < begin || end > m.rows)
    throw Error(description(), "rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                                   ") out of range (" + std::to_string(m.rows) + " rows)");
  out.clear(begin, m.cols);
  std::int64_t n = end - begin;
  if (n == 0) return;

  if (m.layout == Layout::Dense) {
    // Read in slabs of at most ~16M values so the buffer stays bounded (64 MiB)
    // whatever block size the caller asks for.
    const std::int64_t slab = std::max<std::int64_t>(1, (std::int64_t(1) << 24) / std::max<std::int64_t>(m.cols, 1));
    out.indptr.resize(std::size_t(n) + 1);
    for (std::int64_t s = 0; s < n; s += slab) {
      std::int64_t k = std::min(slab, n - s);
      m.block.resize(std::size_t(k * m.cols));
      h5::read_rows_2d(m.dense, H5T_NATIVE_FLOAT, begin + s, k, m.block.data());
      const float* p = m.block.data();
      for (std::int64_t r = 0; r < k; ++r, p += m.cols) {
        for (std::int64_t c = 0; c < m.cols; ++c)
          if (p[c] != 0.0f) {
            out.indices.push_back(std::int32_t(c));
            out.values.push_back(p[c]);
          }
        out.indptr[std::size_t(s + r) + 1] = std::int64_t(out.indices.size());
      }
    }
    return;
  }

  if (m.layout == Layout::Csc && !m.converted) m.convert_csc();
  const std::vector<std::int64_t>& ptr = m.converted ? m.csr_indptr : m.indptr;
  std::int64_t lo = ptr[std::size_t(begin)], hi = ptr[std::size_t(end)];
  out.indptr.resize(std::size_t(n) + 1);
  for (std::int64_t r = 0; r <= n; ++r) out.indptr[std::size_t(r)] = ptr[std::size_t(begin + r)] - lo;
  if (m.converted) {
    out.indices.resize(std::size_t(hi - lo));
    out.values.resize(std::size_t(hi - lo));
    std::copy(m.csr_indices.begin() + lo, m.csr_indices.begin() + hi, out.indices.begin());
    std::copy(m.csr_values.begin() + lo, m.csr_values.begin() + hi, out.values.begin());
    return;
  }
  if (m.mapping && m.read_mapped_rows(lo, out)) return;
  // One hyperslab read each; HDF5 converts int64 indices and float64/integer
  // data to our types on the way in.
  out.indices.resize(std::size_t(hi - lo));
  out.values.resize(std::size_t(hi - lo));
  h5::read_1d(m.indices, H5T_NATIVE_INT32, lo, hi - lo, out.indices.data());
  h5::read_1d(m.data, H5T_NATIVE_FLOAT, lo, hi - lo, out.values.data());
  m.check_indices(out.indices.data(), out.indptr.data(), n, begin, m.cols);
}

}  // namespace c2s
