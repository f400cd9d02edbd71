// Reads a text file line by line, plain or gzip-compressed (detected from the
// content, through zlib), for the text inputs: 10x matrix market, CSV/TSV,
// JSONL of prompts, candidates and sentences. Path "-" is stdin.
#pragma once
#include <zlib.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace c2s {

class LineReader {
 public:
  // A missing or unreadable file is an Error naming it; "-" reads stdin
  // (named "stdin" in messages).
  explicit LineReader(std::string path);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line without its end ("\n" or "\r\n"); false at the end of the
  // file. The view stays valid until the next call.
  bool next(std::string_view& line);
  // 1-based number of the line last returned.
  std::int64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  // "<path>:<line>" for messages about the line last returned.
  std::string where() const;

 private:
  void fill();
  std::string path_;
  gzFile file_ = nullptr;
  std::vector<char> buffer_;
  std::size_t begin_ = 0, end_ = 0;
  bool eof_ = false;
  std::int64_t line_number_ = 0;
};

}  // namespace c2s
