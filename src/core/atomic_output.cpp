#include "core/atomic_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fmt/format.h>
#include <system_error>

#include "core/error.hpp"

namespace c2s {

namespace fs = std::filesystem;

AtomicOutput::AtomicOutput(fs::path target) : target_(std::move(target)) {
  if (target_.empty()) throw UsageError("output path is empty");
  // A folder given as "out/" is the folder "out" (its parent is the one written to).
  while (!target_.has_filename() && target_.has_relative_path()) target_ = target_.parent_path();
  fs::path parent = target_.parent_path();
  if (parent.empty()) parent = ".";
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    throw Error(target_.string(), "output folder " + parent.string() + " does not exist");
  if (access(parent.c_str(), W_OK) != 0)
    throw Error(target_.string(), "output folder " + parent.string() + " is not writable");
  static std::atomic<int> counter{0};
  temp_ = parent / fmt::format(".{}.tmp-{}-{}", target_.filename().string(), getpid(), counter++);
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove_all(temp_, ec);
  }
}

void AtomicOutput::commit() {
  std::error_code ec;
  if (fs::is_directory(temp_, ec) && fs::exists(target_, ec)) {
    // A folder cannot be renamed over a full one: the old one moves aside
    // first and goes only once the new one is in place, so at every moment
    // one complete folder exists (the old one under the hidden name if the
    // process dies between the two renames).
    const fs::path aside = temp_.string() + ".replaced";
    fs::rename(target_, aside, ec);
    if (ec) throw Error(target_.string(), "cannot move the older output aside: " + ec.message());
    fs::rename(temp_, target_, ec);
    if (ec) {
      std::error_code restore;
      fs::rename(aside, target_, restore);
      throw Error(target_.string(), "cannot move output into place: " + ec.message());
    }
    fs::remove_all(aside, ec);
    committed_ = true;
    return;
  }
  fs::rename(temp_, target_, ec);
  if (ec) throw Error(target_.string(), "cannot move output into place: " + ec.message());
  committed_ = true;
}

void check_replaceable_folder(const fs::path& dir, const std::vector<std::string>& files, const std::string& advice) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) throw Error(dir.string(), "exists and is not a folder");
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (std::find(files.begin(), files.end(), name) == files.end())
      throw Error(dir.string(), "the folder holds other files (" + name + "); " + advice);
  }
}

AtomicTextFile::AtomicTextFile(std::filesystem::path target) : output_(std::move(target)) {
  file_ = std::fopen(output_.temp_path().c_str(), "wb");
  if (!file_) throw Error(output_.target().string(), "cannot create file");
}

AtomicTextFile::~AtomicTextFile() {
  if (file_) std::fclose(file_);
}

void AtomicTextFile::write(std::string_view text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size())
    throw Error(output_.target().string(), "write failed (disk full?)");
}

void AtomicTextFile::commit() {
  const int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) throw Error(output_.target().string(), "write failed (disk full?)");
  output_.commit();
}

}  // namespace c2s
