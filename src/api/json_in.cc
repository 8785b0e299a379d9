#include "api/json_in.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include <simdjson.h>

#include "util/http_url.h"
#include "util/iso_time.h"
#include "util/json_text.h"

namespace crew::api {

namespace dom = simdjson::dom;

namespace {

constexpr size_t kMaxNameLength = 1024;  // channel, key, workgroup, workerId: index keys
constexpr double kMaxDelaySeconds = 1e9;
constexpr int64_t kMinEpochMs = -62167219200000;  // 0000-01-01T00:00:00.000Z (a past date: now)
constexpr int64_t kMaxEpochMs = 253402300799999;  // 9999-12-31T23:59:59.999Z

// A parser's memory kept for the next body when it is no larger than this (ReleaseLargeParser):
// a body over 64 KB is parsed on a pool thread (loop_server.h), and each of many pool threads
// kept the memory of the largest body it ever parsed (~18 MB for a 4 MB batch: 1.4 GB of RSS
// after a burst of 800 long polls had grown the pool).
constexpr size_t kKeptParserCapacity = 64 << 10;

dom::parser& ThreadParser() {
  thread_local dom::parser parser;
  return parser;
}

// Parses a body; the element lives until the thread's next Parse (or ReleaseLargeParser).
Result<dom::element> Parse(std::string_view body) {
  dom::parser& parser = ThreadParser();
  static const std::string kEmpty = "{}";
  if (body.starts_with("\xEF\xBB\xBF")) body.remove_prefix(3);  // (a BOM: express.json() drops it)
  bool blank = body.find_first_not_of(" \t\r\n") == std::string_view::npos;
  std::string_view text = blank ? std::string_view(kEmpty) : body;
  dom::element root;
  auto error = parser.parse(text.data(), text.size(), true).get(root);
  if (error == simdjson::NUMBER_ERROR || error == simdjson::STRING_ERROR) {
    // What JSON.parse takes and simdjson does not: a lone surrogate, an integer past 64 bits.
    if (auto js = JavaScriptJson(text, /*fix_utf8=*/false)) {
      if (!parser.parse(js->data(), js->size(), true).get(root)) return root;
    }
  }
  if (error) {
    return Status::Invalid(std::string("malformed JSON body: ") + simdjson::error_message(error));
  }
  return root;
}

Result<dom::object> ParseObject(std::string_view body) {
  ASSIGN_OR_RETURN(dom::element root, Parse(body));
  if (!root.is_object()) return Status::Invalid("the body must be a JSON object");
  return dom::object(root);
}

// Whether a Content-Type names JSON: application/json, in any case, with any parameters (the
// type the original's body parser read; it left others unread).
bool IsJsonType(std::string_view content_type) {
  constexpr std::string_view kJson = "application/json";
  const size_t end = std::min(content_type.find(';'), content_type.size());
  std::string_view type = content_type.substr(0, end);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type.size() == kJson.size() &&
         std::equal(type.begin(), type.end(), kJson.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

// A field: nullopt when absent or null.
std::optional<dom::element> Field(const dom::object& o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e)) return std::nullopt;
  if (e.is_null()) return std::nullopt;
  return e;
}

bool Has(const dom::object& o, std::string_view key) {
  dom::element e;
  return !o.at_key(key).get(e);
}

// An edit's field that may change but not be unset (a name, a channel, a URL): nullopt when
// absent, 400 when null (SPEC D1: the wrong type), else the element.
Result<std::optional<dom::element>> SetField(const dom::object& o, std::string_view key) {
  dom::element e;
  if (o.at_key(key).get(e)) return std::optional<dom::element>();
  if (e.is_null()) return Status::Invalid(std::string(key) + " must be a string, not null");
  return std::optional<dom::element>(e);
}

// The element as minified JSON text: simdjson::minify, in this thread's builder. (minify's own
// grows from empty each call: ~5 allocations for {"ok":true}.) A builder that held a large
// text is let go, not kept at that size.
std::string Raw(const dom::element& e) {
  thread_local simdjson::internal::string_builder<> builder;
  builder.clear();
  builder.append(e);
  std::string text(builder.str());
  if (text.size() > (64 << 10)) builder = {};
  return text;
}

Status Bad(std::string_view field, std::string_view what) {
  return Status::Invalid(std::string(field) + " must be " + std::string(what));
}

Result<std::string> String(const dom::element& e, std::string_view field, size_t max_len = 0) {
  if (!e.is_string()) return Bad(field, "a string");
  std::string_view s = e.get_string().value_unsafe();
  if (max_len && s.size() > max_len) {
    return Status::Invalid(std::string(field) + " is longer than " + std::to_string(max_len) +
                           " bytes");
  }
  return std::string(s);
}

Result<int64_t> Integer(const dom::element& e, std::string_view field) {
  if (e.is_int64()) return e.get_int64().value_unsafe();
  if (e.is_uint64()) return Status::Invalid(std::string(field) + " is out of range");
  return Bad(field, "an integer");
}

Result<double> Number(const dom::element& e, std::string_view field) {
  if (e.is_int64()) return static_cast<double>(e.get_int64().value_unsafe());
  if (e.is_uint64()) return static_cast<double>(e.get_uint64().value_unsafe());
  if (e.is_double()) return e.get_double().value_unsafe();
  return Bad(field, "a number");
}

Result<bool> Bool(const dom::element& e, std::string_view field) {
  if (!e.is_bool()) return Bad(field, "a boolean");
  return e.get_bool().value_unsafe();
}

Result<double> Delay(const dom::object& o, std::string_view field) {
  auto e = Field(o, field);
  if (!e) return 0.0;
  ASSIGN_OR_RETURN(double v, Number(*e, field));
  if (!(v >= 0) || v > kMaxDelaySeconds) {
    return Status::Invalid(std::string(field) + " must be between 0 and 1e9 seconds");
  }
  return v;
}

// errorDelayInSeconds: kept as the body says, null too (NaN; reference §2.2), which is no delay.
Result<double> ErrorDelay(const dom::object& o) {
  dom::element e;
  if (!o.at_key("errorDelayInSeconds").get(e) && e.is_null()) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  return Delay(o, "errorDelayInSeconds");
}

// SPEC D7: ISO-8601 (no offset = UTC) or integer epoch milliseconds; null clears.
Result<std::optional<int64_t>> RunAfter(const dom::element& e) {
  if (e.is_null()) return std::optional<int64_t>();
  if (e.is_string()) {
    auto ms = ParseIso(e.get_string().value_unsafe());
    if (!ms) {
      return Status::Invalid("runAfter must be an ISO-8601 date (e.g. 2024-05-01T12:00:00.000Z)");
    }
    if (*ms < kMinEpochMs || *ms > kMaxEpochMs) {
      return Status::Invalid("runAfter must be from year 0000 to 9999");
    }
    return std::optional<int64_t>(*ms);
  }
  if (e.is_int64()) {
    int64_t ms = e.get_int64().value_unsafe();
    if (ms < kMinEpochMs || ms > kMaxEpochMs) {
      return Status::Invalid("runAfter must be from year 0000 to 9999");
    }
    return std::optional<int64_t>(ms);
  }
  return Bad("runAfter", "an ISO-8601 date string or integer epoch milliseconds");
}

Result<std::optional<std::string>> OptName(const dom::object& o, std::string_view field) {
  auto e = Field(o, field);
  if (!e) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string s, String(*e, field, kMaxNameLength));
  if (s.empty()) return std::optional<std::string>();  // reference: `|| null`
  return std::optional<std::string>(std::move(s));
}

Result<std::vector<Id>> IdList(const dom::element& e, std::string_view field) {
  if (!e.is_array()) return Bad(field, "an array of ids");
  std::vector<Id> out;
  for (dom::element item : dom::array(e)) {
    if (!item.is_string()) return Bad(field, "an array of ids");
    auto id = Id::FromHex(item.get_string().value_unsafe());
    if (!id) {
      return Status::Invalid(std::string(field) + " has a malformed id: " + Raw(item) +
                             " (ids are 24 hex characters)");
    }
    out.push_back(*id);
  }
  return out;
}

Result<std::string> RequiredString(const dom::object& o, std::string_view field, size_t max_len) {
  auto e = Field(o, field);
  if (!e) return Status::Invalid(std::string(field) + " is required");
  return String(*e, field, max_len);
}

Result<std::string> WorkerId(const dom::object& o) {
  ASSIGN_OR_RETURN(std::string w, RequiredString(o, "workerId", kMaxNameLength));
  if (w.empty()) return Status::Invalid("workerId is required");
  return w;
}

// JavaScript truthiness, as the reference decides the error path and
// stores a falsy input or output as null (reference §2.2, §4.3).
bool Truthy(const dom::element& e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return false;
    case dom::element_type::BOOL:
      return e.get_bool().value_unsafe();
    case dom::element_type::STRING:
      return !e.get_string().value_unsafe().empty();
    case dom::element_type::INT64:
      return e.get_int64().value_unsafe() != 0;
    case dom::element_type::UINT64:
      return e.get_uint64().value_unsafe() != 0;
    case dom::element_type::DOUBLE: {
      double d = e.get_double().value_unsafe();
      return d != 0 && !std::isnan(d);
    }
    default:
      return true;
  }
}

// A task body (reference §2.2 defaults, SPEC D11).
Result<engine::NewTask> TaskFrom(const dom::object& o, bool with_parents = true) {
  engine::NewTask t;
  ASSIGN_OR_RETURN(t.name, RequiredString(o, "name", 0));
  ASSIGN_OR_RETURN(t.channel, RequiredString(o, "channel", kMaxNameLength));
  if (t.channel.empty()) return Status::Invalid("channel must not be empty");
  ASSIGN_OR_RETURN(t.workgroup, OptName(o, "workgroup"));
  ASSIGN_OR_RETURN(t.key, OptName(o, "key"));
  if (auto e = Field(o, "remainingAttempts")) {
    ASSIGN_OR_RETURN(t.remaining_attempts, Integer(*e, "remainingAttempts"));
    if (t.remaining_attempts < 1) return Status::Invalid("remainingAttempts must be at least 1");
  }
  if (auto e = Field(o, "priority")) {
    ASSIGN_OR_RETURN(t.priority, Integer(*e, "priority"));
  }
  if (auto e = Field(o, "runAfter")) {
    ASSIGN_OR_RETURN(t.run_after, RunAfter(*e));
  }
  if (auto e = Field(o, "progressWeight")) {
    ASSIGN_OR_RETURN(t.progress_weight, Number(*e, "progressWeight"));
  }
  if (auto e = Field(o, "isSeed")) {
    ASSIGN_OR_RETURN(t.is_seed, Bool(*e, "isSeed"));
  }
  if (Has(o, "errorDelayInSeconds")) {  // (null: no delay, as 0: reference §2.2, §4.3.1)
    ASSIGN_OR_RETURN(t.error_delay_s, ErrorDelay(o));
  }
  // (`body.input || null`, reference §2.2: false, 0 and "" are stored as null)
  if (auto e = Field(o, "input"); e && Truthy(*e)) t.input = Raw(*e);
  if (!with_parents) return t;
  if (auto e = Field(o, "parentIds")) {
    ASSIGN_OR_RETURN(t.parent_ids, IdList(*e, "parentIds"));
  }
  return t;
}

// A `_child_id` or a `_parent_ids` entry as the key siblings are matched by. The reference
// matches with JavaScript's `===`: a string only by a string, a number by its value as a double
// (1, 1.0 and 1e0 are one id; 0 and -0 too), so a number is spelled as that double's shortest
// text (an integral one without a fraction).
std::string ChildRef(const dom::element& e) {
  if (!e.is_number()) return Raw(e);
  double d = e.get_double().value_unsafe();
  if (std::trunc(d) == d && std::fabs(d) < 9.2e18) return std::to_string(static_cast<int64_t>(d));
  char text[32];
  auto end = std::to_chars(text, text + sizeof text, d).ptr;
  return std::string(text, end);
}

Result<engine::ChildSpec> ChildFrom(const dom::element& e, size_t index) {
  const std::string where = "children[" + std::to_string(index) + "]";
  if (!e.is_object()) return Status::Invalid(where + " must be an object");
  dom::object o(e);
  // (a child's parentIds are the release's to set, whatever it says: reference §2.4)
  auto task = TaskFrom(o, /*with_parents=*/false);
  if (!task.ok()) return Status::Invalid(where + ": " + task.status().message());
  engine::ChildSpec c;
  c.task = std::move(task).value();
  if (auto id = Field(o, "_child_id")) {
    if (!id->is_string() && !id->is_number())
      return Bad(where + "._child_id", "a number or a string");
    c.child_id = ChildRef(*id);
  }
  if (auto refs = Field(o, "_parent_ids")) {
    if (!refs->is_array()) return Bad(where + "._parent_ids", "an array of _child_id values");
    c.parent_refs.emplace();
    for (dom::element r : dom::array(*refs)) c.parent_refs->push_back(ChildRef(r));
  }
  return c;
}

Result<engine::ReleaseCommand> ReleaseFrom(const dom::object& o,
                                           Verbatim verbatim = Verbatim::kNone) {
  engine::ReleaseCommand cmd;
  ASSIGN_OR_RETURN(cmd.worker_id, WorkerId(o));
  if (auto e = Field(o, "error"); e && Truthy(*e)) cmd.error = Raw(*e);
  if (auto e = Field(o, "output"); e && (verbatim == Verbatim::kOutput || Truthy(*e))) {
    cmd.output = Raw(*e);  // (falsy: null, §4.3)
  }
  ASSIGN_OR_RETURN(cmd.workgroup_delay_s, Delay(o, "workgroupDelayInSeconds"));
  if (cmd.error) return cmd;  // children and childrenDelayInSeconds: ignored (reference §4.3.1)
  if (auto e = Field(o, "children")) {
    if (!e->is_array()) return Bad("children", "an array of task objects");
    size_t i = 0;
    for (dom::element child : dom::array(*e)) {
      if (child.is_object() && Has(dom::object(child), "_id")) {  // reference: ignored
        ++i;
        continue;
      }
      ASSIGN_OR_RETURN(engine::ChildSpec spec, ChildFrom(child, i));
      spec.index = i++;
      cmd.children.push_back(std::move(spec));
    }
  }
  ASSIGN_OR_RETURN(cmd.children_delay_s, Delay(o, "childrenDelayInSeconds"));
  return cmd;
}

}  // namespace

void ReleaseLargeParser() {
  if (ThreadParser().capacity() > kKeptParserCapacity) ThreadParser() = dom::parser();
}

size_t ThreadParserCapacity() { return ThreadParser().capacity(); }

Result<engine::NewGroup> ParseNewGroup(std::string_view body) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  engine::NewGroup g;
  ASSIGN_OR_RETURN(g.name, RequiredString(o, "name", 0));
  if (auto e = Field(o, "isPaused")) {
    ASSIGN_OR_RETURN(g.is_paused, Bool(*e, "isPaused"));
  }
  return g;
}

Result<std::optional<std::string>> ParseGroupUpdate(std::string_view body) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  ASSIGN_OR_RETURN(auto e, SetField(o, "name"));
  if (!e) return std::optional<std::string>();
  ASSIGN_OR_RETURN(std::string name, String(*e, "name"));
  return std::optional<std::string>(std::move(name));
}

Result<std::vector<engine::NewTask>> ParseNewTasks(std::string_view body, bool* is_array) {
  ASSIGN_OR_RETURN(dom::element root, Parse(body));
  std::vector<engine::NewTask> out;
  *is_array = root.is_array();
  if (root.is_object()) {
    ASSIGN_OR_RETURN(engine::NewTask t, TaskFrom(dom::object(root)));
    out.push_back(std::move(t));
    return out;
  }
  if (!root.is_array())
    return Status::Invalid("the body must be a task object or an array of them");
  size_t i = 0;
  for (dom::element e : dom::array(root)) {
    if (!e.is_object()) return Status::Invalid("[" + std::to_string(i) + "] must be a task object");
    auto t = TaskFrom(dom::object(e));
    if (!t.ok()) return Status::Invalid("[" + std::to_string(i) + "]: " + t.status().message());
    out.push_back(std::move(t).value());
    ++i;
  }
  return out;
}

// SPEC D9: known fields only; the immutable ones of reference §5.7 are ignored.
Result<engine::TaskPatch> ParseTaskPatch(std::string_view body) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  engine::TaskPatch p;
  ASSIGN_OR_RETURN(auto name, SetField(o, "name"));
  if (name) {
    ASSIGN_OR_RETURN(p.name, String(*name, "name"));
  }
  ASSIGN_OR_RETURN(auto channel, SetField(o, "channel"));
  if (channel) {
    ASSIGN_OR_RETURN(p.channel, String(*channel, "channel", kMaxNameLength));
    if (p.channel->empty()) return Status::Invalid("channel must not be empty");
  }
  if (Has(o, "workgroup")) {
    ASSIGN_OR_RETURN(p.workgroup, OptName(o, "workgroup"));
  }
  if (Has(o, "key")) {
    ASSIGN_OR_RETURN(p.key, OptName(o, "key"));
  }
  if (auto e = Field(o, "remainingAttempts")) {
    ASSIGN_OR_RETURN(p.remaining_attempts, Integer(*e, "remainingAttempts"));
    if (*p.remaining_attempts < 0) return Status::Invalid("remainingAttempts must be at least 0");
  }
  if (auto e = Field(o, "priority")) {
    ASSIGN_OR_RETURN(p.priority, Integer(*e, "priority"));
  }
  dom::element run_after;
  if (!o.at_key("runAfter").get(run_after)) {
    ASSIGN_OR_RETURN(p.run_after, RunAfter(run_after));
  }
  if (auto e = Field(o, "progressWeight")) {
    ASSIGN_OR_RETURN(p.progress_weight, Number(*e, "progressWeight"));
  }
  if (Has(o, "errorDelayInSeconds")) {  // (null: no delay, as 0)
    ASSIGN_OR_RETURN(p.error_delay_s, ErrorDelay(o));
  }
  if (auto e = Field(o, "isSeed")) {
    ASSIGN_OR_RETURN(p.is_seed, Bool(*e, "isSeed"));
  }
  dom::element input;
  if (!o.at_key("input").get(input)) p.input = Raw(input);
  if (Has(o, "parentIds")) {
    auto e = Field(o, "parentIds");
    if (!e) {
      p.parent_ids.emplace();
    } else {
      ASSIGN_OR_RETURN(p.parent_ids, IdList(*e, "parentIds"));
    }
  }
  return p;
}

Result<AcquireRequest> ParseAcquire(std::string_view body) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  AcquireRequest r;
  ASSIGN_OR_RETURN(r.worker_id, WorkerId(o));
  if (auto e = Field(o, "waitSeconds")) {
    ASSIGN_OR_RETURN(r.wait_seconds, Number(*e, "waitSeconds"));
    if (!(r.wait_seconds >= 0 && r.wait_seconds <= 60)) {
      return Status::Invalid("waitSeconds must be between 0 and 60");
    }
  }
  if (auto e = Field(o, "limit")) {
    ASSIGN_OR_RETURN(int64_t limit, Integer(*e, "limit"));
    if (limit < 1 || limit > 1000) return Status::Invalid("limit must be between 1 and 1000");
    r.limit = static_cast<int>(limit);
  }
  return r;
}

Result<engine::ReleaseCommand> ParseRelease(std::string_view body, Verbatim verbatim) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  return ReleaseFrom(o, verbatim);
}

Result<std::vector<ReleaseItem>> ParseReleaseBatch(std::string_view body) {
  ASSIGN_OR_RETURN(dom::element root, Parse(body));
  if (!root.is_array()) return Status::Invalid("the body must be an array of release objects");
  std::vector<ReleaseItem> out;
  for (dom::element e : dom::array(root)) {
    if (!e.is_object()) return Status::Invalid("every release item must be an object");
    dom::object o(e);
    ReleaseItem item{std::nullopt, Status::Invalid("taskId is required")};
    if (auto id = Field(o, "taskId"); id && id->is_string()) {
      item.task_id = std::string(id->get_string().value_unsafe());
      item.command = ReleaseFrom(o);
    } else if (id) {
      item.command = Status::Invalid("taskId must be a string");
    }
    out.push_back(std::move(item));
  }
  return out;
}

Status ParseUnusedBody(std::string_view body, std::string_view content_type) {
  if (body.empty() || !IsJsonType(content_type)) return Status::Ok();
  return ParseObject(body).status();
}

Result<std::string> ParseWorkerOnly(std::string_view body) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  return WorkerId(o);
}

Result<int64_t> ParseAttempts(std::string_view body, int64_t default_attempts) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  auto e = Field(o, "remainingAttempts");
  if (!e) return default_attempts;
  ASSIGN_OR_RETURN(int64_t n, Integer(*e, "remainingAttempts"));
  if (n < 1) return Status::Invalid("remainingAttempts must be at least 1");
  return n;
}

Result<engine::OperatorFields> ParseOperator(std::string_view body, bool create) {
  ASSIGN_OR_RETURN(dom::object o, ParseObject(body));
  engine::OperatorFields f;
  if (create) {
    ASSIGN_OR_RETURN(f.channel, RequiredString(o, "channel", kMaxNameLength));
    ASSIGN_OR_RETURN(f.url, RequiredString(o, "url", 0));
  } else {
    ASSIGN_OR_RETURN(auto channel, SetField(o, "channel"));
    if (channel) {
      ASSIGN_OR_RETURN(f.channel, String(*channel, "channel", kMaxNameLength));
    }
    ASSIGN_OR_RETURN(auto url, SetField(o, "url"));
    if (url) {
      ASSIGN_OR_RETURN(f.url, String(*url, "url"));
    }
  }
  // (the server pushes to it: a URL it cannot post to is refused now, not at each push)
  if (f.url && !SplitHttpUrl(*f.url)) {
    return Status::Invalid(
        "url must be an http:// or https:// URL with a host, such as "
        "http://host:3002/execute/channel (no user name)");
  }
  if (Has(o, "requestConfig")) {
    auto e = Field(o, "requestConfig");
    if (e && !e->is_object()) return Bad("requestConfig", "an object or null");
    f.request_config = e ? Raw(*e) : "null";
  }
  if (Has(o, "isPaused")) {
    auto e = Field(o, "isPaused");
    if (e) {
      ASSIGN_OR_RETURN(bool paused, Bool(*e, "isPaused"));
      f.is_paused = std::optional<bool>(paused);
    } else {
      f.is_paused = std::optional<bool>();
    }
  }
  return f;
}

Result<Id> ParseId(std::string_view text) {
  auto id = Id::FromHex(text);
  if (!id) {
    // (at most 64 bytes of it, cut before a character rather than inside one)
    size_t shown = std::min<size_t>(text.size(), 64);
    while (shown < text.size() && shown > 0 && (static_cast<uint8_t>(text[shown]) & 0xC0) == 0x80) {
      --shown;
    }
    return Status::Invalid("malformed id '" + std::string(text.substr(0, shown)) +
                           "': ids are 24 hex characters");
  }
  return *id;
}

Result<int64_t> ParseQueryInt(const std::string& name, const std::string& value, bool present,
                              int64_t fallback, int64_t min) {
  if (!present || value.empty()) return fallback;
  size_t pos = 0;
  int64_t v;
  try {
    v = std::stoll(value, &pos);
  } catch (const std::exception&) {
    return Status::Invalid(name + " must be an integer");
  }
  if (pos != value.size()) return Status::Invalid(name + " must be an integer");
  if (v < min) return Status::Invalid(name + " must be at least " + std::to_string(min));
  return v;
}

}  // namespace crew::api
