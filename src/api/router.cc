#include "api/router.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "api/json_in.h"
#include "api/route_util.h"
#include "util/ascii.h"

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

// The byte of the escape "%XX" at in[i]; -1 when there is none.
int EscapedByte(std::string_view in, size_t i) {
  if (i + 2 >= in.size() || in[i] != '%') return -1;
  const int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// `in` decoded into *out as JavaScript's decodeURIComponent decodes it: false (a URIError) for a
// '%' without two hex digits, or escaped bytes that are not the UTF-8 of a code point (a stray
// continuation byte, a truncated or overlong sequence, a surrogate, past U+10FFFF). Bytes not
// escaped are kept as they are.
bool DecodeUriComponent(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size();) {
    if (in[i] != '%') {
      out->push_back(in[i++]);
      continue;
    }
    const int lead = EscapedByte(in, i);
    if (lead < 0) return false;
    i += 3;
    int more;
    uint32_t cp, min;
    if (lead < 0x80) {
      more = 0, cp = static_cast<uint32_t>(lead), min = 0;
    } else if ((lead & 0xE0) == 0xC0) {
      more = 1, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      more = 2, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      more = 3, cp = lead & 0x07, min = 0x10000;
    } else {
      return false;
    }
    out->push_back(static_cast<char>(lead));
    for (int k = 0; k < more; ++k, i += 3) {
      const int next = EscapedByte(in, i);
      if (next < 0 || (next & 0xC0) != 0x80) return false;
      cp = (cp << 6) | static_cast<uint32_t>(next & 0x3F);
      out->push_back(static_cast<char>(next));
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  }
  return true;
}

// req.matches as std::regex would make them for one group at [begin, end) of req.path (matches[0]
// and matches[1] the group's text, as with the whole pattern): a copy of the match_results of
// an empty pattern with one group (made once, by std::regex: there is no other way to make one)
// has two sub-matches, whose ends are set to the group's, and an empty prefix and suffix, set to
// the group's start as a match on an empty range there would. (A sub_match is a std::pair of
// iterators with a `matched` flag, all public; the match_results itself is not const.)
void SetGroup(httplib::Request& req, size_t begin_at, size_t end_at) {
  static const std::smatch kTwoGroups = [] {
    static const std::string empty;
    std::smatch m;
    std::regex_match(empty, m, std::regex("()"));
    return m;
  }();
  const auto begin = req.path.cbegin() + static_cast<std::ptrdiff_t>(begin_at);
  const auto end = req.path.cbegin() + static_cast<std::ptrdiff_t>(end_at);
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
  Route r{method,       pattern,           prefix, suffix, std::regex(pattern), {},
          std::move(h), std::move(on_loop)};
  if (r.pattern.mark_count() > 1) {
    throw std::invalid_argument("a route's pattern has more than one group: " + pattern);
  }
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
  if (r.shape == Route::Shape::kRegex) r.folded = std::regex(pattern, std::regex::icase);
  routes_.push_back(std::move(r));
}

Router::Router() {
  bad_param_.source = "(a group that does not decode)";
  bad_param_.on_loop = Always;
  bad_param_.handler = [](const httplib::Request& req, httplib::Response& res) {
    ReplyJson(res, 400, MessageJson("Failed to decode param '" + req.matches[1].str() + "'"));
  };
}

// The text between a kGroup route's prefix and suffix is the group when it is not empty and
// holds no character the group excludes.
bool Router::MatchGroup(const Route& r, httplib::Request& req) {
  const std::string& path = req.path;
  const size_t begin = r.prefix.size(), end = path.size() - r.suffix.size();
  if (begin == end) return false;
  if (r.segment && path.find('/', begin) < end) return false;  // (a channel may hold any)
  SetGroup(req, begin, end);
  return true;
}

bool Router::Matches(const Route& r, httplib::Request& req, bool folded) {
  const std::string& path = req.path;
  if (path.size() < r.prefix.size() + r.suffix.size()) return false;
  if (folded ? !EqualsNoCase(std::string_view(path).substr(0, r.prefix.size()), r.prefix) ||
                   !EqualsNoCase(std::string_view(path).substr(path.size() - r.suffix.size()),
                                 r.suffix)
             : path.compare(0, r.prefix.size(), r.prefix) != 0 ||
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
  return std::regex_match(path, req.matches, folded ? r.folded : r.pattern);
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
  // (branch-free, so that it runs 16 or 32 characters at a time)
  uint8_t folded = 0, escaped = 0;
  for (const char c : path) {
    folded |= static_cast<uint8_t>(static_cast<uint8_t>(c - 'A') < 26);
    escaped |= static_cast<uint8_t>(c == '%');
  }
  if (folded | escaped) return MatchSlow(req, method, folded != 0, escaped != 0);
  for (const Route& r : routes_) {
    if (r.method == method && Matches(r, req, false)) return &r;
  }
  return nullptr;
}

// As Express: each route's pattern is matched against the path as sent, whatever its method, and
// its group decoded; one that does not decode ends the search (Express then tries no other
// route); the first route of the method whose group decodes is the match.
const Router::Route* Router::MatchSlow(httplib::Request& req, std::string_view method, bool folded,
                                       bool escaped) const {
  std::string& path = req.path;
  std::string decoded;
  for (const Route& r : routes_) {
    const bool ours = r.method == method;
    if ((!ours && !escaped) || !Matches(r, req, folded)) continue;
    const bool grouped =
        r.shape != Route::Shape::kLiteral && req.matches.size() > 1 && req.matches[1].matched;
    size_t begin = path.size(), end = path.size();
    const Route* matched = &r;
    if (grouped) {
      begin = static_cast<size_t>(req.matches[1].first - path.cbegin());
      end = static_cast<size_t>(req.matches[1].second - path.cbegin());
      std::string_view group = std::string_view(path).substr(begin, end - begin);
      if (group.find('%') != std::string_view::npos) {
        if (!DecodeUriComponent(group, &decoded)) {
          // (a pattern without a literal start, the dashboard's "(/.*)", is no route of the
          // original's: a path no route of its matched is 404 there)
          if (r.prefix.empty()) continue;
          matched = &bad_param_;  // (its group left as sent, for its message)
        } else if (ours) {
          path.replace(begin, end - begin, decoded);
          end = begin + decoded.size();
        }
      }
    }
    if (!ours && matched != &bad_param_) continue;
    // The literal parts as the route spells them (lowercase), so that the path's labels in
    // /metrics and in the log are the route's whatever the case it was sent in.
    if (folded) {
      for (size_t i = 0; i < path.size(); ++i) {
        if (i < begin || i >= end) path[i] = FoldCase(path[i]);
      }
    }
    if (grouped) SetGroup(req, begin, end);
    return matched;
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

}  // namespace crew::api
