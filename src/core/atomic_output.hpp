// Outputs are written under a temporary name beside their target and renamed
// into place on commit, so an interrupted run never leaves a file that looks
// complete. Uncommitted temporaries are removed on destruction.
#pragma once
#include <filesystem>
#include <string>

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

}  // namespace c2s
