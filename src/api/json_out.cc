#include "api/json_out.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/iso_time.h"

namespace crew::api {

namespace {

using Json = nlohmann::ordered_json;

std::string Dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Stored JSON text (validated on the way in) -> a value.
Json Raw(const std::string& text) { return Json::parse(text, nullptr, false); }

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

// Tasks are the hot document (every acquire, release and event): written directly, splicing the
// stored JSON texts of input, output and errors instead of parsing them back into values.
// Profiling the W1 drain showed nlohmann's parse-and-dump of these at ~15% of server CPU.
class TaskWriter {
 public:
  explicit TaskWriter(std::string& out) : out_(out) {}
  void Task(const engine::Task& t) {
    Lit("{\"_id\":");
    Hex(t.id);
    Lit(",\"taskGroupId\":");
    Hex(t.group_id);
    Lit(",\"name\":");
    engine::AppendJsonQuoted(t.name, &out_);
    Lit(",\"channel\":");
    engine::AppendJsonQuoted(t.channel, &out_);
    Lit(",\"workgroup\":");
    OptString(t.workgroup);
    Lit(",\"key\":");
    OptString(t.key);
    Lit(",\"remainingAttempts\":");
    Integer(t.remaining_attempts);
    Lit(",\"isPaused\":");
    Bool(t.is_paused);
    Lit(",\"parentsComplete\":");
    Bool(t.parents_complete);
    Lit(",\"isComplete\":");
    Bool(t.is_complete);
    Lit(",\"priority\":");
    Integer(t.priority);
    Lit(",\"runAfter\":");
    OptDate(t.shown_run_after);
    Lit(",\"progressWeight\":");
    Number(t.progress_weight);
    Lit(",\"isSeed\":");
    Bool(t.is_seed);
    Lit(",\"errorDelayInSeconds\":");
    Number(t.error_delay_s);
    Lit(",\"input\":");
    out_ += t.input;
    Lit(",\"errors\":[");
    for (size_t i = 0; i < t.errors.size(); ++i) {
      if (i) out_.push_back(',');
      out_ += t.errors[i];
    }
    Lit("],\"output\":");
    out_ += t.output;
    Lit(",\"createdAt\":");
    Date(t.created_at);
    Lit(",\"parentIds\":[");
    for (size_t i = 0; i < t.parent_ids.size(); ++i) {
      if (i) out_.push_back(',');
      Hex(t.parent_ids[i]);
    }
    Lit("],\"assignedTo\":");
    OptString(t.assigned_to);
    Lit(",\"assignedAt\":");
    OptDate(t.assigned_at);
    Lit(",\"executeMessageId\":");
    OptString(t.execute_message_id);
    Lit(",\"examineMessageId\":");
    OptString(t.examine_message_id);
    out_.push_back('}');
  }
  void Parent(const engine::ParentData& p) {
    Lit("{\"_id\":");
    Hex(p.id);
    Lit(",\"channel\":");
    engine::AppendJsonQuoted(p.channel, &out_);
    Lit(",\"input\":");
    out_ += p.input;
    Lit(",\"output\":");
    out_ += p.output;
    out_.push_back('}');
  }
  void Acquired(const engine::Acquired& a) {
    Lit("{\"task\":");
    Task(a.task);
    Lit(",\"parents\":[");
    for (size_t i = 0; i < a.parents.size(); ++i) {
      if (i) out_.push_back(',');
      Parent(a.parents[i]);
    }
    Lit("]}");
  }

 private:
  // Keys are written as literals with their comma and colon: one append each, of a length
  // known where it is written (an append of a const char* measures it first).
  void Lit(std::string_view s) { out_.append(s.data(), s.size()); }
  void Hex(const Id& id) {
    out_.push_back('"');
    id.AppendHex(&out_);
    out_.push_back('"');
  }
  void Bool(bool b) { Lit(b ? std::string_view("true") : std::string_view("false")); }
  void Integer(int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out_.append(buf, r.ptr);
  }
  void OptString(const std::optional<std::string>& s) {
    if (s) {
      engine::AppendJsonQuoted(*s, &out_);
    } else {
      Lit("null");
    }
  }
  void Date(int64_t ms) {
    out_.push_back('"');
    AppendIso(ms, &out_);
    out_.push_back('"');
  }
  void OptDate(const std::optional<int64_t>& ms) {
    if (ms) {
      Date(*ms);
    } else {
      Lit("null");
    }
  }
  // "number" fields print as integers when they hold one (1, not 1.0), else shortest round trip.
  void Number(double v) {
    char buf[32];
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
      Integer(static_cast<int64_t>(v));
    } else if (std::isfinite(v)) {
      auto r = std::to_chars(buf, buf + sizeof buf, v);
      out_.append(buf, r.ptr);
    } else {
      Lit("null");
    }
  }
  std::string& out_;
};

// Room for a task's JSON: its fixed part (~480 bytes with every date and id set) and its texts.
size_t TaskJsonSize(const engine::Task& t) {
  size_t n = 480 + t.name.size() + t.channel.size() + t.input.size() + t.output.size() +
             26 * t.parent_ids.size();
  for (const std::string& e : t.errors) n += e.size() + 1;
  return n;
}

size_t AcquiredJsonSize(const engine::Acquired& a) {
  size_t n = 32 + TaskJsonSize(a.task);
  for (const engine::ParentData& p : a.parents) {
    n += 80 + p.channel.size() + p.input.size() + p.output.size();
  }
  return n;
}

}  // namespace

std::string TaskJson(const engine::Task& t) {
  std::string out;
  out.reserve(TaskJsonSize(t));
  TaskWriter(out).Task(t);
  return out;
}
std::string GroupJson(const engine::Group& g) { return Dump(GroupValue(g)); }

Json StatsValue(const engine::GroupStats& s) {
  Json j;
  j["total"] = s.total;
  j["complete"] = s.complete;
  j["running"] = s.assigned;
  j["failed"] = s.failed;
  j["waiting"] = std::max<int64_t>(0, s.total - s.complete - s.assigned - s.failed);
  return j;
}

std::string GroupStatsJson(const engine::GroupStats& s) { return Dump(StatsValue(s)); }

std::string GroupWithStatsJson(const engine::Group& g) {
  Json j = GroupValue(g);
  j["stats"] = StatsValue(g.stats);
  return Dump(j);
}

std::string LeaseJson(const engine::Task& t) {
  Json j = {{"assignedTo", nullptr}, {"assignedAt", nullptr}, {"leaseExpiresAt", nullptr}};
  if (t.assigned_to) j["assignedTo"] = *t.assigned_to;
  if (t.assigned_at) j["assignedAt"] = FormatIso(*t.assigned_at);
  if (t.assigned()) j["leaseExpiresAt"] = FormatIso(t.lease_expires_at);
  return Dump(j);
}
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
  std::string out;
  out.reserve(AcquiredJsonSize(*a));
  TaskWriter(out).Acquired(*a);
  return out;
}

std::string AcquiredListJson(const std::vector<engine::Acquired>& list) {
  size_t size = 16;
  for (const engine::Acquired& a : list) size += AcquiredJsonSize(a) + 1;
  std::string out;
  out.reserve(size);
  out += "{\"tasks\":[";
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out.push_back(',');
    TaskWriter(out).Acquired(list[i]);
  }
  out += "]}";
  return out;
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
