// Router: first match in order, whole-path regex, HEAD served by GET routes, literal prefixes
// and suffixes.
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

}  // namespace
}  // namespace crew::api
