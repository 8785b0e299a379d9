#include "api/router.h"

#include <algorithm>
#include <cstring>

#include "api/json_in.h"
#include "api/route_util.h"

namespace crew::api {

namespace {

constexpr const char* kSpecial = ".[]()*+?{}|^$\\";

// Whether the pattern has an alternative outside any group ("a|b"): then it has no literal
// start or end of its own.
bool TopLevelAlternation(const std::string& pattern) {
  int depth = 0;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\') {
      ++i;
    } else if (in_class) {
      in_class = c != ']';
    } else if (c == '[') {
      in_class = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == '|' && depth == 0) {
      return true;
    }
  }
  return false;
}

// The handler of a route that does not read its body, behind the check of that body (both front
// ends run a route's handler, so both check it).
Router::Handler CheckingUnusedBody(Router::Handler h) {
  return [h = std::move(h)](const httplib::Request& req, httplib::Response& res) {
    if (!req.body.empty()) {
      Status s = ParseUnusedBody(req.body, req.get_header_value("Content-Type"));
      if (!s.ok()) return ReplyError(res, s);
    }
    h(req, res);
  };
}

}  // namespace

void Router::Add(const char* method, const std::string& pattern, Handler h, OnLoop on_loop,
                 Body body) {
  std::string prefix, suffix;
  if (!TopLevelAlternation(pattern)) {
    size_t literal = std::min(pattern.find_first_of(kSpecial), pattern.size());
    // ('?', '*' and '{' make the character before them optional)
    if (literal < pattern.size() && std::strchr("?*{", pattern[literal]) && literal > 0) --literal;
    prefix = pattern.substr(0, literal);
    size_t last = pattern.find_last_of(kSpecial);  // (none: the prefix is the whole pattern)
    if (last != std::string::npos && last + 1 < pattern.size()) {
      // (after a backslash, the first character is part of an escape such as \d)
      suffix = pattern.substr(last + 1 + (pattern[last] == '\\'));
    }
  }
  if (body == Body::kUnread) h = CheckingUnusedBody(std::move(h));
  Route r{method, pattern, prefix, suffix, std::regex(pattern), std::move(h), std::move(on_loop)};
  if (prefix == pattern) {
    r.shape = Route::Shape::kLiteral;
  } else {
    for (const char* group : {"([^/]+)", "(.+)"}) {
      if (pattern == prefix + group + suffix) {
        r.shape = Route::Shape::kGroup;
        r.segment = group[1] == '[';
      }
    }
  }
  routes_.push_back(std::move(r));
}

// The text between a kGroup route's prefix and suffix is the group when it is not empty and
// holds no character the group excludes. req.matches is then made as std::regex would make it
// (matches[0] and matches[1] the group's text, as with the whole pattern): a copy of the
// match_results of an empty pattern with one group (made once, by std::regex: there is no
// other way to make one) has two sub-matches, whose ends are set to the group's, and an empty
// prefix and suffix, set to the group's start as a match on an empty range there would. (A
// sub_match is a std::pair of iterators with a `matched` flag, all public; the match_results
// itself is not const.)
bool Router::MatchGroup(const Route& r, httplib::Request& req) {
  static const std::smatch kTwoGroups = [] {
    static const std::string empty;
    std::smatch m;
    std::regex_match(empty, m, std::regex("()"));
    return m;
  }();
  const std::string& path = req.path;
  const auto begin = path.begin() + static_cast<std::ptrdiff_t>(r.prefix.size());
  const auto end = path.end() - static_cast<std::ptrdiff_t>(r.suffix.size());
  if (begin == end) return false;
  for (auto it = begin; it != end; ++it) {
    if (r.segment && *it == '/') return false;  // (a channel may hold any character)
  }
  req.matches = kTwoGroups;
  for (size_t i = 0; i < 2; ++i) {
    auto& m = const_cast<std::ssub_match&>(req.matches[i]);
    m.first = begin;
    m.second = end;
    m.matched = true;
  }
  for (const std::ssub_match* edge : {&req.matches.prefix(), &req.matches.suffix()}) {
    auto& m = const_cast<std::ssub_match&>(*edge);
    m.first = m.second = begin;
    m.matched = false;
  }
  return true;
}

bool Router::Matches(const Route& r, httplib::Request& req) {
  const std::string& path = req.path;
  if (path.size() < r.prefix.size() + r.suffix.size() ||
      path.compare(0, r.prefix.size(), r.prefix) != 0 ||
      path.compare(path.size() - r.suffix.size(), r.suffix.size(), r.suffix) != 0) {
    return false;
  }
  switch (r.shape) {
    case Route::Shape::kLiteral:
      return path.size() == r.prefix.size();
    case Route::Shape::kGroup:
      return MatchGroup(r, req);
    case Route::Shape::kRegex:
      break;
  }
  return std::regex_match(path, req.matches, r.pattern);
}

void Router::Get(const std::string& p, Handler h, OnLoop on_loop, Body body) {
  Add("GET", p, std::move(h), std::move(on_loop), body);
}
void Router::Post(const std::string& p, Handler h, OnLoop on_loop, Body body) {
  Add("POST", p, std::move(h), std::move(on_loop), body);
}
void Router::Put(const std::string& p, Handler h, OnLoop on_loop, Body body) {
  Add("PUT", p, std::move(h), std::move(on_loop), body);
}
void Router::Patch(const std::string& p, Handler h, OnLoop on_loop, Body body) {
  Add("PATCH", p, std::move(h), std::move(on_loop), body);
}
void Router::Delete(const std::string& p, Handler h, OnLoop on_loop, Body body) {
  Add("DELETE", p, std::move(h), std::move(on_loop), body);
}

const Router::Route* Router::Match(httplib::Request& req) const {
  std::string_view method = req.method;
  if (method == "HEAD") method = "GET";
  // The original's router (Express, not strict) serves "/api/v1/channels/" as
  // "/api/v1/channels", and "/healthz/" as "/healthz": so does this one (no route needs a path's
  // last slash; the dashboard's files have none).
  std::string& path = req.path;
  if (path.size() > 1 && path.back() == '/') path.pop_back();
  for (const Route& r : routes_) {
    if (r.method == method && Matches(r, req)) return &r;
  }
  return nullptr;
}

void Router::Label(const std::function<int(std::string_view path_template)>& label_of) {
  for (Route& r : routes_) {
    if (r.shape == Route::Shape::kLiteral) {
      r.label = label_of(r.prefix);
    } else if (r.shape == Route::Shape::kGroup) {
      r.label = label_of(r.prefix + (r.segment ? "{id}" : "{channel}") + r.suffix);
    }
  }
}

void Router::InstallInto(httplib::Server& server) const {
  for (const Route& r : routes_) {
    // (a path may end with a slash, and a channel hold a line end, as Match allows)
    std::string pattern = r.source.ends_with("/?") ? r.source : r.source + "/?";
    if (size_t any = pattern.find("(.+)"); any != std::string::npos) {
      pattern.replace(any, 4, "([\\s\\S]+)");
    }
    if (r.method == "GET") {
      server.Get(pattern, r.handler);
    } else if (r.method == "POST") {
      server.Post(pattern, r.handler);
    } else if (r.method == "PUT") {
      server.Put(pattern, r.handler);
    } else if (r.method == "PATCH") {
      server.Patch(pattern, r.handler);
    } else {
      server.Delete(pattern, r.handler);
    }
  }
}

}  // namespace crew::api
