// NumPy .npy files (format version 1.0): a float32 matrix written atomically,
// readable by numpy.load without pickling.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

namespace c2s {

// The header of a little-endian float32 C-order array of `rows` x `cols`:
// magic, version 1.0, length, and the dict padded with spaces to a multiple
// of 64 bytes (as numpy writes it), ending in a newline.
std::string npy_float32_header(std::int64_t rows, std::int64_t cols);

// Writes `data` (rows * cols values, row-major) to `path` through a temporary
// renamed into place; an Error names the file when it cannot be written.
void write_npy_float32(const std::filesystem::path& path, const float* data, std::int64_t rows, std::int64_t cols);

}  // namespace c2s
