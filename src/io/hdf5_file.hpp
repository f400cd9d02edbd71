// Thin RAII layer over the HDF5 C API: owned handles, and typed reads and
// writes of datasets and attributes with errors that name file and object.
// Used by the h5ad reader/writer, the 10x HDF5 reader and the sentence store.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace c2s::h5 {

// Owns an hid_t and closes it with the matching H5*close.
class Handle {
 public:
  Handle() = default;
  explicit Handle(hid_t id) : id_(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_) { o.id_ = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset();

 private:
  hid_t id_ = -1;
};

// Silences HDF5's own error printing (call once at start-up; idempotent).
void silence_library_errors();

// Opens for reading; a missing, non-HDF5 or truncated file is an Error naming it.
Handle open_file(const std::string& path);
// Opens an existing file for reading and writing (the same errors as open_file).
Handle open_file_for_update(const std::string& path);
// Removes the link `name` from group `loc` when there is one.
void remove_link(hid_t loc, const std::string& name);
// Creates (truncating) a file for writing.
Handle create_file(const std::string& path);
// The file name of any object, for messages.
std::string file_name(hid_t obj);
// "<file>: <object path>" for messages.
std::string where(hid_t loc, const std::string& name = "");

bool exists(hid_t loc, const std::string& path);  // every component checked
bool is_group(hid_t loc, const std::string& path);
bool is_dataset(hid_t loc, const std::string& path);
Handle open_group(hid_t loc, const std::string& path);
Handle open_dataset(hid_t loc, const std::string& path);
Handle create_group(hid_t loc, const std::string& path);
// Names of the direct children of a group, in creation or name order.
std::vector<std::string> children(hid_t group);

std::vector<std::int64_t> shape(hid_t dataset);
// The dataset's element class: H5T_INTEGER, H5T_FLOAT, H5T_STRING, H5T_COMPOUND, H5T_ENUM...
H5T_class_t type_class(hid_t dataset);
bool is_signed_integer(hid_t dataset);
std::size_t type_size(hid_t dataset);

bool has_attribute(hid_t obj, const std::string& name);
// Reads a string attribute stored as scalar or 1-element, vlen or fixed length.
std::string read_string_attribute(hid_t obj, const std::string& name);
std::vector<std::string> read_string_array_attribute(hid_t obj, const std::string& name);
double read_number_attribute(hid_t obj, const std::string& name);
std::vector<std::int64_t> read_int_array_attribute(hid_t obj, const std::string& name);
void write_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void write_string_array_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_int_array_attribute(hid_t obj, const std::string& name, const std::vector<std::int64_t>& values);
void write_number_attribute(hid_t obj, const std::string& name, double value);
void write_bool_attribute(hid_t obj, const std::string& name, bool value);
// numpy's bool as h5py stores it: an enum over int8 {FALSE = 0, TRUE = 1}.
Handle bool_type();

template <class T>
hid_t native_type() {
  if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else if constexpr (std::is_same_v<T, std::int8_t>) return H5T_NATIVE_INT8;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::int16_t>) return H5T_NATIVE_INT16;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else static_assert(sizeof(T) == 0, "unsupported element type");
}

// Reads elements [begin, begin+count) of a 1-D dataset (count < 0: to the
// end), converting to `mem_type`.
void read_1d(hid_t dataset, hid_t mem_type, std::int64_t begin, std::int64_t count, void* out);
// How a 1-D dataset's elements lie in the file when they are stored exactly
// as `mem_type` lays them out in memory: uncompressed, contiguous (one chunk
// holding everything, at `contiguous_offset`) or in chunks of
// `chunk_elements` (as h5py and anndata write them; see chunk_offset).
// Nothing when elements must go through HDF5 (filters, another type or byte
// order, a userblock, external storage).
struct RawLayout {
  std::uint64_t chunk_elements = 0, n_chunks = 0;
  std::optional<std::uint64_t> contiguous_offset;
};
std::optional<RawLayout> raw_layout(hid_t dataset, hid_t mem_type);
// The byte offset of chunk `index` (elements from index * chunk_elements) of
// a chunked 1-D dataset; nothing if it is not written or not whole. A lookup
// in the chunk index (about 25 microseconds), so callers ask as they go.
std::optional<std::uint64_t> chunk_offset(hid_t dataset, std::uint64_t index, const RawLayout& layout,
                                          std::size_t element_size);
// Reads a 2-D hyperslab rows [row, row+n_rows) x all columns, row-major.
void read_rows_2d(hid_t dataset, hid_t mem_type, std::int64_t row, std::int64_t n_rows, void* out);

template <class T>
std::vector<T> read_vector(hid_t dataset, std::int64_t begin = 0, std::int64_t count = -1) {
  auto s = shape(dataset);
  std::int64_t total = 1;
  for (auto d : s) total *= d;
  if (count < 0) count = total - begin;
  std::vector<T> out(std::size_t(count > 0 ? count : 0));
  if (count > 0) read_1d(dataset, native_type<T>(), begin, count, out.data());
  return out;
}

// Reads a 1-D dataset of strings (variable or fixed length, any encoding,
// scalar allowed).
std::vector<std::string> read_strings(hid_t dataset);
// Reads a 1-D compound dataset's member as text/number (legacy h5ad layout).
std::vector<std::string> read_compound_strings(hid_t dataset, const std::string& member);
std::vector<double> read_compound_numbers(hid_t dataset, const std::string& member);
std::vector<std::string> compound_members(hid_t dataset);

// Whole-dataset writers; `compress` uses gzip level 4 with chunking.
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
void write_raw(hid_t loc, const std::string& name, hid_t mem_type, hid_t file_type,
               const std::vector<std::int64_t>& dims, const void* data, bool compress = false);
template <class T>
void write_vector(hid_t loc, const std::string& name, const std::vector<T>& values, bool compress = false) {
  write_raw(loc, name, native_type<T>(), native_type<T>(), {std::int64_t(values.size())}, values.data(), compress);
}

// A 1-D chunked, uncompressed dataset that grows by appends (for streaming
// writes of large arrays, which gzip would slow several-fold).
class Appender {
 public:
  Appender(hid_t loc, const std::string& name, hid_t file_type, std::int64_t chunk_elements);
  template <class T>
  void append(const T* data, std::int64_t n) {
    append_raw(native_type<T>(), data, n);
  }
  void append_raw(hid_t mem_type, const void* data, std::int64_t n);
  std::int64_t size() const { return size_; }
  hid_t dataset() const { return dataset_; }

 private:
  Handle dataset_;
  std::int64_t size_ = 0;
};

}  // namespace c2s::h5
