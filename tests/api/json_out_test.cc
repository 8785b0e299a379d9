// The task documents the API writes by hand (json_out.cc): every field, and texts that need
// escaping, read back by a JSON parser.
#include "api/json_out.h"

#include <gtest/gtest.h>

#include <limits>

#include <nlohmann/json.hpp>

#include "util/iso_time.h"

namespace crew::api {
namespace {

using nlohmann::json;

Id MakeId(uint8_t last) {
  Id id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(0xa0 + i);
  id.bytes.back() = last;
  return id;
}

// Every character JSON requires escaped, and UTF-8 beyond ASCII, which it does not.
const std::string kAwkward = std::string("q\"b\\n\nr\rt\tb\bf\f\x01\x1f ok \xc3\xa9\xe2\x82\xac") +
                             std::string(1, '\0') + "end";

engine::Task FullTask() {
  engine::Task t;
  t.id = MakeId(1);
  t.group_id = MakeId(2);
  t.name = kAwkward;
  t.channel = "chan/" + kAwkward;
  t.workgroup = "wg";
  t.key = kAwkward;
  t.remaining_attempts = -3;
  t.parents_complete = false;
  t.is_complete = true;
  t.priority = -9007199254740993LL;
  t.shown_run_after = 1668464146123;
  t.progress_weight = 0.25;
  t.is_seed = true;
  t.error_delay_s = 30;
  t.input = R"({"a":[1,2,{"b":null}]})";
  t.errors = {R"("boom")", R"({"message":"x"})"};
  t.output = "[true]";
  t.created_at = -1;
  t.parent_ids = {MakeId(3), MakeId(4)};
  t.assigned_to = kAwkward;
  t.assigned_at = 253402300800000;  // past the fast path of the date format
  t.execute_message_id = std::nullopt;
  t.examine_message_id = "m";
  return t;
}

TEST(TaskJson, WritesEveryFieldSoThatAParserReadsItBack) {
  const engine::Task t = FullTask();
  const json j = json::parse(TaskJson(t));
  EXPECT_EQ(j["_id"], t.id.Hex());
  EXPECT_EQ(j["taskGroupId"], t.group_id.Hex());
  EXPECT_EQ(j["name"], kAwkward);
  EXPECT_EQ(j["channel"], "chan/" + kAwkward);
  EXPECT_EQ(j["workgroup"], "wg");
  EXPECT_EQ(j["key"], kAwkward);
  EXPECT_EQ(j["remainingAttempts"], -3);
  EXPECT_EQ(j["isPaused"], false);
  EXPECT_EQ(j["parentsComplete"], false);
  EXPECT_EQ(j["isComplete"], true);
  EXPECT_EQ(j["priority"], -9007199254740993LL);
  EXPECT_EQ(j["runAfter"], "2022-11-14T22:15:46.123Z");
  EXPECT_EQ(j["progressWeight"], 0.25);
  EXPECT_EQ(j["isSeed"], true);
  EXPECT_EQ(j["errorDelayInSeconds"].dump(), "30");  // an integer, not 30.0
  EXPECT_EQ(j["input"], json::parse(t.input));
  EXPECT_EQ(j["errors"], json::parse(R"(["boom",{"message":"x"}])"));
  EXPECT_EQ(j["output"], json::parse("[true]"));
  EXPECT_EQ(j["createdAt"], "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(j["parentIds"], json::array({MakeId(3).Hex(), MakeId(4).Hex()}));
  EXPECT_EQ(j["assignedTo"], kAwkward);
  EXPECT_EQ(j["assignedAt"], FormatIso(253402300800000));
  EXPECT_TRUE(j["executeMessageId"].is_null());
  EXPECT_EQ(j["examineMessageId"], "m");
  EXPECT_EQ(j.size(), 24u);
}

TEST(TaskJson, WritesNullForWhatIsUnset) {
  engine::Task t;
  const json j = json::parse(TaskJson(t));
  for (const char* field : {"workgroup", "key", "runAfter", "assignedTo", "assignedAt",
                            "executeMessageId", "examineMessageId", "input", "output"}) {
    EXPECT_TRUE(j[field].is_null()) << field;
  }
  EXPECT_EQ(j["errors"], json::array());
  EXPECT_EQ(j["parentIds"], json::array());
  t.error_delay_s = std::numeric_limits<double>::quiet_NaN();  // a body's null (json_in)
  EXPECT_TRUE(json::parse(TaskJson(t))["errorDelayInSeconds"].is_null());
}

TEST(AcquiredJson, HoldsTheTaskAndItsParents) {
  engine::Acquired a;
  a.task = FullTask();
  a.parents.push_back({MakeId(3), kAwkward, R"({"in":1})", "null"});
  a.parents.push_back({MakeId(4), "c", "[]", R"("out")"});
  const json j = json::parse(AcquiredJson(&a));
  EXPECT_EQ(j["task"], json::parse(TaskJson(a.task)));
  ASSERT_EQ(j["parents"].size(), 2u);
  EXPECT_EQ(j["parents"][0],
            json::parse(R"({"_id":")" + MakeId(3).Hex() + R"(","channel":)" +
                        json(kAwkward).dump() + R"(,"input":{"in":1},"output":null})"));
  EXPECT_EQ(j["parents"][1]["output"], "out");
  EXPECT_EQ(json::parse(AcquiredJson(nullptr)), json::parse(R"({"task":null})"));

  const json list = json::parse(AcquiredListJson({a, a}));
  ASSERT_EQ(list["tasks"].size(), 2u);
  EXPECT_EQ(list["tasks"][1], j);
  EXPECT_EQ(json::parse(AcquiredListJson({})), json::parse(R"({"tasks":[]})"));
}

TEST(TaskJson, ItsRoomHoldsTheLongestDocuments) {
  // Every text escaped to six characters, the longest numbers and dates, every field set.
  const std::string worst(50, '\x01');
  engine::Task t = FullTask();
  t.name = t.channel = worst;
  t.workgroup = t.key = t.assigned_to = t.execute_message_id = t.examine_message_id = worst;
  t.remaining_attempts = t.priority = std::numeric_limits<int64_t>::min();
  t.progress_weight = -2.2250738585072014e-308;
  t.error_delay_s = -1.7976931348623157e308;
  t.shown_run_after = t.assigned_at = std::numeric_limits<int64_t>::min();
  t.created_at = std::numeric_limits<int64_t>::max();
  t.is_paused = t.parents_complete = t.is_complete = t.is_seed = false;
  const std::string text = TaskJson(t);
  EXPECT_LE(text.size(), TaskJsonRoom(t));
  EXPECT_GT(text.size(), TaskJsonRoom(t) * 3 / 4);  // (and not far beyond them)
  const json j = json::parse(text);
  EXPECT_EQ(j["name"], worst);
  EXPECT_EQ(j["progressWeight"], -2.2250738585072014e-308);
  EXPECT_EQ(j["createdAt"], FormatIso(std::numeric_limits<int64_t>::max()));

  engine::Acquired a;
  a.task = t;
  a.parents.push_back({MakeId(3), worst, "1", "2"});
  EXPECT_LE(AcquiredJson(&a).size(), AcquiredJsonRoom(a));
  EXPECT_EQ(json::parse(AcquiredJson(&a))["parents"][0]["channel"], worst);
}

}  // namespace
}  // namespace crew::api
