// The weights of a Hugging Face model folder: one model.safetensors, or the
// shards listed by model.safetensors.index.json. Tensors are created over the
// memory-mapped files without copies when no conversion is asked for.
#pragma once
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace c2s {

class SafetensorsFile;

class Checkpoint {
 public:
  // Errors (naming the file, and the tensor where one is at fault): no
  // weights in the folder, a missing shard, a corrupt or lying header.
  static Checkpoint open(const std::filesystem::path& folder);
  // One safetensors file on its own, whatever its name (a LoRA adapter's
  // adapter_model.safetensors).
  static Checkpoint open_file(const std::filesystem::path& file);

  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;  // sorted
  std::vector<std::int64_t> shape(const std::string& name) const;
  at::ScalarType stored_dtype(const std::string& name) const;
  // Total bytes of tensor data over all files.
  std::uint64_t data_bytes() const;

  // The tensor on the CPU as `dtype`. When it is stored as `dtype` (and
  // suitably aligned) the result shares the read-only mapped file: never
  // write to it (clone first). Otherwise a converted copy. Missing name: Error.
  at::Tensor tensor(const std::string& name, at::ScalarType dtype) const;

 private:
  struct Entry {
    std::shared_ptr<const SafetensorsFile> file;
    std::size_t index;  // into file->tensors()
  };
  const Entry& entry(const std::string& name) const;
  std::filesystem::path folder_;
  std::map<std::string, Entry> entries_;
  std::uint64_t data_bytes_ = 0;
};

// Writes `tensors` (any dtype among F32/F16/BF16 and the integer types, any
// device; contiguous copies are made as needed) under their names: one
// model.safetensors, or shards of at most `max_shard_bytes` with
// model.safetensors.index.json as transformers writes them (0 = one file).
// Each file is written beside its target and renamed into place; files of an
// earlier save that this one does not produce are removed.
void save_checkpoint(const std::filesystem::path& folder,
                     const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                     std::uint64_t max_shard_bytes = 0);

// Writes `tensors` as one safetensors file at `file` (beside it, renamed into
// place), with the metadata transformers and PEFT expect; nothing else in
// the folder is touched.
void save_safetensors_file(const std::filesystem::path& file,
                           const std::vector<std::pair<std::string, at::Tensor>>& tensors);

}  // namespace c2s
