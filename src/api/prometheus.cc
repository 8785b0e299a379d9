#include "api/prometheus.h"

#include <charconv>
#include <cmath>

namespace crew::api {

void PromText::Family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP ";
  out_ += name;
  out_.push_back(' ');
  out_ += help;
  out_ += "\n# TYPE ";
  out_ += name;
  out_.push_back(' ');
  out_ += type;
  out_.push_back('\n');
}

void PromText::Head(std::string_view name, PromLabels labels) {
  out_ += name;
  if (labels.size() == 0) {
    out_.push_back(' ');
    return;
  }
  out_.push_back('{');
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out_.push_back(',');
    first = false;
    out_ += key;
    out_ += "=\"";
    for (char c : value) {
      if (c == '\\') {
        out_ += "\\\\";
      } else if (c == '"') {
        out_ += "\\\"";
      } else if (c == '\n') {
        out_ += "\\n";
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }
  out_ += "} ";
}

void PromText::Sample(std::string_view name, PromLabels labels, double value) {
  Head(name, labels);
  out_ += Number(value);
  out_.push_back('\n');
}

void PromText::Sample(std::string_view name, PromLabels labels, int64_t value) {
  Head(name, labels);
  out_ += std::to_string(value);
  out_.push_back('\n');
}

std::string PromText::Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

}  // namespace crew::api
