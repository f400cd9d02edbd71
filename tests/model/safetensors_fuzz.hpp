// The safetensors fuzz body, shared by the GoogleTest mutation loop
// (safetensors_fuzz_test.cpp) and the libFuzzer target (fuzz/). Torch-free.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "model/safetensors_file.hpp"

namespace c2s::fuzzing {

struct SafetensorsFuzzStats {
  std::size_t accepted = 0, tensors = 0;
};
inline SafetensorsFuzzStats& safetensors_fuzz_stats() {
  static SafetensorsFuzzStats stats;
  return stats;
}

// Parses `data` as a whole safetensors file. A c2s::Error is an acceptable
// outcome; any other exception, a crash or a sanitizer report is a bug, and
// so is an accepted file that breaks what readers rely on: a tensor whose
// bytes lie outside the data section or disagree with its shape, tensors
// that overlap, a name find() does not return, or a file that the writer
// cannot reproduce (same tensors, same bytes).
inline void fuzz_safetensors(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> image(reinterpret_cast<const std::byte*>(data), size);
  std::optional<SafetensorsFile> parsed;
  try {
    parsed.emplace(SafetensorsFile::parse(image, "fuzz"));
  } catch (const Error&) {
    return;
  }
  const SafetensorsFile& file = *parsed;
  ++safetensors_fuzz_stats().accepted;
  const std::uint64_t data_size = size - file.data_offset();
  std::uint64_t previous_end = 0;
  SafetensorsWriter writer;
  writer.set_metadata(file.metadata());
  for (const TensorInfo& t : file.tensors()) {
    ++safetensors_fuzz_stats().tensors;
    if (t.begin > t.end || t.end > data_size) throw std::logic_error("tensor " + t.name + " lies outside the data");
    if (t.bytes() > 0 && t.begin < previous_end) throw std::logic_error("tensor " + t.name + " overlaps another");
    if (t.bytes() > 0) previous_end = t.end;
    std::uint64_t n = element_size(t.dtype);
    for (const std::int64_t d : t.shape) {
      if (d < 0) throw std::logic_error("negative dimension accepted");
      // Modulo 2^64, which is the true count whenever the parser's checked one fit.
      n *= static_cast<std::uint64_t>(d);
    }
    if (n != t.bytes()) throw std::logic_error("size of " + t.name + " disagrees with its shape");
    if (file.find(t.name) != &t) throw std::logic_error("find() misses " + t.name);
    const auto bytes = file.bytes(t);
    if (bytes.data() < image.data() || bytes.data() + bytes.size() > image.data() + image.size())
      throw std::logic_error("bytes of " + t.name + " outside the image");
    writer.add(t.name, t.dtype, t.shape, bytes);  // an Error here is a bug too
  }
  const auto rewritten = writer.image();
  const auto again = SafetensorsFile::parse(rewritten, "fuzz (rewritten)");
  if (again.tensors().size() != file.tensors().size() || again.metadata() != file.metadata())
    throw std::logic_error("the rewritten file differs");
  for (const TensorInfo& t : file.tensors()) {
    const TensorInfo* u = again.find(t.name);
    if (!u || u->dtype != t.dtype || u->shape != t.shape) throw std::logic_error("rewritten " + t.name + " differs");
    const auto a = file.bytes(t), b = again.bytes(*u);
    if (a.size() != b.size() || (a.size() > 0 && std::memcmp(a.data(), b.data(), a.size()) != 0))
      throw std::logic_error("rewritten bytes of " + t.name + " differ");
  }
}

}  // namespace c2s::fuzzing
