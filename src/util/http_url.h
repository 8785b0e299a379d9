// An operator's URL, split for an HTTP client (cpp-httplib's Client takes the origin and the
// path apart, and throws for a scheme it does not serve).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace crew {

struct HttpUrl {
  std::string origin;  // "http://host:port", the scheme in lower case
  std::string path;    // "/path?query" ("/" when the URL has none)
};

// nullopt unless url is http:// or https:// (either case), a host without spaces or control
// characters, an optional port of 1 to 65535, then nothing, a path, or a query.
std::optional<HttpUrl> SplitHttpUrl(std::string_view url);

}  // namespace crew
