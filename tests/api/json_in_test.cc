// api/json_in: the JSON values a release carries (output, error) are kept as minified text.
#include "api/json_in.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

namespace crew::api {
namespace {

engine::ReleaseCommand Release(const std::string& body) {
  auto r = ParseRelease(body);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : engine::ReleaseCommand();
}

// The input of the one task a create's body makes.
std::string Input(const std::string& body) {
  bool is_array = false;
  auto r = ParseNewTasks(body, &is_array);
  EXPECT_TRUE(r.ok() && r->size() == 1) << body;
  return r.ok() && r->size() == 1 ? r->front().input : "";
}

TEST(JsonIn, AReleasesOutputAndErrorAreKeptMinified) {
  auto r = Release(R"({ "workerId": "w", "output": { "a" : [1, 2.5, "x\"y", null, true] } })");
  EXPECT_EQ(r.worker_id, "w");
  EXPECT_EQ(r.output, R"({"a":[1,2.5,"x\"y",null,true]})");
  EXPECT_FALSE(r.error);
  r = Release(R"({"workerId": "w", "error": {"code": 429}})");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(*r.error, R"({"code":429})");
  EXPECT_EQ(r.output, "null");
}

// Reference §4.3.1: on the error path children and childrenDelayInSeconds are ignored, even
// malformed; on the success path they are checked.
TEST(JsonIn, AnErrorReleaseIgnoresItsChildren) {
  auto r =
      Release(R"({"workerId":"w","error":"e","children":[{"bad":1}],"childrenDelayInSeconds":"x",
                       "workgroupDelayInSeconds":3})");
  ASSERT_TRUE(r.error);
  EXPECT_TRUE(r.children.empty());
  EXPECT_EQ(r.workgroup_delay_s, 3);
  EXPECT_EQ(ParseRelease(R"({"workerId":"w","children":[{"bad":1}]})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(
      ParseRelease(R"({"workerId":"w","error":"e","workgroupDelayInSeconds":"x"})").status().code(),
      Code::kInvalidArgument);
}

// Reference §2.4: a child's parentIds are the release's to set; whatever the child says of
// them, even malformed, is ignored.
TEST(JsonIn, AChildsOwnParentIdsAreIgnored) {
  auto r = Release(
      R"({"workerId":"w","children":[{"name":"x","channel":"c","parentIds":["nope"]},
                                     {"name":"y","channel":"c","parentIds":"x"}]})");
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_TRUE(r.children[0].task.parent_ids.empty());
  EXPECT_TRUE(r.children[1].task.parent_ids.empty());
}

// JSON.parse takes a lone surrogate (JSON.stringify writes one for a string cut inside an
// emoji) and an integer past 64 bits; the original stored them as U+FFFD and as a double.
TEST(JsonIn, WhatJavaScriptWritesIsTaken) {
  auto r = Release(R"({"workerId":"w","output":{"s":"ab\ud83d","n":100000000000000000000}})");
  EXPECT_EQ(r.output, R"({"s":"ab�","n":1e+20})");
  EXPECT_EQ(ParseRelease(R"({"workerId":"w","output":"\x"})").status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(ParseRelease(R"({"workerId":"w","output":01})").status().code(),
            Code::kInvalidArgument);
}

// SPEC D1: a name, channel or URL an edit would unset is the wrong type, not "unchanged".
TEST(JsonIn, AnEditCannotUnsetWhatMustStaySet) {
  for (const char* body : {R"({"name":null})", R"({"channel":null})"}) {
    EXPECT_EQ(ParseTaskPatch(body).status().code(), Code::kInvalidArgument) << body;
  }
  EXPECT_EQ(ParseGroupUpdate(R"({"name":null})").status().code(), Code::kInvalidArgument);
  for (const char* body : {R"({"channel":null})", R"({"url":null})"}) {
    EXPECT_EQ(ParseOperator(body, /*create=*/false).status().code(), Code::kInvalidArgument)
        << body;
  }
  EXPECT_TRUE(ParseTaskPatch(R"({"key":null,"workgroup":null,"input":null,"priority":null})").ok());
}

// SPEC §4: a JSON body is an object (or nothing), even where the route reads none of it; a body
// of another type is left unread, as the original's body parser left it (reference §1).
TEST(JsonIn, AnUnusedBodyIsStillAnObject) {
  constexpr const char* kJson = "application/json";
  for (const char* body : {"", " ", "{}", R"({"any":1})"}) {
    EXPECT_TRUE(ParseUnusedBody(body, kJson).ok()) << body;
  }
  for (const char* body : {"{bad", "[1]", "5", "null"}) {
    EXPECT_EQ(ParseUnusedBody(body, kJson).code(), Code::kInvalidArgument) << body;
  }
  for (const char* type : {"Application/JSON; charset=utf-8", " application/json ;x=y"}) {
    EXPECT_EQ(ParseUnusedBody("{oops", type).code(), Code::kInvalidArgument) << type;
  }
  for (const char* type : {"", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                           "application/jsonx", "application/octet-stream"}) {
    EXPECT_TRUE(ParseUnusedBody("{oops", type).ok()) << type;
  }
}

// A runAfter in the past, even before 1970, is "now" (D7 takes any ISO-8601 date).
TEST(JsonIn, ARunAfterBefore1970IsTaken) {
  auto p = ParseTaskPatch(R"({"runAfter":"1969-12-31T23:59:59.000Z"})");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(**p->run_after, -1000);
  EXPECT_EQ(**ParseTaskPatch(R"({"runAfter":-5})")->run_after, -5);
  EXPECT_FALSE(ParseTaskPatch(R"({"runAfter":-62167219200001})").ok());
  // A valid ISO-8601 date past the years kept is refused as such, not as no date at all.
  for (const char* body : {R"({"runAfter":"+010000-01-01T00:00:00Z"})",
                           R"({"runAfter":"9999-12-31T23:59:59.999-00:01"})"}) {
    EXPECT_EQ(ParseTaskPatch(body).status().message(), "runAfter must be from year 0000 to 9999");
  }
}

// Reference §4.3.2: siblings are matched with JavaScript's ===, so a number is one id whatever
// its spelling, and a string is never a number.
TEST(JsonIn, ChildIdsAreMatchedAsJavaScriptValues) {
  auto r = Release(
      R"({"workerId":"w","children":[{"name":"a","channel":"c","_child_id":1},
                                     {"name":"b","channel":"c","_child_id":"1"},
                                     {"name":"c","channel":"c","_child_id":-0.0,
                                      "_parent_ids":[1.0,1e0,"1",0.5]}]})");
  ASSERT_EQ(r.children.size(), 3u);
  EXPECT_EQ(r.children[0].child_id, "1");
  EXPECT_EQ(r.children[1].child_id, "\"1\"");
  EXPECT_EQ(r.children[2].child_id, "0");
  ASSERT_TRUE(r.children[2].parent_refs);
  EXPECT_EQ(*r.children[2].parent_refs, (std::vector<std::string>{"1", "1", "\"1\"", "0.5"}));
}

// Reference §2.2: errorDelayInSeconds is the body's value when the key is there, else 30; null
// is kept (NaN, shown as null) and means no delay (§4.3.1 delays only when it is non-zero).
TEST(JsonIn, AnErrorDelayOfNullIsNoDelay) {
  bool is_array = false;
  auto delay = [&](const std::string& extra) {
    auto r = ParseNewTasks(R"({"name":"n","channel":"c")" + extra + "}", &is_array);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->at(0).error_delay_s : -1;
  };
  EXPECT_EQ(delay(""), 30);
  EXPECT_TRUE(std::isnan(delay(R"(,"errorDelayInSeconds":null)")));
  EXPECT_EQ(delay(R"(,"errorDelayInSeconds":5)"), 5);
}

// `body.input || null` and a falsy output stored as null (reference §2.2, §4.3): false, 0, -0,
// "" and null; an empty object or array is kept.
TEST(JsonIn, AFalsyInputOrOutputIsNull) {
  for (const char* v : {"false", "0", "-0.0", "\"\"", "null"}) {
    EXPECT_EQ(Release(std::string(R"({"workerId":"w","output":)") + v + "}").output, "null") << v;
    EXPECT_EQ(Input(std::string(R"({"name":"n","channel":"c","input":)") + v + "}"), "null") << v;
    auto child = Release(std::string(R"({"workerId":"w","children":[{"name":"n","channel":"c",)") +
                         R"("input":)" + v + "}]}");
    ASSERT_EQ(child.children.size(), 1u);
    EXPECT_EQ(child.children[0].task.input, "null") << v;
  }
  EXPECT_EQ(Release(R"({"workerId":"w","output":{}})").output, "{}");
  EXPECT_EQ(Input(R"({"name":"n","channel":"c","input":[]})"), "[]");
  EXPECT_EQ(Input(R"({"name":"n","channel":"c","input":"x"})"), R"("x")");
}

// A child's place in the request counts the children with an `_id`, which are not made.
TEST(JsonIn, AChildKeepsItsPlaceInTheRequest) {
  auto r = Release(R"({"workerId":"w","children":[{"_id":"x"},{"name":"a","channel":"c"}]})");
  ASSERT_EQ(r.children.size(), 1u);
  EXPECT_EQ(r.children[0].index, 1u);
}

// Each text stands alone, whatever the thread's earlier texts were: longer or shorter, and
// one past the size from which the builder is not kept.
TEST(JsonIn, EachOutputIsItsOwnWhateverCameBefore) {
  const std::string big(100 << 10, 'b');
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(Release(R"({"workerId":"w","output":"short"})").output, R"("short")");
    EXPECT_EQ(Release(R"({"workerId":"w","output":")" + big + R"("})").output, '"' + big + '"');
    EXPECT_EQ(Release(R"({"workerId":"w","output":{"ok":true}})").output, R"({"ok":true})");
    EXPECT_EQ(Release(R"({"workerId":"w","output":7})").output, "7");
  }
}

TEST(JsonIn, ALargeBodysParserMemoryIsGivenBack) {
  // A pool thread kept the memory of the largest body it ever parsed (loop_server.h's
  // after_pool_job calls ReleaseLargeParser after each request).
  ASSERT_TRUE(ParseWorkerOnly(R"({"workerId":"w"})").ok());
  ReleaseLargeParser();
  const size_t small = ThreadParserCapacity();
  EXPECT_LE(small, size_t{64} << 10);
  std::string big = R"({"workerId":"w","pad":")" + std::string(1 << 20, 'x') + "\"}";
  ASSERT_TRUE(ParseWorkerOnly(big).ok());
  EXPECT_GE(ThreadParserCapacity(), size_t{1} << 20);
  ReleaseLargeParser();
  EXPECT_LE(ThreadParserCapacity(), size_t{64} << 10);
  ASSERT_TRUE(ParseWorkerOnly(R"({"workerId":"w"})").ok()) << "a parser made anew parses";
  const size_t kept = ThreadParserCapacity();
  EXPECT_GT(kept, 0u);
  ReleaseLargeParser();
  EXPECT_EQ(ThreadParserCapacity(), kept) << "a small body's is kept for the next";
}

}  // namespace
}  // namespace crew::api
