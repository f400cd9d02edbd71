#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14; older kernels answer EINVAL and we fall back
#endif

namespace c2s {

std::unique_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  struct stat st {};
  void* p = MAP_FAILED;
  if (::fstat(fd, &st) == 0 && st.st_size > 0)
    p = ::mmap(nullptr, std::size_t(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);  // the mapping keeps the file
  if (p == MAP_FAILED) return nullptr;
  return std::unique_ptr<MappedFile>(new MappedFile(static_cast<const std::byte*>(p), std::uint64_t(st.st_size)));
}

MappedFile::~MappedFile() { ::munmap(const_cast<std::byte*>(data_), std::size_t(size_)); }

void MappedFile::prefault(std::uint64_t offset, std::uint64_t length) const {
  if (length == 0 || offset >= size_) return;
  const std::uint64_t page = std::uint64_t(::sysconf(_SC_PAGESIZE));
  std::uint64_t begin = offset / page * page, end = std::min(size_, offset + length);
  void* p = const_cast<std::byte*>(data_ + begin);
  if (::madvise(p, std::size_t(end - begin), MADV_POPULATE_READ) != 0)
    ::madvise(p, std::size_t(end - begin), MADV_WILLNEED);
}

void MappedFile::release(std::uint64_t offset, std::uint64_t length) const {
  const std::uint64_t page = std::uint64_t(::sysconf(_SC_PAGESIZE));
  std::uint64_t begin = (offset + page - 1) / page * page, end = std::min(size_, offset + length) / page * page;
  if (begin < end) ::madvise(const_cast<std::byte*>(data_ + begin), std::size_t(end - begin), MADV_DONTNEED);
}

}  // namespace c2s
