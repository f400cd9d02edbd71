#include "io/npy_writer.hpp"

#include <bit>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/atomic_output.hpp"
#include "core/error.hpp"

namespace c2s {

std::string npy_float32_header(std::int64_t rows, std::int64_t cols) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                     std::to_string(cols) + "), }";
  // magic (6) + version (2) + length (2) + dict + padding + '\n'.
  const std::size_t unpadded = 10 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  std::string header = "\x93NUMPY";
  header.push_back('\x01');
  header.push_back('\x00');
  header.push_back(char(dict.size() & 0xff));
  header.push_back(char(dict.size() >> 8));
  return header + dict;
}

void write_npy_float32(const std::filesystem::path& path, const float* data, std::int64_t rows, std::int64_t cols) {
  AtomicOutput output(path);
  std::FILE* file = std::fopen(output.temp_path().c_str(), "wb");
  if (!file) throw Error(path.string(), "cannot create file");
  const std::string header = npy_float32_header(rows, cols);
  bool ok = std::fwrite(header.data(), 1, header.size(), file) == header.size();
  const auto n = std::size_t(rows * cols);
  if constexpr (std::endian::native == std::endian::little) {
    ok = ok && std::fwrite(data, sizeof(float), n, file) == n;
  } else {
    // The header says little-endian ('<f4'): swap on other machines.
    std::vector<std::uint32_t> swapped(n);
    std::memcpy(swapped.data(), data, n * sizeof(float));
    for (auto& v : swapped) v = __builtin_bswap32(v);
    ok = ok && std::fwrite(swapped.data(), sizeof(float), n, file) == n;
  }
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) throw Error(path.string(), "write failed (disk full?)");
  output.commit();
}

}  // namespace c2s
