// A whole file mapped read-only into memory, so that large uncompressed
// arrays can be used where they lie instead of being copied out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace c2s {

class MappedFile {
 public:
  // nullptr when the file cannot be mapped (callers then read normally).
  static std::unique_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::byte* data() const { return data_; }
  std::uint64_t size() const { return size_; }
  // Asks the kernel to map [offset, offset + length) now (page tables filled
  // in one call rather than by faults while the data is used).
  void prefault(std::uint64_t offset, std::uint64_t length) const;
  // Drops the pages wholly inside [offset, offset + length) from this
  // process's memory (they stay in the page cache; a later read maps them
  // again), so that a file read once does not count in the resident set.
  void release(std::uint64_t offset, std::uint64_t length) const;

 private:
  MappedFile(const std::byte* data, std::uint64_t size) : data_(data), size_(size) {}
  const std::byte* data_;
  std::uint64_t size_;
};

// A 1-D array of `size` T stored in a mapped file in chunks of `chunk`
// elements (contiguous storage: one chunk). Where each chunk lies is asked of
// `locate` (chunk index -> byte offset, or nothing) as ranges are resolved;
// ranges that lie in chunks stored one after another are used in place.
template <class T>
class MappedArray {
 public:
  using Locate = std::function<std::optional<std::uint64_t>(std::uint64_t chunk)>;
  MappedArray() = default;
  MappedArray(const MappedFile& file, std::uint64_t chunk, std::uint64_t size, Locate locate)
      : file_(&file), chunk_(chunk), size_(size), locate_(std::move(locate)) {
    if (chunk_ == 0) return;
    const std::uint64_t n = (size_ + chunk_ - 1) / chunk_;
    offsets_.assign(n, kUnknown);
    run_end_.assign(n, 0);
  }

  // Learns where elements [begin, end) lie; false if a chunk among them is
  // not written or not inside the file. The other calls take resolved ranges.
  bool resolve(std::uint64_t begin, std::uint64_t end) {
    if (begin >= end) return true;
    if (chunk_ == 0 || end > size_) return false;
    const std::uint64_t first = begin / chunk_, last = (end - 1) / chunk_;
    for (std::uint64_t c = first; c <= last; ++c) {
      if (offsets_[c] != kUnknown) continue;
      const auto at = locate_(c);
      const std::uint64_t stored = std::min(chunk_, size_ - c * chunk_) * sizeof(T);
      if (!at || *at > file_->size() || stored > file_->size() - *at) return false;
      offsets_[c] = *at;
    }
    for (std::uint64_t c = last + 1; c-- > first;) {
      const bool joins_next = c < last && offsets_[c + 1] == offsets_[c] + chunk_ * sizeof(T);
      run_end_[c] = joins_next ? run_end_[c + 1] : std::min(size_, (c + 1) * chunk_);
    }
    return true;
  }

  // Elements [begin, end) in place, or nullptr when they cross a gap between
  // chunks or are not aligned for T (HDF5 does not align chunks).
  const T* find(std::uint64_t begin, std::uint64_t end) const {
    if (begin >= end) return reinterpret_cast<const T*>(file_->data());
    const std::uint64_t c = begin / chunk_;
    return end <= run_end_[c] && offsets_[c] % alignof(T) == 0 ? at(begin) : nullptr;
  }
  void copy(std::uint64_t begin, std::uint64_t end, T* out) const {
    for_each_piece(begin, end, [&](std::uint64_t at, std::uint64_t bytes) {
      std::memcpy(out, file_->data() + at, bytes);
      out += bytes / sizeof(T);
    });
  }
  void prefault(std::uint64_t begin, std::uint64_t end) const {
    for_each_piece(begin, end, [&](std::uint64_t at, std::uint64_t bytes) { file_->prefault(at, bytes); });
  }
  // Any range: chunks never resolved are skipped.
  void release(std::uint64_t begin, std::uint64_t end) const {
    for (end = std::min(end, size_); begin < end;) {
      const std::uint64_t c = begin / chunk_, stop = std::min(end, (c + 1) * chunk_);
      if (offsets_[c] != kUnknown) file_->release(offset_of(begin), (stop - begin) * sizeof(T));
      begin = stop;
    }
  }

 private:
  static constexpr std::uint64_t kUnknown = ~std::uint64_t(0);
  std::uint64_t offset_of(std::uint64_t i) const {
    const std::uint64_t c = i / chunk_;
    return offsets_[c] + (i - c * chunk_) * sizeof(T);
  }
  const T* at(std::uint64_t i) const { return reinterpret_cast<const T*>(file_->data() + offset_of(i)); }
  // Calls f(file offset, bytes) for each stretch of [begin, end) stored in one piece.
  template <class F>
  void for_each_piece(std::uint64_t begin, std::uint64_t end, F&& f) const {
    while (begin < end) {
      const std::uint64_t stop = std::min(end, run_end_[begin / chunk_]);
      f(offset_of(begin), (stop - begin) * sizeof(T));
      begin = stop;
    }
  }
  const MappedFile* file_ = nullptr;
  std::uint64_t chunk_ = 0, size_ = 0;
  Locate locate_;
  std::vector<std::uint64_t> offsets_, run_end_;
};

}  // namespace c2s
