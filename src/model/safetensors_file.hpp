// safetensors files, Hugging Face's weight format: the reader, which checks
// the whole header against the file before any tensor is used, and the writer.
// Torch-free, so that the fuzz target builds it with c2s_io alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace c2s {

class MappedFile;

// The element types a safetensors header may name. Listed in the order of the
// Rust library's Dtype enum (increasing alignment), which the writer uses to
// order tensors in a file.
enum class StorageDtype { BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64 };

// "F32", "BF16"... as written in headers.
std::string_view storage_dtype_name(StorageDtype dtype);
// The dtype a header string names; an Error for any other string.
StorageDtype parse_storage_dtype(std::string_view name);
std::size_t element_size(StorageDtype dtype);

struct TensorInfo {
  std::string name;
  StorageDtype dtype = StorageDtype::F32;
  std::vector<std::int64_t> shape;   // empty for a 0-dim tensor
  std::uint64_t begin = 0, end = 0;  // byte offsets within the data section
  std::uint64_t bytes() const { return end - begin; }
};

// A validated safetensors file (or file image). See docs/formats/safetensors.md
// for the rules checked; every violation is an Error naming the file and,
// where one is at fault, the tensor.
class SafetensorsFile {
 public:
  // Maps the file read-only (or reads it whole where it cannot be mapped).
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);
  // Checks the file image `image` held in memory; `source` names it in errors.
  // The result refers to `image`, which must outlive it.
  static SafetensorsFile parse(std::span<const std::byte> image, const std::string& source);

  SafetensorsFile(SafetensorsFile&&) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&&) noexcept;
  ~SafetensorsFile();

  // Ordered by where their data lie (then by name, for empty tensors).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // nullptr when there is no tensor of that name.
  const TensorInfo* find(const std::string& name) const;
  // The tensor's bytes where they lie in the file image.
  std::span<const std::byte> bytes(const TensorInfo& tensor) const;
  // The header's `__metadata__` map (empty when it has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The file, or the `source` given to parse().
  const std::filesystem::path& path() const { return path_; }
  // Where the data section begins in the file (8 + header length).
  std::uint64_t data_offset() const { return data_offset_; }
  // The whole file image.
  std::span<const std::byte> image() const { return image_; }

 private:
  SafetensorsFile() = default;
  std::filesystem::path path_;
  std::span<const std::byte> image_;
  std::uint64_t data_offset_ = 0;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
  // What holds the image for open(): the mapping, or the bytes read.
  std::unique_ptr<MappedFile> mapping_;
  std::vector<std::byte> owned_;
};

// Builds a safetensors file as the Python library writes it: header JSON
// with `__metadata__` first and the tensors ordered by dtype (widest first)
// then name, padded with spaces to a multiple of 8 bytes, then the tensors'
// data back to back in header order.
class SafetensorsWriter {
 public:
  // `data` is not copied: it must stay valid until write(). Errors: a
  // duplicate or reserved name, a negative dimension, a size that does not
  // match the shape.
  void add(std::string name, StorageDtype dtype, std::vector<std::int64_t> shape, std::span<const std::byte> data);
  void set_metadata(std::map<std::string, std::string> metadata);

  std::size_t size() const { return tensors_.size(); }
  std::uint64_t data_bytes() const { return data_bytes_; }

  // The header block: 8-byte length, then the padded JSON.
  std::string header() const;
  // The whole file in memory (tests, fuzz seeds).
  std::vector<std::byte> image() const;
  // Written beside `path` and renamed into place.
  void write(const std::filesystem::path& path) const;

 private:
  struct Pending {
    TensorInfo info;
    std::span<const std::byte> data;
  };
  // The tensors in the order they are written.
  std::vector<const Pending*> ordered() const;
  std::vector<Pending> tensors_;
  std::map<std::string, std::string> metadata_;
  std::uint64_t data_bytes_ = 0;
};

}  // namespace c2s
