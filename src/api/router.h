// Router: the route table of the API, shared by both front ends (http_server.h): the event loop
// (loop_server.h) matches requests against it itself, and the TLS front end installs it into
// cpp-httplib. Routes are tried in the order they were added; a pattern must match the whole
// path (std::regex_match), its groups land in Request::matches, as with httplib (a pattern of
// one group between literals: matches[1] only).
#pragma once

#include <functional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

namespace crew::api {

class Router {
 public:
  using Handler = httplib::Server::Handler;
  // Whether a request may run on an event loop thread, which serves many connections and so
  // must never wait (for another request, a client, or a download). Unset: never; the request
  // runs on a pool thread, which may wait. Runs before the handler, on the parsed request.
  using OnLoop = std::function<bool(const httplib::Request&)>;
  static bool Always(const httplib::Request&) { return true; }
  // Whether a route's handler reads the request body. The router checks the body of one that
  // does not before it runs (ParseUnusedBody: a malformed JSON body is 400, as the original's
  // router-level body parser answered, reference §1, SPEC §4); one that does checks it itself.
  enum class Body { kUnread, kRead };

  struct Route {
    std::string method;
    std::string source;  // the pattern's text
    // Its literal start and end: a path without them is not tried against the regex (which is
    // what a request costs most to route).
    std::string prefix, suffix;
    std::regex pattern;
    Handler handler;  // (kUnread: with the body check before it)
    OnLoop on_loop;
    // How the path is matched: all literal (kLiteral: the path is the prefix); the prefix, one
    // group and the suffix (kGroup: the part between them is checked by hand, as std::regex
    // costs ~0.6 µs for a 24-character id); else the whole pattern.
    enum class Shape { kLiteral, kGroup, kRegex };
    Shape shape = Shape::kRegex;
    // kGroup: "([^/]+)" (one path segment), else "(.+)" (no CR or LF, as ECMAScript's '.').
    bool segment = false;
    // Its /metrics route label (HttpMetrics), set by Label() before serving; -1: the label is
    // found from each request's path.
    int label = -1;
  };

  void Get(const std::string& pattern, Handler h, OnLoop on_loop = nullptr,
           Body body = Body::kUnread);
  void Post(const std::string& pattern, Handler h, OnLoop on_loop = nullptr,
            Body body = Body::kUnread);
  void Put(const std::string& pattern, Handler h, OnLoop on_loop = nullptr,
           Body body = Body::kUnread);
  void Patch(const std::string& pattern, Handler h, OnLoop on_loop = nullptr,
             Body body = Body::kUnread);
  void Delete(const std::string& pattern, Handler h, OnLoop on_loop = nullptr,
              Body body = Body::kUnread);

  // The first route of req.method (HEAD: GET's) matching req.path, with req.matches filled;
  // nullptr when none does.
  const Route* Match(httplib::Request& req) const;
  // Gives each route of a known shape the label `label_of` answers for its path template: its
  // literal path, or its group written "{id}" (one segment) or "{channel}" (one or more).
  void Label(const std::function<int(std::string_view path_template)>& label_of);
  void InstallInto(httplib::Server& server) const;

 private:
  void Add(const char* method, const std::string& pattern, Handler h, OnLoop on_loop, Body body);
  static bool Matches(const Route& r, httplib::Request& req);
  static bool MatchGroup(const Route& r, httplib::Request& req);
  std::vector<Route> routes_;
};

}  // namespace crew::api
