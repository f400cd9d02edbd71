// A whole file mapped read-only into memory, so that large uncompressed
// arrays can be used where they lie instead of being copied out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstring>
#include <memory>
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

// A 1-D array of T stored in a mapped file in chunks of `chunk` elements,
// chunk c at byte chunk_offsets[c] (contiguous storage: one chunk). Ranges
// that lie in chunks stored one after another are used in place.
template <class T>
class MappedArray {
 public:
  MappedArray() = default;
  // Empty (valid() false) unless every chunk lies inside the file.
  MappedArray(const MappedFile& file, std::uint64_t chunk, std::vector<std::uint64_t> chunk_offsets,
              std::uint64_t size)
      : file_(&file), chunk_(chunk), offsets_(std::move(chunk_offsets)), run_end_(offsets_.size()), size_(size) {
    if (chunk_ == 0 || offsets_.size() != (size_ + chunk_ - 1) / chunk_) return;
    for (std::size_t c = offsets_.size(); c-- > 0;) {
      const std::uint64_t stored = std::min(chunk_, size_ - c * chunk_) * sizeof(T);
      if (offsets_[c] + stored > file.size()) return;
      const bool joins_next = c + 1 < offsets_.size() && offsets_[c + 1] == offsets_[c] + chunk_ * sizeof(T);
      run_end_[c] = joins_next ? run_end_[c + 1] : std::min(size_, (c + 1) * chunk_);
    }
    valid_ = true;
  }
  bool valid() const { return valid_; }

  // Elements [begin, end) in place, or nullptr when they cross a gap between
  // chunks or are not aligned for T (HDF5 does not align chunks).
  const T* find(std::uint64_t begin, std::uint64_t end) const {
    if (begin >= end) return reinterpret_cast<const T*>(file_->data());
    const std::uint64_t c = begin / chunk_;
    return end <= run_end_[c] && offsets_[c] % alignof(T) == 0 ? at(begin) : nullptr;
  }
  void copy(std::uint64_t begin, std::uint64_t end, T* out) const {
    while (begin < end) {
      const std::uint64_t c = begin / chunk_, stop = std::min(end, run_end_[c]);
      std::memcpy(out, file_->data() + offset_of(begin), (stop - begin) * sizeof(T));
      out += stop - begin;
      begin = stop;
    }
  }
  void prefault(std::uint64_t begin, std::uint64_t end) const {
    for_each_piece(begin, end, [&](std::uint64_t at, std::uint64_t bytes) { file_->prefault(at, bytes); });
  }
  void release(std::uint64_t begin, std::uint64_t end) const {
    for_each_piece(begin, end, [&](std::uint64_t at, std::uint64_t bytes) { file_->release(at, bytes); });
  }

 private:
  std::uint64_t offset_of(std::uint64_t i) const {
    const std::uint64_t c = std::min<std::uint64_t>(i / chunk_, offsets_.size() - 1);
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
  std::uint64_t chunk_ = 0;
  std::vector<std::uint64_t> offsets_, run_end_;
  std::uint64_t size_ = 0;
  bool valid_ = false;
};

}  // namespace c2s
