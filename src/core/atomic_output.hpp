// Outputs are written under a temporary name beside their target and renamed
// into place on commit, so an interrupted run never leaves a file that looks
// complete. Uncommitted temporaries are removed on destruction.
#pragma once
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace c2s {

class AtomicOutput {
 public:
  // `target` is a file or folder path; its parent folder must be writable.
  explicit AtomicOutput(std::filesystem::path target);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  // Where to write now (same folder as the target, hidden name).
  const std::filesystem::path& temp_path() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  // Renames the temporary onto the target, replacing an older one.
  void commit();

 private:
  std::filesystem::path target_, temp_;
  bool committed_ = false;
};

// An output folder that a command replaces as a whole (AtomicOutput) may
// hold nothing but `files`, the command's own outputs from an earlier run:
// an Error naming the first other entry, with `advice` (e.g. "write the
// baseline to a new folder"). Nothing to check when `dir` does not exist.
void check_replaceable_folder(const std::filesystem::path& dir, const std::vector<std::string>& files,
                              const std::string& advice);

// A text file (JSONL, plain lines) written through an AtomicOutput: lines
// go to the temporary; commit() closes it, checking every write, and renames.
class AtomicTextFile {
 public:
  explicit AtomicTextFile(std::filesystem::path target);
  ~AtomicTextFile();
  AtomicTextFile(const AtomicTextFile&) = delete;
  AtomicTextFile& operator=(const AtomicTextFile&) = delete;

  void write(std::string_view text);  // an Error when the disk is full
  void commit();

 private:
  AtomicOutput output_;
  std::FILE* file_ = nullptr;
};

}  // namespace c2s
