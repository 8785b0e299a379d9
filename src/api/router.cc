#include "api/router.h"

namespace crew::api {

void Router::Add(const char* method, const std::string& pattern, Handler h, OnLoop on_loop) {
  routes_.push_back({method, pattern, std::regex(pattern), std::move(h), std::move(on_loop)});
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
    if (r.method == method && std::regex_match(req.path, req.matches, r.pattern)) return &r;
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
