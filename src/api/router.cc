#include "api/router.h"

#include <algorithm>
#include <cstring>

namespace crew::api {

void Router::Add(const char* method, const std::string& pattern, Handler h, OnLoop on_loop) {
  size_t literal = std::min(pattern.find_first_of(".[]()*+?{}|^$\\"), pattern.size());
  // ('?', '*' and '{' make the character before them optional)
  if (literal < pattern.size() && std::strchr("?*{", pattern[literal]) && literal > 0) --literal;
  std::string prefix = pattern.substr(0, literal);
  routes_.push_back(
      {method, pattern, std::move(prefix), std::regex(pattern), std::move(h), std::move(on_loop)});
}

void Router::Get(const std::string& p, Handler h, OnLoop on_loop) {
  Add("GET", p, std::move(h), std::move(on_loop));
}
void Router::Post(const std::string& p, Handler h, OnLoop on_loop) {
  Add("POST", p, std::move(h), std::move(on_loop));
}
void Router::Put(const std::string& p, Handler h, OnLoop on_loop) {
  Add("PUT", p, std::move(h), std::move(on_loop));
}
void Router::Patch(const std::string& p, Handler h, OnLoop on_loop) {
  Add("PATCH", p, std::move(h), std::move(on_loop));
}
void Router::Delete(const std::string& p, Handler h, OnLoop on_loop) {
  Add("DELETE", p, std::move(h), std::move(on_loop));
}

const Router::Route* Router::Match(httplib::Request& req) const {
  std::string_view method = req.method;
  if (method == "HEAD") method = "GET";
  for (const Route& r : routes_) {
    if (r.method == method && req.path.compare(0, r.prefix.size(), r.prefix) == 0 &&
        std::regex_match(req.path, req.matches, r.pattern)) {
      return &r;
    }
  }
  return nullptr;
}

void Router::InstallInto(httplib::Server& server) const {
  for (const Route& r : routes_) {
    if (r.method == "GET") {
      server.Get(r.source, r.handler);
    } else if (r.method == "POST") {
      server.Post(r.source, r.handler);
    } else if (r.method == "PUT") {
      server.Put(r.source, r.handler);
    } else if (r.method == "PATCH") {
      server.Patch(r.source, r.handler);
    } else {
      server.Delete(r.source, r.handler);
    }
  }
}

}  // namespace crew::api
