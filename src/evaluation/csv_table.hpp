// CSV tables the evaluation writes (confusion matrices, per-class scores,
// per-cell predictions): RFC 4180 quoting, written atomically.
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace c2s {

class CsvTable {
 public:
  explicit CsvTable(std::vector<std::string> header);

  // A row of as many fields as the header (an Error otherwise).
  void add_row(std::vector<std::string> fields);
  std::size_t n_rows() const { return rows_.size(); }

  // The table as text: a field holding a comma, quote or line break is
  // quoted, its quotes doubled; lines end in "\n".
  std::string text() const;
  // Writes text() through a temporary renamed into place.
  void write(const std::filesystem::path& path) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// A number as CSV text: up to 6 significant digits ("0.904", "12", "nan").
std::string csv_number(double x);

}  // namespace c2s
