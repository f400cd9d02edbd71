#include "model/safetensors_file.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <tuple>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/atomic_output.hpp"
#include "core/error.hpp"
#include "io/mapped_file.hpp"

namespace c2s {

// The format is little-endian; so is every machine c2s is built for, which
// lets tensor bytes be used where they lie.
static_assert(std::endian::native == std::endian::little, "safetensors data are little-endian");

namespace {

// The Python/Rust library refuses larger headers; so do we, so that a lying
// length cannot make us parse (or allocate for) gigabytes of "JSON".
constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;

struct DtypeName {
  StorageDtype dtype;
  const char* name;
  std::size_t size;
};
constexpr DtypeName kDtypes[] = {
    {StorageDtype::BOOL, "BOOL", 1}, {StorageDtype::U8, "U8", 1},     {StorageDtype::I8, "I8", 1},
    {StorageDtype::I16, "I16", 2},   {StorageDtype::U16, "U16", 2},   {StorageDtype::F16, "F16", 2},
    {StorageDtype::BF16, "BF16", 2}, {StorageDtype::I32, "I32", 4},   {StorageDtype::U32, "U32", 4},
    {StorageDtype::F32, "F32", 4},   {StorageDtype::F64, "F64", 8},   {StorageDtype::I64, "I64", 8},
    {StorageDtype::U64, "U64", 8},
};

const DtypeName& dtype_entry(StorageDtype dtype) {
  for (const auto& d : kDtypes)
    if (d.dtype == dtype) return d;
  throw Error("invalid StorageDtype " + std::to_string(static_cast<int>(dtype)));
}

std::optional<StorageDtype> find_storage_dtype(std::string_view name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return d.dtype;
  return std::nullopt;
}

// A name as JSON writes it: quoted, with control characters escaped, so that
// an error message stays on one line whatever the header holds.
std::string json_quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string range_text(std::uint64_t begin, std::uint64_t end) {
  std::string s = "[";
  s.append(std::to_string(begin)).append(", ").append(std::to_string(end));
  return s + "]";
}

// nlohmann's parse messages start with "[json.exception.parse_error.101] "
// and may quote the bytes it choked on: keep printable ASCII on one line.
std::string json_error_text(const nlohmann::json::exception& e) {
  std::string what = e.what();
  if (auto pos = what.find("] "); what.starts_with("[json.exception") && pos != std::string::npos)
    what = what.substr(pos + 2);
  for (char& c : what)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) c = '?';
  return what;
}

// Elements times element size, or nothing when it does not fit in 64 bits.
std::optional<std::uint64_t> byte_count(const std::vector<std::int64_t>& shape, std::size_t element) {
  std::uint64_t n = 1;
  for (const std::int64_t d : shape)
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return std::nullopt;
  if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(element), &n)) return std::nullopt;
  return n;
}

TensorInfo parse_entry(const std::string& name, const nlohmann::json& entry, std::uint64_t data_size,
                       const std::string& source) {
  const std::string context = source + ": tensor " + json_quoted(name);
  auto fail = [&](const std::string& what) { throw Error(context, what); };
  if (!entry.is_object()) fail("header entry is not an object");
  TensorInfo info;
  info.name = name;

  const auto dtype = entry.find("dtype");
  if (dtype == entry.end() || !dtype->is_string()) fail("\"dtype\" is missing or not a string");
  const auto parsed = find_storage_dtype(dtype->get_ref<const std::string&>());
  if (!parsed) fail("unknown dtype " + json_quoted(dtype->get<std::string>()));
  info.dtype = *parsed;

  const auto shape = entry.find("shape");
  if (shape == entry.end() || !shape->is_array()) fail("\"shape\" is missing or not a list");
  for (const auto& d : *shape) {
    // Non-negative integer literals are the only ones nlohmann reads as unsigned.
    if (!d.is_number_unsigned()) fail("shape holds " + d.dump() + ", not a non-negative integer");
    const auto dim = d.get<std::uint64_t>();
    if (dim > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      fail("shape dimension " + std::to_string(dim) + " is too large");
    info.shape.push_back(static_cast<std::int64_t>(dim));
  }

  const auto offsets = entry.find("data_offsets");
  if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !(*offsets)[0].is_number_unsigned() ||
      !(*offsets)[1].is_number_unsigned())
    fail("\"data_offsets\" is missing or not [begin, end] (non-negative integers)");
  info.begin = (*offsets)[0].get<std::uint64_t>();
  info.end = (*offsets)[1].get<std::uint64_t>();
  if (info.begin > info.end) fail("data_offsets " + range_text(info.begin, info.end) + " end before they begin");

  const auto needed = byte_count(info.shape, element_size(info.dtype));
  if (!needed) fail("shape " + shape_text(info.shape) + " has more elements than fit in 64 bits");
  if (info.end - info.begin != *needed)
    fail("data_offsets " + range_text(info.begin, info.end) + " hold " + std::to_string(info.end - info.begin) +
         " bytes, but shape " + shape_text(info.shape) + " of " + std::string(storage_dtype_name(info.dtype)) +
         " needs " + std::to_string(*needed));
  if (info.end > data_size)
    fail("data_offsets " + range_text(info.begin, info.end) + " run past the end of the data section (" +
         std::to_string(data_size) + " bytes; is the file truncated?)");
  return info;
}

}  // namespace

std::string_view storage_dtype_name(StorageDtype dtype) { return dtype_entry(dtype).name; }

std::size_t element_size(StorageDtype dtype) { return dtype_entry(dtype).size; }

StorageDtype parse_storage_dtype(std::string_view name) {
  if (auto d = find_storage_dtype(name)) return *d;
  throw Error("unknown safetensors dtype " + json_quoted(std::string(name)));
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&&) noexcept = default;
SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&&) noexcept = default;
SafetensorsFile::~SafetensorsFile() = default;

SafetensorsFile SafetensorsFile::parse(std::span<const std::byte> image, const std::string& source) {
  SafetensorsFile file;
  file.path_ = source;
  file.image_ = image;
  if (image.size() < 8)
    throw Error(source, "file is " + std::to_string(image.size()) +
                            " bytes long, too short for the 8-byte header length of a safetensors file");
  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, image.data(), 8);
  if (header_bytes > image.size() - 8)
    throw Error(source, "header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
                            std::to_string(image.size()) + " bytes; not a safetensors file, or truncated?)");
  if (header_bytes > kMaxHeaderBytes)
    throw Error(source, "header length " + std::to_string(header_bytes) + " is over the limit of " +
                            std::to_string(kMaxHeaderBytes) + " bytes");
  file.data_offset_ = 8 + header_bytes;
  const std::uint64_t data_size = image.size() - file.data_offset_;

  // nlohmann keeps the last of repeated keys; a repeated key is refused
  // instead (in an entry the Python library refuses it too; a repeated
  // tensor name it lets pass), as it means the header cannot be trusted.
  std::vector<std::unordered_set<std::string>> keys;  // one set per open object
  const nlohmann::json::parser_callback_t on_event = [&](int depth, nlohmann::json::parse_event_t event,
                                                         nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) keys.emplace_back();
    if (event == Event::object_end) keys.pop_back();
    if (event == Event::key && !keys.back().insert(parsed.get<std::string>()).second) {
      if (depth == 1) throw Error(source, "header names " + json_quoted(parsed.get<std::string>()) + " twice");
      throw Error(source, "header repeats the key " + json_quoted(parsed.get<std::string>()) + " within one object");
    }
    return true;
  };
  const char* text = reinterpret_cast<const char*>(image.data() + 8);
  // As the Python library (0.4 on) checks: also what tells a safetensors
  // file from another file whose first 8 bytes happen to be small.
  if (header_bytes == 0 || text[0] != '{') throw Error(source, "header does not start with '{' (not a safetensors file?)");
  // nlohmann stops at a NUL byte as at the end of the input; JSON allows
  // none (NUL inside a string is written \u0000).
  if (const void* nul = std::memchr(text, 0, header_bytes))
    throw Error(source, "header is not valid JSON: a NUL byte at header offset " +
                            std::to_string(static_cast<const char*>(nul) - text));
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, text + header_bytes, on_event);
  } catch (const nlohmann::json::exception& e) {
    throw Error(source, "header is not valid JSON: " + json_error_text(e));
  }
  // Starting with '{', valid JSON is an object.

  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw Error(source, "__metadata__ is not a map of strings to strings");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw Error(source, "__metadata__ entry " + json_quoted(k) + " is not a string");
        file.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    file.tensors_.push_back(parse_entry(key, value, data_size, source));
  }

  std::sort(file.tensors_.begin(), file.tensors_.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return std::tie(a.begin, a.end, a.name) < std::tie(b.begin, b.end, b.name);
  });
  // Sorted by start, ranges overlap exactly when one starts before the
  // furthest end seen so far. Empty tensors occupy nothing.
  const TensorInfo* furthest = nullptr;
  for (const auto& t : file.tensors_) {
    if (t.bytes() == 0) continue;
    if (furthest && t.begin < furthest->end)
      throw Error(source, "tensor " + json_quoted(t.name) + " (bytes " + range_text(t.begin, t.end) + ") overlaps tensor " +
                              json_quoted(furthest->name) + " (bytes " + range_text(furthest->begin, furthest->end) + ")");
    if (!furthest || t.end > furthest->end) furthest = &t;
  }
  file.index_.reserve(file.tensors_.size());
  for (std::size_t i = 0; i < file.tensors_.size(); ++i) file.index_.emplace(file.tensors_[i].name, i);
  return file;
}

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  if (auto mapping = MappedFile::open(path.string())) {
    auto file = std::make_shared<SafetensorsFile>(
        parse(std::span<const std::byte>(mapping->data(), mapping->size()), path.string()));
    file->mapping_ = std::move(mapping);
    return file;
  }
  // Not mappable (an empty file, a pipe, a file system without mmap): read it.
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    throw Error(path.string(), std::filesystem::exists(path, ec) ? "cannot open file" : "no such file");
  }
  std::vector<std::byte> bytes;
  char buffer[1 << 16];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    const auto* b = reinterpret_cast<const std::byte*>(buffer);
    bytes.insert(bytes.end(), b, b + in.gcount());
  }
  if (in.bad()) throw Error(path.string(), "cannot read file");
  // Moving the vector keeps its buffer, so the spans parse() made stay valid.
  auto file = std::make_shared<SafetensorsFile>(parse(bytes, path.string()));
  file->owned_ = std::move(bytes);
  return file;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& tensor) const {
  return image_.subspan(data_offset_ + tensor.begin, tensor.bytes());
}

void SafetensorsWriter::add(std::string name, StorageDtype dtype, std::vector<std::int64_t> shape,
                            std::span<const std::byte> data) {
  const std::string context = "tensor " + json_quoted(name);
  if (name == "__metadata__") throw Error(context, "the name is reserved for the header's metadata");
  try {
    (void)nlohmann::json(name).dump();
  } catch (const nlohmann::json::exception&) {
    throw Error(context, "the name is not valid UTF-8");
  }
  for (const auto& t : tensors_)
    if (t.info.name == name) throw Error(context, "the name is given twice");
  for (const std::int64_t d : shape)
    if (d < 0) throw Error(context, "shape " + shape_text(shape) + " has a negative dimension");
  const auto needed = byte_count(shape, element_size(dtype));
  if (!needed || *needed != data.size())
    throw Error(context, std::to_string(data.size()) + " bytes given for shape " + shape_text(shape) + " of " +
                             std::string(storage_dtype_name(dtype)));
  Pending p;
  p.info.name = std::move(name);
  p.info.dtype = dtype;
  p.info.shape = std::move(shape);
  p.data = data;
  data_bytes_ += data.size();
  tensors_.push_back(std::move(p));
}

void SafetensorsWriter::set_metadata(std::map<std::string, std::string> metadata) { metadata_ = std::move(metadata); }

std::vector<const SafetensorsWriter::Pending*> SafetensorsWriter::ordered() const {
  std::vector<const Pending*> order;
  for (const auto& t : tensors_) order.push_back(&t);
  // The Python library's order (widest dtype first, then by name), so that
  // every tensor starts aligned to its element size when the data section
  // is; files then match the ones it writes byte for byte.
  std::sort(order.begin(), order.end(), [](const Pending* a, const Pending* b) {
    if (a->info.dtype != b->info.dtype) return a->info.dtype > b->info.dtype;
    return a->info.name < b->info.name;
  });
  return order;
}

std::string SafetensorsWriter::header() const {
  std::string json = "{";
  if (!metadata_.empty()) json += "\"__metadata__\":" + nlohmann::json(metadata_).dump();
  std::uint64_t offset = 0;
  for (const Pending* t : ordered()) {
    if (json.size() > 1) json += ',';
    nlohmann::json shape = nlohmann::json::array();
    for (const std::int64_t d : t->info.shape) shape.push_back(d);
    json += nlohmann::json(t->info.name).dump() + ":{\"dtype\":\"" + std::string(storage_dtype_name(t->info.dtype)) +
            "\",\"shape\":" + shape.dump() + ",\"data_offsets\":[" + std::to_string(offset) + "," +
            std::to_string(offset + t->data.size()) + "]}";
    offset += t->data.size();
  }
  json += '}';
  // Padding to 8 bytes aligns the data section for every element size.
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string block(8, '\0');
  const std::uint64_t n = json.size();
  std::memcpy(block.data(), &n, 8);
  return block + json;
}

std::vector<std::byte> SafetensorsWriter::image() const {
  const std::string head = header();
  std::vector<std::byte> out(reinterpret_cast<const std::byte*>(head.data()),
                             reinterpret_cast<const std::byte*>(head.data()) + head.size());
  out.reserve(head.size() + data_bytes_);
  for (const Pending* t : ordered()) out.insert(out.end(), t->data.begin(), t->data.end());
  return out;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  AtomicTextFile out(path);
  out.write(header());
  for (const Pending* t : ordered())
    out.write(std::string_view(reinterpret_cast<const char*>(t->data.data()), t->data.size()));
  out.commit();
}

}  // namespace c2s
