#include "model/checkpoint.hpp"

#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/from_blob.h>

#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "core/json_file.hpp"
#include "model/safetensors_file.hpp"

namespace c2s {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string json_quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The torch dtype of a storage dtype; nothing for the unsigned types wider
// than a byte, which libtorch 1.13 lacks.
std::optional<at::ScalarType> torch_dtype(StorageDtype dtype) {
  switch (dtype) {
    case StorageDtype::BOOL: return at::kBool;
    case StorageDtype::U8: return at::kByte;
    case StorageDtype::I8: return at::kChar;
    case StorageDtype::I16: return at::kShort;
    case StorageDtype::I32: return at::kInt;
    case StorageDtype::I64: return at::kLong;
    case StorageDtype::F16: return at::kHalf;
    case StorageDtype::BF16: return at::kBFloat16;
    case StorageDtype::F32: return at::kFloat;
    case StorageDtype::F64: return at::kDouble;
    case StorageDtype::U16:
    case StorageDtype::U32:
    case StorageDtype::U64: return std::nullopt;
  }
  return std::nullopt;
}

std::optional<StorageDtype> storage_dtype(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBool: return StorageDtype::BOOL;
    case at::kByte: return StorageDtype::U8;
    case at::kChar: return StorageDtype::I8;
    case at::kShort: return StorageDtype::I16;
    case at::kInt: return StorageDtype::I32;
    case at::kLong: return StorageDtype::I64;
    case at::kHalf: return StorageDtype::F16;
    case at::kBFloat16: return StorageDtype::BF16;
    case at::kFloat: return StorageDtype::F32;
    case at::kDouble: return StorageDtype::F64;
    default: return std::nullopt;
  }
}

// U16/U32/U64 widened to the signed type that holds every value (U64 values
// beyond int64 are refused): libtorch 1.13 has no unsigned types but uint8.
at::Tensor widen_unsigned(const TensorInfo& info, std::span<const std::byte> bytes, const std::string& context) {
  const std::size_t n = bytes.size() / element_size(info.dtype);
  const bool to_int = info.dtype == StorageDtype::U16;
  at::Tensor out = at::empty(info.shape, at::TensorOptions().dtype(to_int ? at::kInt : at::kLong));
  for (std::size_t i = 0; i < n; ++i) {
    const std::byte* at = bytes.data() + i * element_size(info.dtype);
    if (info.dtype == StorageDtype::U16) {
      std::uint16_t v;
      std::memcpy(&v, at, 2);
      out.data_ptr<std::int32_t>()[i] = v;
    } else if (info.dtype == StorageDtype::U32) {
      std::uint32_t v;
      std::memcpy(&v, at, 4);
      out.data_ptr<std::int64_t>()[i] = v;
    } else {
      std::uint64_t v;
      std::memcpy(&v, at, 8);
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        throw Error(context, "U64 value " + std::to_string(v) + " does not fit in int64");
      out.data_ptr<std::int64_t>()[i] = static_cast<std::int64_t>(v);
    }
  }
  return out;
}

bool is_shard_name(const std::string& name) {
  // model-00001-of-00003.safetensors
  static const std::string prefix = "model-", middle = "-of-", suffix = ".safetensors";
  if (name.size() != prefix.size() + 5 + middle.size() + 5 + suffix.size()) return false;
  if (name.compare(0, prefix.size(), prefix) != 0 || name.compare(11, middle.size(), middle) != 0 ||
      name.compare(20, suffix.size(), suffix) != 0)
    return false;
  for (std::size_t i : {6, 7, 8, 9, 10, 15, 16, 17, 18, 19})
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

std::string shard_name(std::size_t index, std::size_t count) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "model-%05zu-of-%05zu.safetensors", index + 1, count);
  return buffer;
}

// A contiguous CPU copy (where needed) of a tensor to write, kept alive
// until written.
struct Item {
  const std::string* name;
  at::Tensor data;
  StorageDtype dtype;
  std::uint64_t bytes;
};

// Checks the tensors to write; `where` names the destination in errors.
std::vector<Item> prepare_items(const std::string& where, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<Item> items;
  std::set<std::string> names;
  for (const auto& [name, tensor] : tensors) {
    const std::string context = where + ": tensor " + json_quoted(name);
    if (!names.insert(name).second)
      throw Error(context, "given twice (tied weights must be saved once, under one name)");
    if (!tensor.defined()) throw Error(context, "is undefined");
    if (tensor.layout() != at::kStrided) throw Error(context, "is not a dense tensor");
    const auto dtype = storage_dtype(tensor.scalar_type());
    if (!dtype) throw Error(context, std::string("has dtype ") + c10::toString(tensor.scalar_type()) + ", which safetensors files do not hold");
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    const std::uint64_t bytes = static_cast<std::uint64_t>(cpu.numel()) * cpu.element_size();
    items.push_back({&name, cpu, *dtype, bytes});
  }
  return items;
}

void write_items(const fs::path& file, const std::vector<const Item*>& items) {
  SafetensorsWriter writer;
  // transformers refuses to load safetensors weights without this.
  writer.set_metadata({{"format", "pt"}});
  for (const Item* item : items) {
    const auto* data = static_cast<const std::byte*>(item->data.data_ptr());
    writer.add(*item->name, item->dtype, item->data.sizes().vec(), std::span<const std::byte>(data, item->bytes));
  }
  writer.write(file);
}

}  // namespace

Checkpoint Checkpoint::open_file(const fs::path& file) {
  Checkpoint c;
  c.folder_ = file;
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error(file.string(), "no such file");
  auto opened = SafetensorsFile::open(file);
  for (std::size_t i = 0; i < opened->tensors().size(); ++i) c.entries_.emplace(opened->tensors()[i].name, Entry{opened, i});
  for (const auto& [name, e] : c.entries_) c.data_bytes_ += e.file->tensors()[e.index].bytes();
  return c;
}

Checkpoint Checkpoint::open(const fs::path& folder) {
  Checkpoint c;
  c.folder_ = folder;
  std::error_code ec;
  if (!fs::is_directory(folder, ec))
    throw Error(folder.string(), fs::exists(folder, ec) ? "not a folder (give the model folder)" : "no such folder");
  const fs::path single = folder / kSingleFile, index = folder / kIndexFile;
  if (fs::exists(single, ec)) {
    auto file = SafetensorsFile::open(single);
    for (std::size_t i = 0; i < file->tensors().size(); ++i) c.entries_.emplace(file->tensors()[i].name, Entry{file, i});
  } else if (fs::exists(index, ec)) {
    const nlohmann::json j = read_json_file(index);
    const auto map = j.is_object() ? j.find("weight_map") : j.end();
    if (map == j.end() || !map->is_object()) throw Error(index.string(), "no \"weight_map\" object");
    std::map<std::string, std::shared_ptr<const SafetensorsFile>> shards;
    for (const auto& [name, shard] : map->items()) {
      const std::string context = index.string() + ": weight_map entry " + json_quoted(name);
      if (!shard.is_string()) throw Error(context, "is not a file name");
      const std::string file = shard.get<std::string>();
      // Shards lie beside the index; a path elsewhere is not a shard.
      if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos)
        throw Error(context, "names " + json_quoted(file) + ", not a file in the folder");
      auto& opened = shards[file];
      if (!opened) {
        if (!fs::exists(folder / file, ec))
          throw Error((folder / file).string(), std::string("no such file (a shard listed in ") + kIndexFile + ")");
        opened = SafetensorsFile::open(folder / file);
      }
      const TensorInfo* info = opened->find(name);
      if (!info)
        throw Error(opened->path().string(), "tensor " + json_quoted(name) + " is not in this shard, though " + kIndexFile +
                                                 " says it is");
      c.entries_.emplace(name, Entry{opened, static_cast<std::size_t>(info - opened->tensors().data())});
    }
  } else {
    throw Error(std::string("no ") + kSingleFile + " or " + kIndexFile + " in " + folder.string());
  }
  for (const auto& [name, e] : c.entries_) c.data_bytes_ += e.file->tensors()[e.index].bytes();
  return c;
}

const Checkpoint::Entry& Checkpoint::entry(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) throw Error(folder_.string(), "no tensor " + json_quoted(name) + " in the checkpoint");
  return it->second;
}

bool Checkpoint::contains(const std::string& name) const { return entries_.count(name) != 0; }

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> names;
  names.reserve(entries_.size());
  for (const auto& [name, e] : entries_) names.push_back(name);
  return names;
}

std::vector<std::int64_t> Checkpoint::shape(const std::string& name) const {
  const Entry& e = entry(name);
  return e.file->tensors()[e.index].shape;
}

at::ScalarType Checkpoint::stored_dtype(const std::string& name) const {
  const Entry& e = entry(name);
  const StorageDtype dtype = e.file->tensors()[e.index].dtype;
  if (auto t = torch_dtype(dtype)) return *t;
  throw Error(e.file->path().string() + ": tensor " + json_quoted(name),
              "stored as " + std::string(storage_dtype_name(dtype)) +
                  ", which libtorch has no dtype for (tensor() widens it to a signed type)");
}

std::uint64_t Checkpoint::data_bytes() const { return data_bytes_; }

at::Tensor Checkpoint::tensor(const std::string& name, at::ScalarType dtype) const {
  const Entry& e = entry(name);
  const TensorInfo& info = e.file->tensors()[e.index];
  const std::span<const std::byte> bytes = e.file->bytes(info);
  const std::string context = e.file->path().string() + ": tensor " + json_quoted(name);
  const auto stored = torch_dtype(info.dtype);
  if (!stored) return widen_unsigned(info, bytes, context).to(dtype);

  // BOOL bytes other than 0 and 1 are not valid torch bools: read them as
  // bytes and compare, as numpy would.
  const at::ScalarType read_as = *stored == at::kBool ? at::kByte : *stored;
  at::Tensor t;
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % element_size(info.dtype) == 0) {
    // Zero copy: the tensor's deleter holds the file (and its mapping).
    std::shared_ptr<const SafetensorsFile> keep = e.file;
    t = at::from_blob(const_cast<std::byte*>(bytes.data()), info.shape, [keep](void*) {},
                      at::TensorOptions().dtype(read_as));
  } else {
    // A header whose length is not a multiple of 8 (the Python library pads
    // it) can leave data unaligned for its type: copy to aligned memory.
    t = at::empty(info.shape, at::TensorOptions().dtype(read_as));
    if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  }
  if (*stored == at::kBool) t = t.ne(0);
  return t.scalar_type() == dtype ? t : t.to(dtype);
}

void save_checkpoint(const fs::path& folder, const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                     std::uint64_t max_shard_bytes) {
  const std::vector<Item> items = prepare_items(folder.string(), tensors);
  std::uint64_t total = 0;
  for (const auto& item : items) total += item.bytes;

  // Shards as huggingface_hub splits a state dict: in the given order, a new
  // shard when the next tensor would overflow the current one, and a tensor
  // larger than the limit alone in a shard of its own.
  std::vector<std::vector<const Item*>> shards;
  if (max_shard_bytes == 0) {
    shards.emplace_back();
    for (const auto& item : items) shards.back().push_back(&item);
  } else {
    std::vector<const Item*> current;
    std::uint64_t current_bytes = 0;
    for (const auto& item : items) {
      if (item.bytes > max_shard_bytes) {
        shards.push_back({&item});
        continue;
      }
      if (!current.empty() && current_bytes + item.bytes > max_shard_bytes) {
        shards.push_back(std::move(current));
        current.clear();
        current_bytes = 0;
      }
      current.push_back(&item);
      current_bytes += item.bytes;
    }
    if (!current.empty() || shards.empty()) shards.push_back(std::move(current));
  }

  std::error_code ec;
  fs::create_directories(folder, ec);
  if (!fs::is_directory(folder, ec)) throw Error(folder.string(), "cannot create the folder");

  std::set<std::string> written;
  nlohmann::json weight_map = nlohmann::json::object();
  for (std::size_t s = 0; s < shards.size(); ++s) {
    const std::string file = shards.size() == 1 ? kSingleFile : shard_name(s, shards.size());
    for (const Item* item : shards[s]) weight_map[*item->name] = file;
    write_items(folder / file, shards[s]);
    written.insert(file);
  }
  if (shards.size() > 1) {
    // As transformers writes it: json.dumps(index, indent=2, sort_keys=True) + "\n".
    const nlohmann::json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    AtomicTextFile out(folder / kIndexFile);
    out.write(index.dump(2, ' ', true) + "\n");
    out.commit();
    written.insert(kIndexFile);
  }

  // Files of an earlier save go only once the new ones are all in place, so
  // a save that fails part way does not lose the weights of a single-file
  // checkpoint (model.safetensors is read in preference to an index).
  std::vector<fs::path> stale;
  for (const auto& f : fs::directory_iterator(folder, ec)) {
    const std::string name = f.path().filename().string();
    if ((name == kSingleFile || name == kIndexFile || is_shard_name(name)) && !written.count(name))
      stale.push_back(f.path());
  }
  for (const auto& path : stale) {
    fs::remove(path, ec);
    if (ec) throw Error(path.string(), "cannot remove a file of an earlier save: " + ec.message());
  }
}

void save_safetensors_file(const fs::path& file, const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  const std::vector<Item> items = prepare_items(file.string(), tensors);
  std::vector<const Item*> order;
  for (const auto& item : items) order.push_back(&item);
  std::error_code ec;
  if (file.has_parent_path()) fs::create_directories(file.parent_path(), ec);
  write_items(file, order);
}

}  // namespace c2s
