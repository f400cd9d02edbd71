// AnnData .h5ad writer following the anndata 0.8 on-disk spec (the
// encoding-type / encoding-version attributes exactly as anndata writes them),
// streaming X as csr_matrix through extendible datasets into a temporary file
// that is renamed into place on commit().
#include "io/anndata_writer.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "io/anndata_dataframe.hpp"
#include "io/hdf5_file.hpp"

namespace c2s {

namespace {

using h5::Handle;

void set_encoding(hid_t obj, const std::string& type, const std::string& version) {
  h5::write_string_attribute(obj, "encoding-type", type);
  h5::write_string_attribute(obj, "encoding-version", version);
}

void open_and_encode(hid_t loc, const std::string& name, const std::string& type, const std::string& version) {
  Handle ds = h5::open_dataset(loc, name);
  set_encoding(ds, type, version);
}

// anndata refuses keys with '/', and `_index` is reserved in dataframes.
void check_key(const std::string& key, const std::string& where) {
  if (key.empty()) throw Error(where, "empty name");
  if (key.find('/') != std::string::npos) throw Error(where, "name '" + key + "' contains '/'");
}

void write_string_array(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  h5::write_strings(loc, name, values);
  open_and_encode(loc, name, "string-array", "0.2.0");
}

// pandas stores codes in the narrowest signed type that holds the category
// count (pandas.core.dtypes.cast.coerce_indexer_dtype).
void write_codes(hid_t loc, const std::vector<std::int32_t>& codes, std::size_t n_categories) {
  if (n_categories < 127) {
    std::vector<std::int8_t> v(codes.begin(), codes.end());
    h5::write_raw(loc, "codes", H5T_NATIVE_INT8, H5T_STD_I8LE, {std::int64_t(v.size())}, v.data(), true);
  } else if (n_categories < 32767) {
    std::vector<std::int16_t> v(codes.begin(), codes.end());
    h5::write_raw(loc, "codes", H5T_NATIVE_INT16, H5T_STD_I16LE, {std::int64_t(v.size())}, v.data(), true);
  } else {
    h5::write_raw(loc, "codes", H5T_NATIVE_INT32, H5T_STD_I32LE, {std::int64_t(codes.size())}, codes.data(), true);
  }
  open_and_encode(loc, "codes", "array", "0.2.0");
}

void write_column(hid_t frame, const Column& c) {
  const std::int64_t n = std::int64_t(c.size());
  switch (c.kind) {
    case Column::Kind::String: write_string_array(frame, c.name, c.strings); return;
    case Column::Kind::Numeric:
      h5::write_raw(frame, c.name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, {n}, c.numbers.data(), true);
      open_and_encode(frame, c.name, "array", "0.2.0");
      return;
    case Column::Kind::Boolean: {
      Handle t = h5::bool_type();
      std::vector<std::int8_t> b(c.booleans.size());
      for (std::size_t i = 0; i < b.size(); ++i) b[i] = c.booleans[i] ? 1 : 0;
      h5::write_raw(frame, c.name, t, t, {n}, b.data(), true);
      open_and_encode(frame, c.name, "array", "0.2.0");
      return;
    }
    case Column::Kind::Categorical: {
      Handle g = h5::create_group(frame, c.name);
      h5::write_bool_attribute(g, "ordered", c.ordered);
      write_codes(g, c.codes, c.categories.size());
      write_string_array(g, "categories", c.categories);
      set_encoding(g, "categorical", "0.2.0");
      return;
    }
  }
}

// Everything anndata would refuse to read back, checked before anything is
// written so that a failed commit() can be retried after fixing the table.
void check_frame(const DataFrame& df, const std::string& where) {
  std::set<std::string> names;
  for (const auto& c : df.columns) {
    check_key(c.name, where);
    if (c.name == "_index") throw Error(where, "'_index' is reserved for the index, not a column name");
    if (!names.insert(c.name).second) throw Error(where, "duplicate column '" + c.name + "'");
    if (c.size() != df.index.size())
      throw Error(where + "/" + c.name, "has " + std::to_string(c.size()) + " rows, the index has " +
                                            std::to_string(df.index.size()));
    if (c.kind != Column::Kind::Categorical) continue;
    std::set<std::string> unique(c.categories.begin(), c.categories.end());
    if (unique.size() != c.categories.size()) throw Error(where + "/" + c.name, "categories are not unique");
    for (auto code : c.codes)
      if (code < -1 || code >= std::int32_t(c.categories.size()))
        throw Error(where + "/" + c.name, "category code " + std::to_string(code) + " out of range (" +
                                              std::to_string(c.categories.size()) + " categories)");
  }
}

void write_frame(hid_t file, const std::string& name, const DataFrame& df) {
  Handle g = h5::create_group(file, name);
  std::vector<std::string> order;
  for (const auto& c : df.columns) order.push_back(c.name);
  h5::write_string_array_attribute(g, "column-order", order);
  h5::write_string_attribute(g, "_index", "_index");
  write_string_array(g, "_index", df.index);
  for (const auto& c : df.columns) write_column(g, c);
  set_encoding(g, "dataframe", "0.2.0");
}

std::vector<std::string> default_index(std::int64_t n) {
  std::vector<std::string> out(static_cast<std::size_t>(n));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = std::to_string(i);
  return out;
}

}  // namespace

void write_anndata_dataframe(hid_t parent, const std::string& name, const DataFrame& df) {
  check_frame(df, h5::where(parent, name));
  write_frame(parent, name, df);
}

struct AnnDataWriter::Impl {
  // Declared first so it is destroyed last: every HDF5 handle below is
  // closed before an uncommitted temporary is removed.
  AtomicOutput output;
  std::string path;
  std::int64_t cols = 0, rows = 0, nnz = 0;
  std::optional<DataFrame> obs, var;
  std::vector<std::pair<std::string, std::int64_t>> obsm_rows;  // key, rows
  std::set<std::string> uns_keys;
  bool committed = false;
  // Row offsets stay in memory (8 bytes a row) until commit, when their
  // type is known: int32 like scipy's whenever nnz allows, since scipy 1.10
  // fails on column slicing of int64 indptr with int32 indices.
  std::vector<std::int64_t> indptr{0};

  Handle file, x, obsm, uns;
  std::optional<h5::Appender> data, indices;

  explicit Impl(const std::string& p) : output(p), path(p) {}

  void check_open() const {
    if (committed) throw Error(path, "the h5ad file was already committed");
  }
};

AnnDataWriter::AnnDataWriter(const std::string& path, std::int64_t n_cols) : impl_(std::make_unique<Impl>(path)) {
  auto& m = *impl_;
  if (n_cols < 0) throw Error(path, "negative number of columns");
  m.cols = n_cols;
  m.file = h5::create_file(m.output.temp_path().string());
  set_encoding(m.file, "anndata", "0.1.0");
  m.x = h5::create_group(m.file, "X");
  set_encoding(m.x, "csr_matrix", "0.1.0");
  // X uncompressed, as anndata writes by default: gzip made 200k-cell files
  // several times slower to write and to read. Chunks of 64k entries.
  m.data.emplace(m.x, "data", H5T_IEEE_F32LE, 1 << 16);
  m.indices.emplace(m.x, "indices", H5T_STD_I32LE, 1 << 16);
  // The mappings anndata always writes, empty unless filled below.
  for (const char* name : {"layers", "obsm", "obsp", "varm", "varp", "uns"}) {
    Handle g = h5::create_group(m.file, name);
    set_encoding(g, "dict", "0.1.0");
    if (std::string(name) == "obsm") m.obsm = std::move(g);
    if (std::string(name) == "uns") m.uns = std::move(g);
  }
}

AnnDataWriter::~AnnDataWriter() = default;

void AnnDataWriter::append_rows(const SparseRows& rows) {
  auto& m = *impl_;
  m.check_open();
  if (rows.n_cols != m.cols)
    throw Error(m.path, "row block has " + std::to_string(rows.n_cols) + " columns, the matrix has " +
                            std::to_string(m.cols));
  std::int64_t n = rows.n_rows();
  if (n < 0 || rows.indptr.front() != 0 || !rows.entries_in_arrays())
    throw Error(m.path, "malformed row block at row " + std::to_string(m.rows));
  for (std::int64_t r = 0; r < n; ++r)
    if (rows.indptr[std::size_t(r) + 1] < rows.indptr[std::size_t(r)])
      throw Error(m.path, "malformed row block: offsets decrease at row " + std::to_string(m.rows + r));
  for (auto c : rows.indices)
    if (c < 0 || c >= m.cols)
      throw Error(m.path, "column index " + std::to_string(c) + " out of range in the block starting at row " +
                              std::to_string(m.rows));
  m.data->append(rows.values.data(), std::int64_t(rows.values.size()));
  m.indices->append(rows.indices.data(), std::int64_t(rows.indices.size()));
  for (std::int64_t r = 0; r < n; ++r) m.indptr.push_back(m.nnz + rows.indptr[std::size_t(r) + 1]);
  m.nnz += rows.nnz();
  m.rows += n;
}

std::int64_t AnnDataWriter::rows_written() const { return impl_->rows; }

void AnnDataWriter::set_obs(const DataFrame& obs) {
  impl_->check_open();
  impl_->obs = obs;
}

void AnnDataWriter::set_var(const DataFrame& var) {
  auto& m = *impl_;
  m.check_open();
  if (std::int64_t(var.n_rows()) != m.cols)
    throw Error(m.path + ": var", "has " + std::to_string(var.n_rows()) + " rows, the matrix has " +
                                      std::to_string(m.cols) + " columns");
  m.var = var;
}

void AnnDataWriter::add_obsm(const std::string& key, const std::vector<float>& values, std::int64_t n_dims) {
  auto& m = *impl_;
  m.check_open();
  const std::string where = m.path + ": obsm/" + key;
  check_key(key, m.path + ": obsm");
  for (const auto& [k, r] : m.obsm_rows)
    if (k == key) throw Error(where, "written twice");
  if (n_dims <= 0 || values.size() % std::size_t(n_dims) != 0)
    throw Error(where, std::to_string(values.size()) + " values do not make rows of " + std::to_string(n_dims));
  std::int64_t n = std::int64_t(values.size()) / n_dims;
  h5::write_raw(m.obsm, key, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, {n, n_dims}, values.data(), true);
  open_and_encode(m.obsm, key, "array", "0.2.0");
  m.obsm_rows.emplace_back(key, n);
}

void AnnDataWriter::add_uns(const std::string& key, const UnsScalar& value) {
  auto& m = *impl_;
  m.check_open();
  check_key(key, m.path + ": uns");
  if (!m.uns_keys.insert(key).second) throw Error(m.path + ": uns/" + key, "written twice");
  // Scalars are never compressed (HDF5 cannot chunk a scalar dataspace).
  if (auto* s = std::get_if<std::string>(&value)) {
    Handle t(H5Tcopy(H5T_C_S1));
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const char* p = s->c_str();
    h5::write_raw(m.uns, key, t, t, {}, &p);
    open_and_encode(m.uns, key, "string", "0.2.0");
    return;
  }
  if (auto* d = std::get_if<double>(&value)) {
    h5::write_raw(m.uns, key, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, {}, d);
  } else if (auto* i = std::get_if<std::int64_t>(&value)) {
    h5::write_raw(m.uns, key, H5T_NATIVE_INT64, H5T_STD_I64LE, {}, i);
  } else {
    Handle t = h5::bool_type();
    std::int8_t b = std::get<bool>(value) ? 1 : 0;
    h5::write_raw(m.uns, key, t, t, {}, &b);
  }
  open_and_encode(m.uns, key, "numeric-scalar", "0.2.0");
}

void AnnDataWriter::commit() {
  auto& m = *impl_;
  m.check_open();
  for (const auto& [key, r] : m.obsm_rows)
    if (r != m.rows)
      throw Error(m.path + ": obsm/" + key, "has " + std::to_string(r) + " rows, " + std::to_string(m.rows) +
                                                " cells were written");
  // Without tables, anndata's default names ("0", "1", ...).
  DataFrame default_obs, default_var;
  if (!m.obs) default_obs.index = default_index(m.rows);
  if (!m.var) default_var.index = default_index(m.cols);
  const DataFrame& obs = m.obs ? *m.obs : default_obs;
  const DataFrame& var = m.var ? *m.var : default_var;
  if (std::int64_t(obs.n_rows()) != m.rows)
    throw Error(m.path + ": obs", "has " + std::to_string(obs.n_rows()) + " rows, " + std::to_string(m.rows) +
                                      " cells were written");
  check_frame(obs, m.path + ": obs");
  check_frame(var, m.path + ": var");
  h5::write_int_array_attribute(m.x, "shape", {m.rows, m.cols});
  if (m.nnz < (std::int64_t(1) << 31)) {
    std::vector<std::int32_t> narrow(m.indptr.begin(), m.indptr.end());
    h5::write_raw(m.x, "indptr", H5T_NATIVE_INT32, H5T_STD_I32LE, {std::int64_t(narrow.size())}, narrow.data(), true);
  } else {
    h5::write_raw(m.x, "indptr", H5T_NATIVE_INT64, H5T_STD_I64LE, {std::int64_t(m.indptr.size())}, m.indptr.data(),
                  true);
  }
  write_frame(m.file, "obs", obs);
  write_frame(m.file, "var", var);
  m.data.reset();
  m.indices.reset();
  m.x.reset();
  m.obsm.reset();
  m.uns.reset();
  // Flush explicitly: closing a handle cannot report a full disk.
  if (H5Fflush(m.file, H5F_SCOPE_GLOBAL) < 0) throw Error(m.path, "cannot finish writing (disk full?)");
  m.file.reset();
  m.output.commit();
  m.committed = true;
}

}  // namespace c2s

namespace c2s {

void copy_anndata_with(const std::string& in_path, const std::string& out_path, const AnnDataAdditions& additions) {
  namespace fs = std::filesystem;
  std::int64_t n_obs = 0;
  {
    Handle in = h5::open_file(in_path);
    if (!h5::is_group(in, "obs"))
      throw Error(in_path, "obs is not a dataframe group (the pre-0.7 h5ad layout?): save the file with anndata "
                           ">= 0.8 to have columns added");
    Handle obs = h5::open_group(in, "obs");
    const std::string index =
        h5::has_attribute(obs, "_index") ? h5::read_string_attribute(obs, "_index") : std::string("_index");
    if (!h5::is_dataset(obs, index)) throw Error(h5::where(obs, index), "missing: obs has no index");
    n_obs = h5::shape(h5::open_dataset(obs, index)).at(0);
  }
  DataFrame added;
  added.index.assign(std::size_t(n_obs), std::string());
  added.columns = additions.obs_columns;
  check_frame(added, out_path + ": obs");
  for (const auto& m : additions.obsm) {
    check_key(m.key, out_path + ": obsm");
    if (m.n_dims <= 0 || std::int64_t(m.values.size()) != n_obs * m.n_dims)
      throw Error(out_path + ": obsm/" + m.key, std::to_string(m.values.size()) + " values are not " +
                                                    std::to_string(n_obs) + " rows of " + std::to_string(m.n_dims));
  }

  AtomicOutput output(out_path);
  std::error_code ec;
  fs::copy_file(in_path, output.temp_path(), fs::copy_options::overwrite_existing, ec);
  if (ec) throw Error(out_path, "cannot copy " + in_path + ": " + ec.message());
  {
    Handle file = h5::open_file_for_update(output.temp_path().string());
    Handle obs = h5::open_group(file, "obs");
    std::vector<std::string> order;
    if (h5::has_attribute(obs, "column-order")) order = h5::read_string_array_attribute(obs, "column-order");
    for (const auto& c : additions.obs_columns) {
      h5::remove_link(obs, c.name);
      write_column(obs, c);
      if (std::find(order.begin(), order.end(), c.name) == order.end()) order.push_back(c.name);
    }
    h5::write_string_array_attribute(obs, "column-order", order);
    if (!additions.obsm.empty()) {
      Handle obsm;
      if (h5::is_group(file, "obsm")) {
        obsm = h5::open_group(file, "obsm");
      } else {
        obsm = h5::create_group(file, "obsm");
        set_encoding(obsm, "dict", "0.1.0");
      }
      for (const auto& m : additions.obsm) {
        h5::remove_link(obsm, m.key);
        h5::write_raw(obsm, m.key, H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, {n_obs, m.n_dims}, m.values.data(), true);
        open_and_encode(obsm, m.key, "array", "0.2.0");
      }
    }
  }
  output.commit();
}

}  // namespace c2s
