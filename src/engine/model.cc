#include "engine/model.h"

#include <cstdio>
#include <cstring>

#include "util/coding.h"

namespace crew::engine {

namespace {

constexpr uint8_t kGroupVersion = 1;
constexpr uint8_t kOperatorVersion = 1;

bool GetOptString(Decoder& d, std::optional<std::string>& s) {
  uint8_t has;
  if (!d.GetU8(has)) return false;
  if (!has) {
    s.reset();
    return true;
  }
  s.emplace();
  return d.GetBytes(*s);
}

bool GetOptInt(Decoder& d, std::optional<int64_t>& v) {
  uint8_t has;
  if (!d.GetU8(has)) return false;
  if (!has) {
    v.reset();
    return true;
  }
  int64_t x;
  if (!d.GetVarsint(x)) return false;
  v = x;
  return true;
}

bool GetBool(Decoder& d, bool& b) {
  uint8_t v;
  if (!d.GetU8(v)) return false;
  b = v != 0;
  return true;
}

bool GetId(Decoder& d, Id& id) {
  std::string_view raw;
  if (!d.GetRaw(12, raw)) return false;
  id = Id::FromBytes(raw);
  return true;
}

}  // namespace

std::string EncodeTask(const Task& t, uint8_t version) {
  auto opt_size = [](const std::optional<std::string>& s) { return s ? s->size() : 0; };
  // (a bound: 28 fields of at most 12 bytes each but their strings' bytes, and those bytes)
  size_t room = 28 * 12 + t.name.size() + t.channel.size() + opt_size(t.workgroup) +
                opt_size(t.key) + t.input.size() + t.output.size() + opt_size(t.assigned_to) +
                opt_size(t.execute_message_id) + opt_size(t.examine_message_id);
  for (const auto& e : t.errors) room += ByteWriter::kMaxVarint + e.size();
  if (version == 1) room += t.parent_ids.size() * sizeof(Id::bytes);
  std::string out;
  AppendWritten(&out, room, [&](char* to) {
    ByteWriter w(to);
    auto opt_string = [&w](const std::optional<std::string>& s) {
      w.U8(s.has_value());
      if (s) w.Bytes(*s);
    };
    auto opt_int = [&w](const std::optional<int64_t>& v) {
      w.U8(v.has_value());
      if (v) w.Varsint(*v);
    };
    w.U8(version);
    w.Raw(t.id.View());
    w.Raw(t.group_id.View());
    w.Bytes(t.name);
    w.Bytes(t.channel);
    opt_string(t.workgroup);
    opt_string(t.key);
    w.Varsint(t.remaining_attempts);
    w.U8(t.parents_complete);
    w.U8(t.is_complete);
    w.Varsint(t.priority);
    opt_int(t.run_after);
    w.Double(t.progress_weight);
    w.U8(t.is_seed);
    w.Double(t.error_delay_s);
    w.Bytes(t.input);
    w.Varint(t.errors.size());
    for (const auto& e : t.errors) w.Bytes(e);
    w.Bytes(t.output);
    w.Varsint(t.created_at);
    w.Varint(t.parent_ids.size());  // version 2: the ids themselves are EncodeParents's
    if (version == 1) {
      for (const auto& p : t.parent_ids) w.Raw(p.View());
    }
    opt_string(t.assigned_to);
    opt_int(t.assigned_at);
    opt_string(t.execute_message_id);
    opt_string(t.examine_message_id);
    w.Varint(t.pending_parents);
    w.Varsint(t.lease_expires_at);
    w.U8(static_cast<uint8_t>(t.placement));
    w.Varsint(t.due);
    return w.end();
  });
  return out;
}

std::string EncodeParents(const std::vector<Id>& ids) {
  std::string out;
  out.reserve(ids.size() * sizeof(Id::bytes));
  for (const Id& id : ids) out.append(id.View());
  return out;
}

Status DecodeParents(std::string_view data, uint32_t count, std::vector<Id>* ids) {
  Decoder d(data);
  ids->resize(count);
  bool ok = true;
  for (auto& id : *ids) ok = ok && GetId(d, id);
  if (!ok || !d.done()) return Status::Corruption("undecodable parent list");
  return Status::Ok();
}

Status DecodeTask(std::string_view data, Task* t, uint32_t* stored_parents) {
  Decoder d(data);
  uint8_t version, placement;
  uint64_t n, pending;
  *stored_parents = 0;
  bool ok = d.GetU8(version) && (version == kTaskVersion || version == 1) && GetId(d, t->id) &&
            GetId(d, t->group_id) && d.GetBytes(t->name) && d.GetBytes(t->channel) &&
            GetOptString(d, t->workgroup) && GetOptString(d, t->key) &&
            d.GetVarsint(t->remaining_attempts) && GetBool(d, t->parents_complete) &&
            GetBool(d, t->is_complete) && d.GetVarsint(t->priority) && GetOptInt(d, t->run_after) &&
            d.GetDouble(t->progress_weight) && GetBool(d, t->is_seed) &&
            d.GetDouble(t->error_delay_s) && d.GetBytes(t->input) && d.GetVarint(n);
  if (ok) {
    t->errors.resize(n);
    for (auto& e : t->errors) ok = ok && d.GetBytes(e);
  }
  ok = ok && d.GetBytes(t->output) && d.GetVarsint(t->created_at) && d.GetVarint(n) &&
       n <= UINT32_MAX;
  t->parent_ids.clear();
  t->legacy_parents = ok && version == 1 && n > 0;
  if (ok && version == 1) {
    t->parent_ids.resize(n);
    for (auto& p : t->parent_ids) ok = ok && GetId(d, p);
  } else if (ok) {
    *stored_parents = static_cast<uint32_t>(n);
  }
  ok = ok && GetOptString(d, t->assigned_to) && GetOptInt(d, t->assigned_at) &&
       GetOptString(d, t->execute_message_id) && GetOptString(d, t->examine_message_id) &&
       d.GetVarint(pending) && d.GetVarsint(t->lease_expires_at) && d.GetU8(placement) &&
       d.GetVarsint(t->due) && d.done() && placement <= 3;
  if (!ok) return Status::Corruption("undecodable task record");
  t->pending_parents = static_cast<uint32_t>(pending);
  t->placement = static_cast<Placement>(placement);
  return Status::Ok();
}

std::string EncodeGroup(const Group& g) {
  std::string out;
  PutU8(out, kGroupVersion);
  out.append(g.id.View());
  PutBytes(out, g.name);
  PutU8(out, g.is_paused);
  PutVarsint(out, g.created_at);
  PutVarsint(out, g.stats.total);
  PutVarsint(out, g.stats.complete);
  PutVarsint(out, g.stats.assigned);
  PutVarsint(out, g.stats.failed);
  return out;
}

Status DecodeGroup(std::string_view data, Group* g) {
  Decoder d(data);
  uint8_t version;
  bool ok = d.GetU8(version) && version == kGroupVersion && GetId(d, g->id) &&
            d.GetBytes(g->name) && GetBool(d, g->is_paused) && d.GetVarsint(g->created_at) &&
            d.GetVarsint(g->stats.total) && d.GetVarsint(g->stats.complete) &&
            d.GetVarsint(g->stats.assigned) && d.GetVarsint(g->stats.failed) && d.done();
  return ok ? Status::Ok() : Status::Corruption("undecodable group record");
}

std::string EncodeOperator(const Operator& o) {
  std::string out;
  PutU8(out, kOperatorVersion);
  out.append(o.id.View());
  PutBytes(out, o.channel);
  PutBytes(out, o.url);
  PutBytes(out, o.request_config);
  PutU8(out, o.is_paused ? (*o.is_paused ? 2 : 1) : 0);
  PutVarsint(out, o.created_at);
  return out;
}

Status DecodeOperator(std::string_view data, Operator* o) {
  Decoder d(data);
  uint8_t version, paused;
  bool ok = d.GetU8(version) && version == kOperatorVersion && GetId(d, o->id) &&
            d.GetBytes(o->channel) && d.GetBytes(o->url) && d.GetBytes(o->request_config) &&
            d.GetU8(paused) && d.GetVarsint(o->created_at) && d.done() && paused <= 2;
  if (!ok) return Status::Corruption("undecodable operator record");
  o->is_paused = paused == 0 ? std::nullopt : std::optional<bool>(paused == 2);
  return Status::Ok();
}

std::string EncodeChannelStats(const ChannelStats& c) {
  std::string out;
  PutVarsint(out, c.total);
  PutVarsint(out, c.complete);
  PutVarsint(out, c.assigned);
  return out;
}

Status DecodeChannelStats(std::string_view data, ChannelStats* c) {
  Decoder d(data);
  bool ok =
      d.GetVarsint(c->total) && d.GetVarsint(c->complete) && d.GetVarsint(c->assigned) && d.done();
  return ok ? Status::Ok() : Status::Corruption("undecodable channel stats");
}

void AppendJsonQuoted(std::string_view s, std::string* out) {
  AppendWritten(out, MaxJsonQuotedSize(s), [s](char* to) { return WriteJsonQuoted(s, to); });
}

char* WriteJsonQuoted(std::string_view s, char* to) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  *to++ = '"';
  size_t run = 0;  // start of the characters not yet written, which need no escape
  auto flush = [&](size_t end) {
    std::memcpy(to, s.data() + run, end - run);
    to += end - run;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    flush(i);
    run = i + 1;
    char escape = 0;
    switch (c) {
      case '"':
        escape = '"';
        break;
      case '\\':
        escape = '\\';
        break;
      case '\n':
        escape = 'n';
        break;
      case '\r':
        escape = 'r';
        break;
      case '\t':
        escape = 't';
        break;
      case '\b':
        escape = 'b';
        break;
      case '\f':
        escape = 'f';
        break;
    }
    *to++ = '\\';
    if (escape) {
      *to++ = escape;
    } else {  // \u00XX
      std::memcpy(to, "u00", 3);
      to[3] = kHexDigits[c >> 4];
      to[4] = kHexDigits[c & 0xF];
      to += 5;
    }
  }
  flush(s.size());
  *to++ = '"';
  return to;
}

std::string JsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  AppendJsonQuoted(s, &out);
  return out;
}

}  // namespace crew::engine
