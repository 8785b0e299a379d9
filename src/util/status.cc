#include "util/status.h"

namespace crew {

std::string Status::ToString() const {
  static const char* const kNames[] = {"OK",        "Invalid argument", "Not found",  "Conflict",
                                       "Too large", "Unavailable",      "Corruption", "I/O error"};
  std::string out = kNames[static_cast<int>(code_)];
  if (!message_.empty()) out += ": " + message_;
  return out;
}

}  // namespace crew
