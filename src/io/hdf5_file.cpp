#include "io/hdf5_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.hpp"

namespace c2s::h5 {

namespace {

[[noreturn]] void fail(hid_t loc, const std::string& name, const std::string& what) {
  throw Error(where(loc, name), what);
}

void check(herr_t status, hid_t loc, const std::string& name, const char* what) {
  if (status < 0) fail(loc, name, what);
}

// Splits "a/b/c" into its components, ignoring empty ones.
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::int64_t element_count(hid_t space) {
  hssize_t n = H5Sget_simple_extent_npoints(space);
  return n < 0 ? 0 : std::int64_t(n);
}

// Reads all strings of a dataset or attribute given its type and count.
template <class Reader>
std::vector<std::string> read_string_values(hid_t file_type, std::int64_t n, Reader&& read, hid_t loc,
                                            const std::string& name) {
  std::vector<std::string> out(std::size_t(std::max<std::int64_t>(n, 0)));
  if (n <= 0) return out;
  if (H5Tget_class(file_type) != H5T_STRING) fail(loc, name, "expected strings");
  Handle mem(H5Tcopy(H5T_C_S1));
  H5Tset_cset(mem, H5Tget_cset(file_type));
  if (H5Tis_variable_str(file_type) > 0) {
    H5Tset_size(mem, H5T_VARIABLE);
    std::vector<char*> ptrs(std::size_t(n), nullptr);
    if (read(mem.get(), ptrs.data()) < 0) fail(loc, name, "cannot read strings");
    for (std::size_t i = 0; i < ptrs.size(); ++i) out[i] = ptrs[i] ? ptrs[i] : "";
    // Free what HDF5 allocated for the variable-length strings.
    hsize_t dims = hsize_t(n);
    Handle space(H5Screate_simple(1, &dims, nullptr));
    H5Dvlen_reclaim(mem, space, H5P_DEFAULT, ptrs.data());
  } else {
    std::size_t size = H5Tget_size(file_type);
    H5Tset_size(mem, size);
    H5Tset_strpad(mem, H5T_STR_NULLPAD);
    std::vector<char> buf(size * std::size_t(n));
    if (read(mem.get(), buf.data()) < 0) fail(loc, name, "cannot read strings");
    for (std::size_t i = 0; i < out.size(); ++i) {
      const char* s = buf.data() + i * size;
      out[i].assign(s, strnlen(s, size));
    }
  }
  return out;
}

}  // namespace

void Handle::reset() {
  if (id_ < 0) return;
  switch (H5Iget_type(id_)) {
    case H5I_FILE: H5Fclose(id_); break;
    case H5I_GROUP: H5Gclose(id_); break;
    case H5I_DATASET: H5Dclose(id_); break;
    case H5I_ATTR: H5Aclose(id_); break;
    case H5I_DATATYPE: H5Tclose(id_); break;
    case H5I_DATASPACE: H5Sclose(id_); break;
    case H5I_GENPROP_LST: H5Pclose(id_); break;
    default: break;
  }
  id_ = -1;
}

void silence_library_errors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

namespace {

Handle open_existing(const std::string& path, unsigned flags) {
  silence_library_errors();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error(path, "no such file");
  if (std::filesystem::is_directory(path, ec)) throw Error(path, "is a folder, expected an HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path, "not an HDF5 file");
  hid_t id = H5Fopen(path.c_str(), flags, H5P_DEFAULT);
  if (id < 0) throw Error(path, "cannot open HDF5 file (truncated or corrupt?)");
  return Handle(id);
}

}  // namespace

Handle open_file(const std::string& path) { return open_existing(path, H5F_ACC_RDONLY); }
Handle open_file_for_update(const std::string& path) { return open_existing(path, H5F_ACC_RDWR); }

void remove_link(hid_t loc, const std::string& name) {
  if (H5Lexists(loc, name.c_str(), H5P_DEFAULT) > 0 && H5Ldelete(loc, name.c_str(), H5P_DEFAULT) < 0)
    throw Error(where(loc, name), "cannot remove it");
}

Handle create_file(const std::string& path) {
  silence_library_errors();
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS));
  // Newest-format files are not readable by the h5py shipped with Debian 12;
  // 1.8-compatible structures keep files readable everywhere.
  H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_V18);
  hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (id < 0) throw Error(path, "cannot create file");
  return Handle(id);
}

std::string file_name(hid_t obj) {
  ssize_t n = H5Fget_name(obj, nullptr, 0);
  if (n <= 0) return "<hdf5>";
  std::string s(std::size_t(n), '\0');
  H5Fget_name(obj, s.data(), std::size_t(n) + 1);
  return s;
}

std::string where(hid_t loc, const std::string& name) {
  std::string obj;
  ssize_t n = H5Iget_name(loc, nullptr, 0);
  if (n > 0) {
    obj.resize(std::size_t(n));
    H5Iget_name(loc, obj.data(), std::size_t(n) + 1);
  }
  if (!name.empty()) {
    if (obj.empty() || obj.back() != '/') obj += '/';
    obj += name;
  }
  return file_name(loc) + ": " + (obj.empty() ? "/" : obj);
}

bool exists(hid_t loc, const std::string& path) {
  std::string prefix = path.starts_with("/") ? "/" : "";
  for (const auto& part : components(path)) {
    prefix += part;
    if (H5Lexists(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    if (H5Oexists_by_name(loc, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
    prefix += "/";
  }
  return true;
}

namespace {
H5O_type_t object_type(hid_t loc, const std::string& path) {
  if (!exists(loc, path)) return H5O_TYPE_UNKNOWN;
  H5O_info_t info;
  if (H5Oget_info_by_name(loc, path.c_str(), &info, H5P_DEFAULT) < 0) return H5O_TYPE_UNKNOWN;
  return info.type;
}
}  // namespace

bool is_group(hid_t loc, const std::string& path) { return object_type(loc, path) == H5O_TYPE_GROUP; }
bool is_dataset(hid_t loc, const std::string& path) { return object_type(loc, path) == H5O_TYPE_DATASET; }

Handle open_group(hid_t loc, const std::string& path) {
  if (!is_group(loc, path)) fail(loc, path, "no such group");
  hid_t id = H5Gopen2(loc, path.c_str(), H5P_DEFAULT);
  if (id < 0) fail(loc, path, "cannot open group");
  return Handle(id);
}

Handle open_dataset(hid_t loc, const std::string& path) {
  if (!is_dataset(loc, path)) fail(loc, path, "no such dataset");
  Handle dapl(H5Pcreate(H5P_DATASET_ACCESS));
  // anndata writes small chunks; a large cache keeps streaming reads from
  // decompressing the same chunk again for every block.
  H5Pset_chunk_cache(dapl, 12421, 64u << 20, 1.0);
  hid_t id = H5Dopen2(loc, path.c_str(), dapl);
  if (id < 0) fail(loc, path, "cannot open dataset");
  return Handle(id);
}

Handle create_group(hid_t loc, const std::string& path) {
  hid_t id = H5Gcreate2(loc, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (id < 0) fail(loc, path, "cannot create group");
  return Handle(id);
}

std::vector<std::string> children(hid_t group) {
  std::vector<std::string> names;
  auto visit = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
  };
  hsize_t idx = 0;
  // Creation order when tracked (keeps column order), else by name.
  if (H5Literate(group, H5_INDEX_CRT_ORDER, H5_ITER_INC, &idx, visit, &names) < 0) {
    names.clear();
    idx = 0;
    H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, visit, &names);
  }
  return names;
}

std::vector<std::int64_t> shape(hid_t dataset) {
  Handle space(H5Dget_space(dataset));
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) fail(dataset, "", "cannot read shape");
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  return {dims.begin(), dims.end()};
}

H5T_class_t type_class(hid_t dataset) {
  Handle t(H5Dget_type(dataset));
  return H5Tget_class(t);
}

bool is_signed_integer(hid_t dataset) {
  Handle t(H5Dget_type(dataset));
  return H5Tget_class(t) == H5T_INTEGER && H5Tget_sign(t) == H5T_SGN_2;
}

std::size_t type_size(hid_t dataset) {
  Handle t(H5Dget_type(dataset));
  return H5Tget_size(t);
}

bool has_attribute(hid_t obj, const std::string& name) { return H5Aexists(obj, name.c_str()) > 0; }

std::vector<std::string> read_string_array_attribute(hid_t obj, const std::string& name) {
  if (!has_attribute(obj, name)) fail(obj, name, "missing attribute");
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle type(H5Aget_type(attr));
  Handle space(H5Aget_space(attr));
  std::int64_t n = element_count(space);
  return read_string_values(
      type, n, [&](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, obj, "@" + name);
}

std::string read_string_attribute(hid_t obj, const std::string& name) {
  auto v = read_string_array_attribute(obj, name);
  if (v.size() != 1) fail(obj, "@" + name, "expected a single string");
  return v[0];
}

double read_number_attribute(hid_t obj, const std::string& name) {
  if (!has_attribute(obj, name)) fail(obj, name, "missing attribute");
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle space(H5Aget_space(attr));
  if (element_count(space) != 1) fail(obj, "@" + name, "expected a single number");
  double v = 0;
  check(H5Aread(attr, H5T_NATIVE_DOUBLE, &v), obj, "@" + name, "cannot read number");
  return v;
}

std::vector<std::int64_t> read_int_array_attribute(hid_t obj, const std::string& name) {
  if (!has_attribute(obj, name)) fail(obj, name, "missing attribute");
  Handle attr(H5Aopen(obj, name.c_str(), H5P_DEFAULT));
  Handle space(H5Aget_space(attr));
  std::vector<std::int64_t> v(std::size_t(element_count(space)));
  if (!v.empty()) check(H5Aread(attr, H5T_NATIVE_INT64, v.data()), obj, "@" + name, "cannot read integers");
  return v;
}

namespace {
Handle utf8_vlen_string_type() {
  Handle t(H5Tcopy(H5T_C_S1));
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

void replace_attribute(hid_t obj, const std::string& name) {
  if (has_attribute(obj, name)) H5Adelete(obj, name.c_str());
}
}  // namespace

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
  replace_attribute(obj, name);
  Handle type = utf8_vlen_string_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail(obj, "@" + name, "cannot create attribute");
  const char* p = value.c_str();
  check(H5Awrite(attr, type, &p), obj, "@" + name, "cannot write attribute");
}

void write_string_array_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  replace_attribute(obj, name);
  Handle type = utf8_vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail(obj, "@" + name, "cannot create attribute");
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0) check(H5Awrite(attr, type, ptrs.data()), obj, "@" + name, "cannot write attribute");
}

void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<std::int64_t>& values) {
  replace_attribute(obj, name);
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle attr(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail(obj, "@" + name, "cannot create attribute");
  if (n > 0) check(H5Awrite(attr, H5T_NATIVE_INT64, values.data()), obj, "@" + name, "cannot write attribute");
}

void write_number_attribute(hid_t obj, const std::string& name, double value) {
  replace_attribute(obj, name);
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail(obj, "@" + name, "cannot create attribute");
  check(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value), obj, "@" + name, "cannot write attribute");
}

Handle bool_type() {
  Handle type(H5Tenum_create(H5T_NATIVE_INT8));
  std::int8_t f = 0, t = 1;
  H5Tenum_insert(type, "FALSE", &f);
  H5Tenum_insert(type, "TRUE", &t);
  return type;
}

void write_bool_attribute(hid_t obj, const std::string& name, bool value) {
  replace_attribute(obj, name);
  Handle type = bool_type();
  Handle space(H5Screate(H5S_SCALAR));
  Handle attr(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT));
  if (!attr.valid()) fail(obj, "@" + name, "cannot create attribute");
  std::int8_t v = value ? 1 : 0;
  check(H5Awrite(attr, type, &v), obj, "@" + name, "cannot write attribute");
}

std::optional<RawLayout> raw_layout(hid_t dataset, hid_t mem_type) {
  Handle file_type(H5Dget_type(dataset));
  if (file_type.get() < 0 || H5Tequal(file_type, mem_type) <= 0) return std::nullopt;
  Handle dcpl(H5Dget_create_plist(dataset));
  if (dcpl.get() < 0 || H5Pget_nfilters(dcpl) != 0 || H5Pget_external_count(dcpl) != 0) return std::nullopt;
  {
    Handle file(H5Iget_file_id(dataset));
    Handle fcpl(H5Fget_create_plist(file));
    hsize_t userblock = 0;
    // Addresses count from the end of a userblock: not worth the special case.
    if (fcpl.get() < 0 || H5Pget_userblock(fcpl, &userblock) < 0 || userblock != 0) return std::nullopt;
  }
  Handle space(H5Dget_space(dataset));
  if (H5Sget_simple_extent_ndims(space) != 1) return std::nullopt;
  const auto total = std::uint64_t(element_count(space));
  RawLayout layout;
  switch (H5Pget_layout(dcpl)) {
    case H5D_CONTIGUOUS: {
      haddr_t at = H5Dget_offset(dataset);
      if (at == HADDR_UNDEF) return std::nullopt;
      layout.chunk_elements = std::max<std::uint64_t>(total, 1);
      layout.n_chunks = 1;
      layout.contiguous_offset = at;
      return layout;
    }
    case H5D_CHUNKED: {
      hsize_t chunk = 0;
      if (H5Pget_chunk(dcpl, 1, &chunk) != 1 || chunk == 0) return std::nullopt;
      layout.chunk_elements = chunk;
      layout.n_chunks = (total + chunk - 1) / chunk;
      return layout;
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::uint64_t> chunk_offset(hid_t dataset, std::uint64_t index, const RawLayout& layout,
                                          std::size_t element_size) {
  if (index >= layout.n_chunks) return std::nullopt;
  if (layout.contiguous_offset) return *layout.contiguous_offset;
  hsize_t coord = index * layout.chunk_elements;
  unsigned mask = 0;
  haddr_t at = HADDR_UNDEF;
  hsize_t size = 0;
  if (H5Dget_chunk_info_by_coord(dataset, &coord, &mask, &at, &size) < 0 || at == HADDR_UNDEF ||
      size != layout.chunk_elements * element_size)
    return std::nullopt;
  return std::uint64_t(at);
}

void read_1d(hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* out) {
  if (count <= 0) return;
  Handle space(H5Dget_space(dataset));
  std::int64_t total = element_count(space);
  if (begin < 0 || begin + count > total) fail(dataset, "", "read past the end of the dataset");
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank == 1) {
    hsize_t start = hsize_t(begin), n = hsize_t(count);
    H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &n, nullptr);
    Handle mem(H5Screate_simple(1, &n, nullptr));
    check(H5Dread(dataset, mem_type, mem, space, H5P_DEFAULT, out), dataset, "", "cannot read (corrupt or truncated?)");
  } else {
    if (begin != 0 || count != total) fail(dataset, "", "partial read of a multi-dimensional dataset");
    check(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out), dataset, "",
          "cannot read (corrupt or truncated?)");
  }
}

void read_rows_2d(hid_t dataset, hid_t mem_type, std::int64_t row, std::int64_t n_rows, void* out) {
  if (n_rows <= 0) return;
  Handle space(H5Dget_space(dataset));
  if (H5Sget_simple_extent_ndims(space) != 2) fail(dataset, "", "expected a 2-D dataset");
  hsize_t dims[2];
  H5Sget_simple_extent_dims(space, dims, nullptr);
  if (row < 0 || hsize_t(row + n_rows) > dims[0]) fail(dataset, "", "read past the end of the dataset");
  hsize_t start[2] = {hsize_t(row), 0}, count[2] = {hsize_t(n_rows), dims[1]};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, nullptr, count, nullptr);
  Handle mem(H5Screate_simple(2, count, nullptr));
  check(H5Dread(dataset, mem_type, mem, space, H5P_DEFAULT, out), dataset, "", "cannot read (corrupt or truncated?)");
}

std::vector<std::string> read_strings(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  Handle space(H5Dget_space(dataset));
  std::int64_t n = element_count(space);
  return read_string_values(
      type, n, [&](hid_t mem, void* buf) { return H5Dread(dataset, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); },
      dataset, "");
}

std::vector<std::string> compound_members(hid_t dataset) {
  Handle type(H5Dget_type(dataset));
  if (H5Tget_class(type) != H5T_COMPOUND) fail(dataset, "", "expected a compound dataset");
  std::vector<std::string> names;
  int n = H5Tget_nmembers(type);
  for (int i = 0; i < n; ++i) {
    char* name = H5Tget_member_name(type, unsigned(i));
    names.emplace_back(name);
    H5free_memory(name);
  }
  return names;
}

namespace {
// The member's type inside the file's compound type.
Handle member_type(hid_t dataset, const std::string& member) {
  Handle type(H5Dget_type(dataset));
  int idx = H5Tget_member_index(type, member.c_str());
  if (idx < 0) fail(dataset, member, "no such compound member");
  return Handle(H5Tget_member_type(type, unsigned(idx)));
}
}  // namespace

std::vector<std::string> read_compound_strings(hid_t dataset, const std::string& member) {
  Handle mtype = member_type(dataset, member);
  Handle space(H5Dget_space(dataset));
  std::int64_t n = element_count(space);
  return read_string_values(
      mtype, n,
      [&](hid_t mem, void* buf) {
        Handle compound(H5Tcreate(H5T_COMPOUND, H5Tget_size(mem)));
        H5Tinsert(compound, member.c_str(), 0, mem);
        return H5Dread(dataset, compound, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
      },
      dataset, member);
}

std::vector<double> read_compound_numbers(hid_t dataset, const std::string& member) {
  Handle mtype = member_type(dataset, member);
  H5T_class_t cls = H5Tget_class(mtype);
  if (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_ENUM) fail(dataset, member, "not a numeric member");
  Handle space(H5Dget_space(dataset));
  std::vector<double> out(std::size_t(element_count(space)));
  Handle compound(H5Tcreate(H5T_COMPOUND, sizeof(double)));
  if (cls == H5T_ENUM) {
    // Booleans written by h5py: read the underlying integer.
    std::vector<std::int8_t> raw(out.size());
    Handle c8(H5Tcreate(H5T_COMPOUND, 1));
    H5Tinsert(c8, member.c_str(), 0, H5T_NATIVE_INT8);
    if (!out.empty()) check(H5Dread(dataset, c8, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.data()), dataset, member, "cannot read");
    for (std::size_t i = 0; i < raw.size(); ++i) out[i] = raw[i];
    return out;
  }
  H5Tinsert(compound, member.c_str(), 0, H5T_NATIVE_DOUBLE);
  if (!out.empty()) check(H5Dread(dataset, compound, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()), dataset, member, "cannot read");
  return out;
}

namespace {
Handle dataset_create_plist(const std::vector<std::int64_t>& dims, bool compress, std::int64_t chunk_elements) {
  Handle dcpl(H5Pcreate(H5P_DATASET_CREATE));
  std::int64_t total = 1;
  for (auto d : dims) total *= d;
  if ((compress && total > 0) || chunk_elements > 0) {
    std::vector<hsize_t> chunk(dims.size());
    if (chunk_elements > 0 && dims.size() == 1) {
      chunk[0] = hsize_t(chunk_elements);
    } else {
      // Chunks of about 256k elements, whole rows for 2-D.
      std::int64_t row = dims.size() > 1 ? total / std::max<std::int64_t>(dims[0], 1) : 1;
      std::int64_t rows = std::max<std::int64_t>(1, (1 << 18) / std::max<std::int64_t>(row, 1));
      chunk[0] = hsize_t(std::max<std::int64_t>(1, std::min(rows, dims[0])));
      for (std::size_t i = 1; i < dims.size(); ++i) chunk[i] = hsize_t(std::max<std::int64_t>(dims[i], 1));
    }
    H5Pset_chunk(dcpl, int(chunk.size()), chunk.data());
    if (compress) {
      H5Pset_shuffle(dcpl);
      H5Pset_deflate(dcpl, 4);
    }
  }
  return dcpl;
}
}  // namespace

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  // Never compressed: the dataset holds only references into HDF5's global
  // heap (the text is stored there, uncompressed), so deflate would cost time
  // and save nothing.
  Handle type = utf8_vlen_string_type();
  hsize_t n = values.size();
  Handle space(H5Screate_simple(1, &n, nullptr));
  Handle ds(H5Dcreate2(loc, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
  if (!ds.valid()) fail(loc, name, "cannot create dataset");
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  if (n > 0) check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), loc, name, "cannot write");
}

void write_raw(hid_t loc, const std::string& name, hid_t mem_type, hid_t file_type,
               const std::vector<std::int64_t>& dims, const void* data, bool compress) {
  std::vector<hsize_t> d(dims.begin(), dims.end());
  Handle space(d.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(d.size()), d.data(), nullptr));
  Handle dcpl = dataset_create_plist(dims, compress && !d.empty(), 0);
  Handle ds(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!ds.valid()) fail(loc, name, "cannot create dataset");
  std::int64_t total = 1;
  for (auto x : dims) total *= x;
  if (total > 0) check(H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), loc, name, "cannot write");
}

Appender::Appender(hid_t loc, const std::string& name, hid_t file_type, std::int64_t chunk_elements) {
  hsize_t zero = 0, unlimited = H5S_UNLIMITED;
  Handle space(H5Screate_simple(1, &zero, &unlimited));
  Handle dcpl = dataset_create_plist({0}, false, std::max<std::int64_t>(chunk_elements, 1));
  dataset_ = Handle(H5Dcreate2(loc, name.c_str(), file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT));
  if (!dataset_.valid()) fail(loc, name, "cannot create dataset");
}

void Appender::append_raw(hid_t mem_type, const void* data, std::int64_t n) {
  if (n <= 0) return;
  hsize_t new_size = hsize_t(size_ + n);
  check(H5Dset_extent(dataset_, &new_size), dataset_, "", "cannot extend dataset (disk full?)");
  Handle space(H5Dget_space(dataset_));
  hsize_t start = hsize_t(size_), count = hsize_t(n);
  H5Sselect_hyperslab(space, H5S_SELECT_SET, &start, nullptr, &count, nullptr);
  Handle mem(H5Screate_simple(1, &count, nullptr));
  check(H5Dwrite(dataset_, mem_type, mem, space, H5P_DEFAULT, data), dataset_, "", "cannot write (disk full?)");
  size_ += n;
}

}  // namespace c2s::h5
