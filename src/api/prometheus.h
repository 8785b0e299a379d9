// PromText: builds a page of the Prometheus text exposition format 0.0.4 (SPEC N6, /metrics):
// a "# HELP" and "# TYPE" line per metric family, then its samples `name{label="value"} number`.
// Label values are escaped (backslash, double quote, newline). Thread-compatible.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace crew::api {

using PromLabels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class PromText {
 public:
  static constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

  // type: "counter", "gauge" or "histogram".
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, PromLabels labels, double value);
  void Sample(std::string_view name, PromLabels labels, int64_t value);
  void Sample(std::string_view name, int64_t value) { Sample(name, {}, value); }
  // A number as Prometheus writes it ("+Inf", shortest round trip otherwise).
  static std::string Number(double value);

  const std::string& text() const { return out_; }

 private:
  void Head(std::string_view name, PromLabels labels);
  std::string out_;
};

}  // namespace crew::api
