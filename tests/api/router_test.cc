// Router: first match in order, whole-path regex, HEAD served by GET routes, literal prefixes
// and suffixes; the path as sent, its literals without case, its group decoded (as Express 4).
#include "api/router.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

namespace crew::api {
namespace {

Router::Handler Named(std::string* hit, std::string name) {
  return [hit, name](const httplib::Request&, httplib::Response&) { *hit = name; };
}

std::string Route(const Router& r, const std::string& method, const std::string& path,
                  std::string* group = nullptr) {
  httplib::Request req;
  req.method = method;
  req.path = path;
  const Router::Route* route = r.Match(req);
  if (!route) return "none";
  if (group && req.matches.size() > 1) *group = req.matches[1].str();
  std::string hit;
  httplib::Response res;
  route->handler(req, res);
  return hit.empty() ? route->source : hit;
}

TEST(Router, FirstMatchingRouteOfTheMethodWins) {
  std::string hit;
  Router r;
  r.Post("/api/v1/channel/(.+)/acquire", Named(&hit, "acquire"));
  r.Get("/api/v1/task_groups", Named(&hit, "groups"));
  r.Get("/api/v1/task_groups/count", Named(&hit, "count"));
  r.Get("(/.*)", Named(&hit, "pages"));
  std::string group;
  EXPECT_EQ(Route(r, "POST", "/api/v1/channel/a/b/acquire", &group),
            "/api/v1/channel/(.+)/acquire");
  EXPECT_EQ(group, "a/b");
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups"), "/api/v1/task_groups");
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups/count"), "/api/v1/task_groups/count");
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups/x"), "(/.*)") << "the whole path must match";
  EXPECT_EQ(Route(r, "HEAD", "/api/v1/task_groups"), "/api/v1/task_groups");
  EXPECT_EQ(Route(r, "GET", "/api/v1/channel/a/acquire"), "(/.*)") << "a POST route";
  EXPECT_EQ(Route(r, "DELETE", "/api/v1/task_groups"), "none");
}

// As the original's router (Express, not strict): an API path with a trailing slash is served
// as the path without it.
// Express is not strict: "/healthz/" is "/healthz" (reference §1).
TEST(Router, APathWithATrailingSlashIsServedAsWithout) {
  std::string hit;
  Router r;
  r.Get("/api/v1/task_groups", Named(&hit, "groups"));
  r.Get("/api/v1/task_group/([^/]+)", Named(&hit, "group"));
  r.Get("/other", Named(&hit, "other"));
  std::string group;
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups/"), "/api/v1/task_groups");
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_group/abc/", &group), "/api/v1/task_group/([^/]+)");
  EXPECT_EQ(group, "abc");
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups//"), "none");
  EXPECT_EQ(Route(r, "POST", "/api/v1/task_groups/"), "none");
  EXPECT_EQ(Route(r, "GET", "/other/"), "/other");
  EXPECT_EQ(Route(r, "GET", "/"), "none");
  r.Get("(/.*)", Named(&hit, "pages"));  // (the dashboard's catch-all comes last)
  EXPECT_EQ(Route(r, "GET", "/api/v1/task_groups/"), "/api/v1/task_groups");
  EXPECT_EQ(Route(r, "GET", "/other/"), "/other");
  EXPECT_EQ(Route(r, "GET", "/"), "(/.*)");
}

TEST(Router, AnOptionalLastCharacterIsNotPartOfTheLiteralPrefix) {
  std::string hit;
  Router r;
  r.Get("/api-docs/?", Named(&hit, "docs"));
  r.Get("/socket.io/?", Named(&hit, "sio"));
  r.Get("/a{1,2}b", Named(&hit, "ab"));
  EXPECT_EQ(Route(r, "GET", "/api-docs"), "/api-docs/?");
  EXPECT_EQ(Route(r, "GET", "/api-docs/"), "/api-docs/?");
  EXPECT_EQ(Route(r, "GET", "/socket.io/"), "/socket.io/?");
  EXPECT_EQ(Route(r, "GET", "/aab"), "/a{1,2}b");
  EXPECT_EQ(Route(r, "GET", "/api-docsx"), "none");
}

TEST(Router, OnLoopIsKeptWithTheRoute) {
  Router r;
  r.Post(
      "/x", [](const httplib::Request&, httplib::Response&) {}, Router::Always);
  r.Post("/y", [](const httplib::Request&, httplib::Response&) {});
  for (const std::string path : {"/x", "/y"}) {
    httplib::Request req;
    req.method = "POST";
    req.path = path;
    const Router::Route* route = r.Match(req);
    ASSERT_NE(route, nullptr);
    EXPECT_EQ(route->on_loop && route->on_loop(req), path == "/x");
  }
}

// A DELETE or GET with a malformed JSON body was answered 200 and acted (only the routes that
// checked their unused body refused it): the router checks it for every route that reads none.
TEST(Router, AMalformedJsonBodyIsRefusedBeforeARouteThatDoesNotReadIt) {
  std::string hit;
  Router r;
  r.Delete("/unread", Named(&hit, "unread"));
  r.Post("/read", Named(&hit, "read"), nullptr, Router::Body::kRead);
  struct Case {
    std::string method, path, type, body;
    int status;  // 0: the handler ran
  };
  for (const Case& c : std::vector<Case>{{"DELETE", "/unread", "application/json", "{\"oops", 400},
                                         {"DELETE", "/unread", "application/json", "[1]", 400},
                                         {"DELETE", "/unread", "application/json", "{}", 0},
                                         {"DELETE", "/unread", "application/json", "", 0},
                                         {"DELETE", "/unread", "text/plain", "{\"oops", 0},
                                         {"POST", "/read", "application/json", "{\"oops", 0}}) {
    httplib::Request req;
    req.method = c.method;
    req.path = c.path;
    req.body = c.body;
    req.set_header("Content-Type", c.type);
    const Router::Route* route = r.Match(req);
    ASSERT_NE(route, nullptr);
    hit.clear();
    httplib::Response res;
    route->handler(req, res);
    EXPECT_EQ(hit.empty() ? res.status : 0, c.status) << c.method << " " << c.body;
  }
}

TEST(Router, ALiteralEndMustMatchTooButNotAnEscapeOrAnAlternative) {
  std::string hit;
  Router r;
  const std::string release = "/api/v1/task/([^/]+)/release",
                    examine = "/api/v1/task/([^/]+)/(?:examine|execute)", digit = "/n/\\d",
                    either = "/x/a|/y/bc";
  r.Post("/api/v1/task/([^/]+)/reset", Named(&hit, "reset"));
  r.Post(release, Named(&hit, "release"));
  r.Post(examine, Named(&hit, "examine"));
  r.Get(digit, Named(&hit, "digit"));
  r.Get(either, Named(&hit, "either"));
  std::string id;
  EXPECT_EQ(Route(r, "POST", "/api/v1/task/42/release", &id), release);
  EXPECT_EQ(id, "42");
  EXPECT_EQ(Route(r, "POST", "/api/v1/task/42/reset"), "/api/v1/task/([^/]+)/reset");
  EXPECT_EQ(Route(r, "POST", "/api/v1/task/42/execute"), examine);
  EXPECT_EQ(Route(r, "POST", "/api/v1/task/42/releases"), "none");
  EXPECT_EQ(Route(r, "POST", "/api/v1/task/release"), "none");
  EXPECT_EQ(Route(r, "GET", "/n/7"), digit);
  EXPECT_EQ(Route(r, "GET", "/n/d"), "none");
  EXPECT_EQ(Route(r, "GET", "/x/a"), either);
  EXPECT_EQ(Route(r, "GET", "/y/bc"), either);
}

// A pattern of one group between literals is matched without running the whole regex; it must
// match exactly the paths the regex does, but that a "(.+)" group (a channel) takes line ends
// too, as Express's ([^/]+?) parameter on the undecoded path does: as ([\s\S]+).
TEST(Router, AGroupBetweenLiteralsMatchesAsTheWholeRegexWould) {
  std::string hit;
  Router r;
  const std::string task = "/api/v1/task/([^/]+)/release", channel = "/api/v1/channel/(.+)/acquire",
                    tail = "/t/([^/]+)";
  r.Post(task, Named(&hit, "task"));
  r.Post(channel, Named(&hit, "channel"));
  r.Post(tail, Named(&hit, "tail"));
  const std::vector<std::string> paths = {"/api/v1/task/42/release",
                                          "/api/v1/task//release",
                                          "/api/v1/task/a/b/release",
                                          "/api/v1/task/a\nb/release",
                                          "/api/v1/task/a\n/release",
                                          "/api/v1/channel/a/acquire",
                                          "/api/v1/channel//acquire",
                                          "/api/v1/channel/a/b/acquire",
                                          "/api/v1/channel/a\nb/acquire",
                                          "/api/v1/channel/a\rb/acquire",
                                          "/api/v1/channel/\xc3\xa9\t /acquire",
                                          "/api/v1/channel/acquire",
                                          "/api/v1/channel/x/acquire/acquire",
                                          "/t/x",
                                          "/t/",
                                          "/t/x/",
                                          "/t/x\r"};
  for (const std::string& path : paths) {
    std::string expected = "none", expected_group;
    for (const std::string& pattern : {task, channel, tail}) {
      std::smatch m;
      const std::string any = pattern == channel ? "/api/v1/channel/([\\s\\S]+)/acquire" : pattern;
      // (a last slash is no part of the path)
      const std::string bare = path.ends_with('/') ? path.substr(0, path.size() - 1) : path;
      if (std::regex_match(bare, m, std::regex(any))) {
        expected = pattern;
        expected_group = m[1].str();
        break;
      }
    }
    std::string group;
    EXPECT_EQ(Route(r, "POST", path, &group), expected) << path;
    EXPECT_EQ(group, expected_group) << path;
  }
}

// The routes of the original's shapes, for the tests of the path as sent below.
Router ExpressShapes(std::string* hit) {
  Router r;
  r.Post("/api/v1/channel/(.+)/acquire", Named(hit, "acquire"));
  r.Get("/api/v1/task_groups", Named(hit, "groups"));
  r.Get("/api/v1/task/([^/]+)", Named(hit, "task"));
  r.Post("/api/v1/task/([^/]+)/retry", Named(hit, "retry"));
  r.Post("/api/v1/task/([^/]+)/(?:examine|execute)", Named(hit, "examine"));
  r.Get("(/.*)", Named(hit, "pages"));
  return r;
}

// The name of the route that serves `path`; "none" when none does.
std::string Served(const Router& r, std::string* hit, const std::string& method,
                   const std::string& path, std::string* group = nullptr) {
  hit->clear();
  return Route(r, method, path, group) == "none" ? "none" : *hit;
}

// Express matches the path as sent and only then decodes the parameter: an escaped '/' is part
// of it, and an escaped literal is no route's.
TEST(Router, TheRawPathIsMatchedAndOnlyTheGroupDecoded) {
  std::string hit;
  Router r = ExpressShapes(&hit);
  httplib::Request req;
  req.method = "GET";
  req.path = "/api/v1/task/abc%2Fretry";
  ASSERT_NE(r.Match(req), nullptr);
  EXPECT_EQ(req.matches[1].str(), "abc/retry");
  EXPECT_EQ(req.path, "/api/v1/task/abc/retry") << "the path with its group decoded";
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/task/abc%2Fretry"), "none") << "no POST /task/:id";
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/task/abc/retry"), "retry");
  std::string group;
  EXPECT_EQ(Served(r, &hit, "GET", "/api/v1/t%61sk/abc", &group), "pages");
  EXPECT_EQ(group, "/api/v1/task/abc") << "the dashboard's files are looked up decoded";
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/t%61sk/abc/retry"), "none");
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/channel/a%2Fb%20%E2%82%AC/acquire", &group),
            "acquire");
  EXPECT_EQ(group, "a/b \xe2\x82\xac");
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/channel/a%2fb/c/acquire", &group), "acquire");
  EXPECT_EQ(group, "a/b/c");
  EXPECT_EQ(Served(r, &hit, "GET", "/api/v1/task/%F0%9F%98%80%00", &group), "task");
  EXPECT_EQ(group, std::string("\xf0\x9f\x98\x80\0", 5));
  EXPECT_EQ(Served(r, &hit, "GET", "/api/v1/task_groups%2F"), "pages") << "an escaped last slash";
}

// decodeURIComponent's URIError: Express answers 400 "Failed to decode param", on a route of any
// method whose pattern matches (it matches the path before the method); the dashboard's catch-all
// is no route of the original's, so a path only it matches is not found.
TEST(Router, AGroupThatDoesNotDecodeIsA400OnARouteOfAnyMethod) {
  std::string hit;
  Router r = ExpressShapes(&hit);
  for (const char* bad : {"%ZZ", "%", "a%2", "%E0%A4%A", "%C0%80", "%ED%A0%80", "%F4%90%80%80",
                          "%80", "%E2%82", "%E2%28%A1", "%F8%88%80%80%80"}) {
    for (const char* method : {"GET", "HEAD", "POST", "DELETE"}) {
      httplib::Request req;
      req.method = method;
      req.path = std::string("/api/v1/task/") + bad;
      const Router::Route* route = r.Match(req);
      ASSERT_NE(route, nullptr) << method << " " << bad;
      httplib::Response res;
      route->handler(req, res);
      EXPECT_EQ(res.status, 400) << method << " " << bad;
      EXPECT_EQ(res.body, std::string("{\"message\":\"Failed to decode param '") + bad + "'\"}");
      EXPECT_EQ(route->label, -1) << "labelled by its path";
    }
  }
  // A route that matched whole before it stands; one whose pattern does not match is no matter.
  EXPECT_EQ(Served(r, &hit, "POST", "/api/v1/task/ok/retry"), "retry");
  EXPECT_EQ(Served(r, &hit, "GET", "/api/v1/nothing/%ZZ"), "none");
  EXPECT_EQ(Served(r, &hit, "GET", "/%ZZ"), "none");
  httplib::Request req;
  req.method = "POST";
  req.path = "/API/V1/TASK/%ZZ/EXAMINE";
  ASSERT_NE(r.Match(req), nullptr);
  EXPECT_EQ(req.path, "/api/v1/task/%ZZ/examine") << "its literals as the route's, for /metrics";
}

// Express routes are not case-sensitive (path-to-regexp's sensitive: false): literals match
// whatever their case, a parameter keeps its own, and the path takes the route's literals.
TEST(Router, LiteralsMatchWithoutRegardToCase) {
  std::string hit;
  Router r = ExpressShapes(&hit);
  httplib::Request req;
  req.method = "GET";
  req.path = "/API/V1/Task_Groups/";
  ASSERT_NE(r.Match(req), nullptr);
  EXPECT_EQ(req.path, "/api/v1/task_groups");
  std::string group;
  req = httplib::Request();
  req.method = "POST";
  req.path = "/Api/V1/TASK/AbC%2fD/RETRY";
  const Router::Route* route = r.Match(req);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->source, "/api/v1/task/([^/]+)/retry");
  EXPECT_EQ(req.matches[1].str(), "AbC/D");
  EXPECT_EQ(req.path, "/api/v1/task/AbC/D/retry");
  EXPECT_EQ(Served(r, &hit, "POST", "/API/v1/task/Ab/ExEcUtE", &group), "examine");
  EXPECT_EQ(group, "Ab");
  EXPECT_EQ(Served(r, &hit, "POST", "/API/V1/CHANNEL/Chan%20X/ACQUIRE", &group), "acquire");
  EXPECT_EQ(group, "Chan X");
  EXPECT_EQ(Served(r, &hit, "GET", "/Assets/X.JS", &group), "pages");
  EXPECT_EQ(group, "/Assets/X.JS") << "a whole-path group keeps its case";
  EXPECT_EQ(Served(r, &hit, "PUT", "/API/V1/TASK_GROUPS"), "none");
}

}  // namespace
}  // namespace crew::api
