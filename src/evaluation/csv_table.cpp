#include "evaluation/csv_table.hpp"

#include <fmt/format.h>

#include <cmath>

#include "core/atomic_output.hpp"
#include "core/error.hpp"

namespace c2s {

namespace {

void append_field(std::string& out, const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) {
    out += field;
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

void append_line(std::string& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ',';
    append_field(out, fields[i]);
  }
  out += '\n';
}

}  // namespace

CsvTable::CsvTable(std::vector<std::string> header) : header_(std::move(header)) {}

void CsvTable::add_row(std::vector<std::string> fields) {
  if (fields.size() != header_.size())
    throw Error(fmt::format("CSV row of {} fields for a header of {}", fields.size(), header_.size()));
  rows_.push_back(std::move(fields));
}

std::string CsvTable::text() const {
  std::string out;
  append_line(out, header_);
  for (const auto& row : rows_) append_line(out, row);
  return out;
}

void CsvTable::write(const std::filesystem::path& path) const {
  AtomicTextFile out(path);
  out.write(text());
  out.commit();
}

std::string csv_number(double x) {
  if (std::isnan(x)) return "nan";
  return fmt::format("{:.6g}", x);
}

}  // namespace c2s
