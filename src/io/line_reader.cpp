// Buffered line reading over zlib's gz* interface, which passes plain files
// through unchanged, so one reader serves both.
#include "io/line_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "core/error.hpp"

namespace c2s {

LineReader::LineReader(std::string path) : path_(std::move(path)), buffer_(1 << 20) {
  if (path_ == "-") {
    path_ = "stdin";
    file_ = gzdopen(dup(STDIN_FILENO), "rb");
    if (!file_) throw Error(path_, std::string("cannot read: ") + std::strerror(errno));
    gzbuffer(file_, 1 << 18);
    return;
  }
  std::error_code ec;
  if (!std::filesystem::exists(path_, ec)) throw Error(path_, "no such file");
  if (std::filesystem::is_directory(path_, ec)) throw Error(path_, "is a folder, expected a file");
  file_ = gzopen(path_.c_str(), "rb");
  if (!file_) throw Error(path_, std::string("cannot open: ") + std::strerror(errno));
  gzbuffer(file_, 1 << 18);
}

LineReader::~LineReader() {
  if (file_) gzclose(file_);
}

std::string LineReader::where() const { return path_ + ":" + std::to_string(line_number_); }

// Moves the unread tail to the front and reads more, growing the buffer when
// a single line does not fit.
void LineReader::fill() {
  std::size_t left = end_ - begin_;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, left);
    begin_ = 0;
    end_ = left;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  int want = int(std::min<std::size_t>(buffer_.size() - end_, 1u << 30));
  int got = gzread(file_, buffer_.data() + end_, unsigned(want));
  int err = Z_OK;
  const char* message = gzerror(file_, &err);
  if (got < 0 || (err != Z_OK && err != Z_BUF_ERROR))
    throw Error(path_, std::string("read error: ") + (err == Z_ERRNO ? std::strerror(errno) : message));
  if (got == 0) {
    // zlib reports a gzip stream cut short as Z_BUF_ERROR once input runs out.
    if (err == Z_BUF_ERROR) throw Error(path_, "truncated gzip file");
    eof_ = true;
  }
  end_ += std::size_t(got);
}

bool LineReader::next(std::string_view& line) {
  for (;;) {
    const char* start = buffer_.data() + begin_;
    if (const void* nl = std::memchr(start, '\n', end_ - begin_)) {
      std::size_t len = std::size_t(static_cast<const char*>(nl) - start);
      begin_ += len + 1;
      if (len > 0 && start[len - 1] == '\r') --len;
      line = std::string_view(start, len);
      ++line_number_;
      return true;
    }
    if (eof_) {
      if (begin_ == end_) return false;
      std::size_t len = end_ - begin_;
      begin_ = end_;
      if (len > 0 && start[len - 1] == '\r') --len;
      line = std::string_view(start, len);
      ++line_number_;
      return true;
    }
    fill();
  }
}

}  // namespace c2s
