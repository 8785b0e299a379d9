// Router: the route table of the API (http_server.h), which the event loops (loop_server.h) match
// requests against. Routes are tried in the order they were added; a pattern must match the whole
// path (std::regex_match), its group lands in Request::matches, as with httplib (a pattern has
// at most one group; one between literals: matches[1] only).
//
// As Express 4 (the original's router): a pattern is matched against the path as sent, still
// %-encoded, its literal parts without regard to ASCII case (its group keeps the path's case);
// then the group's text is decoded as decodeURIComponent does. So "/api/v1/task/<id>%2Fretry"
// is GET /api/v1/task/:id of "<id>/retry", and "/api/v1/t%61sk/<id>" no route. A group that
// does not decode (a bad escape, or bytes that are not UTF-8) is a 400, on a route of any
// method whose pattern matches the path, unless one earlier matched it whole (as Express); but
// a pattern without a literal start (the dashboard's "(/.*)") then does not match.
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
  // The status a handler run on an event loop sets when it finds, having changed nothing, that it
  // must wait after all (a long poll with no task there yet): the request then runs again on a
  // pool thread (MayWait, client_socket.h).
  static constexpr int kRunOnPool = 1;
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
    std::regex folded;  // kRegex: the pattern without regard to case
    Handler handler;    // (kUnread: with the body check before it)
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

  Router();

  // The first route of req.method (HEAD: GET's) matching req.path (as sent: %-encoded), with
  // req.matches filled; nullptr when none does. A matched group that holds an escape is decoded:
  // req.path becomes the path with it decoded, into which req.matches point; its literal parts
  // take the route's case. A group that does not decode: a route (with no label) that answers
  // 400 {"message"}, the group left as sent in req.path.
  const Route* Match(httplib::Request& req) const;
  // Gives each route of a known shape the label `label_of` answers for its path template: its
  // literal path, or its group written "{id}" (one segment) or "{channel}" (one or more).
  void Label(const std::function<int(std::string_view path_template)>& label_of);

 private:
  void Add(const char* method, const std::string& pattern, Handler h, OnLoop on_loop, Body body);
  // `folded`: the path holds an ASCII capital, so literals are compared without case.
  static bool Matches(const Route& r, httplib::Request& req, bool folded);
  static bool MatchGroup(const Route& r, httplib::Request& req);
  // The path holds an escape or a capital (`escaped`, `folded`): its match, the group decoded.
  const Route* MatchSlow(httplib::Request& req, std::string_view method, bool folded,
                         bool escaped) const;
  std::vector<Route> routes_;
  Route bad_param_;  // a group that does not decode: 400
};

}  // namespace crew::api
