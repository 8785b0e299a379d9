#include "api/json_out.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "util/iso_time.h"

namespace crew::api {

namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Stored JSON text (validated on the way in) -> a value.
Json Raw(const std::string& text) { return Json::parse(text, nullptr, false); }

Json OptString(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

Json OptDate(const std::optional<int64_t>& ms) { return ms ? Json(FormatIso(*ms)) : Json(nullptr); }

// "number" fields print as integers when they hold one (1, not 1.0).
Json Number(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    return Json(static_cast<int64_t>(v));
  }
  return Json(v);
}

Json TaskValue(const engine::Task& t) {
  Json j;
  j["_id"] = t.id.Hex();
  j["taskGroupId"] = t.group_id.Hex();
  j["name"] = t.name;
  j["channel"] = t.channel;
  j["workgroup"] = OptString(t.workgroup);
  j["key"] = OptString(t.key);
  j["remainingAttempts"] = t.remaining_attempts;
  j["isPaused"] = t.is_paused;
  j["parentsComplete"] = t.parents_complete;
  j["isComplete"] = t.is_complete;
  j["priority"] = t.priority;
  j["runAfter"] = OptDate(t.shown_run_after);
  j["progressWeight"] = Number(t.progress_weight);
  j["isSeed"] = t.is_seed;
  j["errorDelayInSeconds"] = Number(t.error_delay_s);
  j["input"] = Raw(t.input);
  Json errors = Json::array();
  for (const auto& e : t.errors) errors.push_back(Raw(e));
  j["errors"] = std::move(errors);
  j["output"] = Raw(t.output);
  j["createdAt"] = FormatIso(t.created_at);
  Json parents = Json::array();
  for (const auto& p : t.parent_ids) parents.push_back(p.Hex());
  j["parentIds"] = std::move(parents);
  j["assignedTo"] = OptString(t.assigned_to);
  j["assignedAt"] = OptDate(t.assigned_at);
  j["executeMessageId"] = OptString(t.execute_message_id);
  j["examineMessageId"] = OptString(t.examine_message_id);
  return j;
}

Json GroupValue(const engine::Group& g) {
  Json j;
  j["_id"] = g.id.Hex();
  j["name"] = g.name;
  j["isPaused"] = g.is_paused;
  j["createdAt"] = FormatIso(g.created_at);
  return j;
}

Json OperatorValue(const engine::Operator& o) {
  Json j;
  j["_id"] = o.id.Hex();
  j["channel"] = o.channel;
  j["url"] = o.url;
  j["requestConfig"] = Raw(o.request_config);
  j["isPaused"] = o.is_paused ? Json(*o.is_paused) : Json(nullptr);
  j["createdAt"] = FormatIso(o.created_at);
  return j;
}

Json AcquiredValue(const engine::Acquired& a) {
  Json j;
  j["task"] = TaskValue(a.task);
  Json parents = Json::array();
  for (const auto& p : a.parents) {
    Json pj;
    pj["_id"] = p.id.Hex();
    pj["channel"] = p.channel;
    pj["input"] = Raw(p.input);
    pj["output"] = Raw(p.output);
    parents.push_back(std::move(pj));
  }
  j["parents"] = std::move(parents);
  return j;
}

}  // namespace

std::string TaskJson(const engine::Task& t) { return Dump(TaskValue(t)); }
std::string GroupJson(const engine::Group& g) { return Dump(GroupValue(g)); }
std::string OperatorJson(const engine::Operator& o) { return Dump(OperatorValue(o)); }

std::string ChannelsJson(const std::vector<engine::ChannelStats>& channels) {
  Json arr = Json::array();
  for (const auto& c : channels) {
    Json j;
    j["name"] = c.name;
    j["totalCount"] = c.total;
    j["completedCount"] = c.complete;
    j["assignedCount"] = c.assigned;
    arr.push_back(std::move(j));
  }
  return Dump(arr);
}

std::string AcquiredJson(const engine::Acquired* a) {
  if (!a) return "{\"task\":null}";
  return Dump(AcquiredValue(*a));
}

std::string AcquiredListJson(const std::vector<engine::Acquired>& list) {
  Json tasks = Json::array();
  for (const auto& a : list) tasks.push_back(AcquiredValue(a));
  Json j;
  j["tasks"] = std::move(tasks);
  return Dump(j);
}

std::string EventPayloadJson(const engine::Event& e) {
  struct Visitor {
    std::string operator()(const std::monostate&) const { return "null"; }
    std::string operator()(const engine::Task& t) const { return TaskJson(t); }
    std::string operator()(const engine::Group& g) const { return GroupJson(g); }
    std::string operator()(const engine::Operator& o) const { return OperatorJson(o); }
    std::string operator()(const std::string& raw) const { return raw; }
  };
  return std::visit(Visitor{}, e.payload);
}

std::string MessageJson(const std::string& message) {
  Json j;
  j["message"] = message;
  return Dump(j);
}

}  // namespace crew::api
