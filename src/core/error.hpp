// The one exception type of c2s: a message that already carries its context
// (file, dataset, cell, line), printed by the CLI as `c2s: error: <message>`.
#pragma once
#include <stdexcept>
#include <string>

namespace c2s {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
  Error(const std::string& context, const std::string& message)
      : std::runtime_error(context.empty() ? message : context + ": " + message) {}
};

// Raised for impossible flags or arguments; the CLI exits with status 2.
class UsageError : public Error {
 public:
  using Error::Error;
};

}  // namespace c2s
