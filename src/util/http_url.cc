#include "util/http_url.h"

#include <cctype>

namespace crew {

std::optional<HttpUrl> SplitHttpUrl(std::string_view url) {
  const size_t sep = url.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  std::string scheme(url.substr(0, sep));
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const std::string_view rest = url.substr(sep + 3);
  const size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view host = authority;
  if (const size_t colon = authority.rfind(':');
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5) return std::nullopt;
    int n = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 65535) return std::nullopt;
  }
  if (host.empty()) return std::nullopt;
  for (char c : authority) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '@') return std::nullopt;
  }
  HttpUrl out;
  out.origin = scheme + "://" + std::string(authority);
  if (end == std::string_view::npos || rest[end] == '#') {
    out.path = "/";
  } else {
    out.path = std::string(rest.substr(end));
    if (out.path.front() == '?') out.path.insert(0, "/");
    if (const size_t hash = out.path.find('#'); hash != std::string::npos) out.path.resize(hash);
  }
  return out;
}

}  // namespace crew
