#include "api/http_wire.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <ctime>
#include <optional>
#include <tuple>

#include "util/ascii.h"
#include "util/coding.h"

namespace crew::api {

namespace {

using State = WireRequest::State;

WireRequest Refuse(int status, std::string message) {
  WireRequest w;
  w.state = State::kRefused;
  w.status = status;
  w.message = std::move(message);
  w.keep_alive = false;
  return w;
}

// Whether a comma-separated header value lists `token` (Connection: keep-alive, Upgrade).
bool ListsToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (EqualsNoCase(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// The next line of buf from `pos` without its "\r\n" (or "\n"); nullopt while incomplete.
std::optional<std::string_view> NextLine(std::string_view buf, size_t* pos) {
  size_t nl = buf.find('\n', *pos);
  if (nl == std::string_view::npos) return std::nullopt;
  std::string_view line = buf.substr(*pos, nl - *pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  *pos = nl + 1;
  return line;
}

// A header line's characters are checked eight at a time (util/ascii.h's words): a loop per
// character was a sixth of a request's parsing.
constexpr bool kScanWords = std::endian::native == std::endian::little;  // (lowest byte first)

// Where a header line's name ends: the first ':', ' ' or '\t' (a name holds neither blank), or
// npos.
size_t NameEnd(std::string_view line) {
  size_t i = 0;
  if constexpr (kScanWords) {
    for (; i + 8 <= line.size(); i += 8) {
      const uint64_t w = word::Load(line.data() + i);
      const uint64_t m =
          word::BytesEqual(w, ':') | word::BytesEqual(w, ' ') | word::BytesEqual(w, '\t');
      if (m) return i + static_cast<size_t>(std::countr_zero(m)) / 8;
    }
  }
  for (; i < line.size(); ++i) {
    if (line[i] == ':' || line[i] == ' ' || line[i] == '\t') return i;
  }
  return std::string_view::npos;
}

// Whether a header value holds a NUL or a CR, neither allowed in one (RFC 9110 §5.5).
bool BadValueByte(std::string_view value) {
  size_t i = 0;
  uint64_t m = 0;
  for (; i + 8 <= value.size(); i += 8) {
    const uint64_t w = word::Load(value.data() + i);
    m |= word::BytesEqual(w, '\0') | word::BytesEqual(w, '\r');
  }
  if (m) return true;
  for (; i < value.size(); ++i) {
    if (value[i] == '\0' || value[i] == '\r') return true;
  }
  return false;
}

bool KnownMethod(std::string_view m) {
  for (const char* known : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    if (m == known) return true;
  }
  return false;
}

// What of the head frames the request: the first value of each of these headers, and how many
// times Content-Length and Transfer-Encoding came. Taken as the head is parsed (a lookup in
// httplib's case-blind header map costs more than the whole line's parsing). The views point
// into the head's bytes.
struct Framing {
  std::string_view connection, expect, length, encoding;
  int lengths = 0, encodings = 0;

  // Notes the header; answers whether it frames the body (Content-Length, Transfer-Encoding),
  // which is the wire's alone: the request's body is already decoded when a handler sees it.
  bool Note(std::string_view name, std::string_view value) {
    if (EqualsNoCase(name, "Content-Length")) {
      if (lengths++ == 0) length = value;
      return true;
    }
    if (EqualsNoCase(name, "Transfer-Encoding")) {
      if (encodings++ == 0) encoding = value;
      return true;
    }
    if (EqualsNoCase(name, "Connection")) {
      if (connection.data() == nullptr) connection = value;
    } else if (EqualsNoCase(name, "Expect")) {
      if (expect.data() == nullptr) expect = value;
    }
    return false;
  }

  // What *head keeps of it once the head is complete; nullopt, or the refusal of a body framed
  // more than one way or not in a way this server reads.
  std::optional<WireRequest> Into(bool http11, const WireLimits& limits, RequestHead* head) const {
    head->keep_alive =
        http11 ? !ListsToken(connection, "close") : ListsToken(connection, "keep-alive");
    head->expects_continue = http11 && EqualsNoCase(expect, "100-continue");
    head->chunked = encodings > 0;
    head->content_length = 0;
    if (encodings > 0) {
      if (lengths > 0) return Refuse(400, "Both Content-Length and Transfer-Encoding");
      if (encodings != 1 || !EqualsNoCase(encoding, "chunked")) {
        return Refuse(400, "Unsupported Transfer-Encoding");
      }
    } else if (lengths > 0) {
      if (lengths != 1) return Refuse(400, "More than one Content-Length");
      if (length.empty() || length.size() > 18) return Refuse(400, "Malformed Content-Length");
      size_t n = 0;
      for (char ch : length) {
        if (ch < '0' || ch > '9') return Refuse(400, "Malformed Content-Length");
        n = n * 10 + static_cast<size_t>(ch - '0');
      }
      if (n > limits.max_body) return Refuse(413, "Request body is over the size limit");
      head->content_length = n;
    }
    return std::nullopt;
  }
};

// A query string's pairs into *params as Express's parser (qs) reads them: split at '&' only,
// each at its first '=' (a value may hold more: a base64 token's padding), '+' and %XX decoded
// in both. (httplib's parse_query_text also split at ';', and cut a value that held '=': an
// examine's accessToken "abc==" did not match.)
void ParseQuery(std::string_view query, httplib::Params* params) {
  params->clear();
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    if (key.empty()) continue;
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    params->emplace(httplib::detail::decode_url(std::string(key), true),
                    httplib::detail::decode_url(std::string(value), true));
  }
}

}  // namespace

void SetPathAndQuery(std::string_view target, httplib::Request* req) {
  // The absolute form (RFC 9112 §3.2.2) names the same resource as its path.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!target.empty() && target.front() != '/' && target.size() >= scheme.size() &&
        EqualsNoCase(target.substr(0, scheme.size()), scheme)) {
      size_t path_start = target.find_first_of("/?", scheme.size());
      target = path_start == std::string_view::npos ? "" : target.substr(path_start);
      break;
    }
  }
  target = target.substr(0, target.find('#'));  // (a fragment is no part of the resource)
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  req->path.assign(path.empty() ? "/" : path);  // ("http://host" or "http://host?q")
  ParseQuery(q == std::string_view::npos ? std::string_view() : target.substr(q + 1), &req->params);
}

namespace {

// A request line's method, version and target into *req, and its path and query. Set before its
// headers are read, so that a request refused for them (a body over the limit, a malformed
// header) is still known by its method and path (/metrics labels its answer with them).
void SetRequestLine(std::string_view method, std::string_view version, std::string_view target,
                    httplib::Request* req) {
  // (assigned in place: a request the loop reuses keeps its strings' room)
  req->method.assign(method);
  req->version.assign(version);
  req->target.assign(target);
  SetPathAndQuery(target, req);
}

// The request line and headers, up to and including the empty line, into *req and, once
// complete, *head (its length last).
std::optional<WireRequest> ParseHead(std::string_view buf, const WireLimits& limits,
                                     httplib::Request* req, RequestHead* head) {
  size_t pos = 0;
  auto first = NextLine(buf, &pos);
  if (!first) {
    if (buf.size() > limits.max_uri + 32) return Refuse(414, "Request URI is too long");
    return WireRequest{};
  }
  std::string_view line = *first;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return Refuse(400, "Malformed request line");
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.size() > limits.max_uri) return Refuse(414, "Request URI is too long");
  if (!KnownMethod(method)) return Refuse(400, "Unsupported method");
  if (target.empty()) return Refuse(400, "Malformed request line");
  SetRequestLine(method, version, target, req);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return Refuse(400, "Unsupported version");

  httplib::Headers headers;
  Framing framing;
  size_t count = 0;
  while (true) {
    if (pos > limits.max_head) return Refuse(431, "Request headers are too large");
    auto header = NextLine(buf, &pos);
    if (!header) {
      if (buf.size() > limits.max_head) return Refuse(431, "Request headers are too large");
      return WireRequest{};
    }
    if (header->empty()) break;
    if (count++ >= limits.max_headers) return Refuse(431, "Too many request headers");
    // A name, then ':' (a blank before it, or no name, is malformed).
    const size_t colon = NameEnd(*header);
    if (colon == 0 || colon == std::string_view::npos || (*header)[colon] != ':') {
      return Refuse(400, "Malformed header line");
    }
    std::string_view name = header->substr(0, colon);
    std::string_view value = header->substr(colon + 1);
    if (BadValueByte(value)) return Refuse(400, "Malformed header value");
    size_t begin = 0, end = value.size();
    while (begin < end && (value[begin] == ' ' || value[begin] == '\t')) ++begin;
    while (end > begin && (value[end - 1] == ' ' || value[end - 1] == '\t')) --end;
    value = value.substr(begin, end - begin);
    // (the body's framing stays out of the map: each insertion compares names through the C
    // library's tolower, twice per character two names share, as "Content-Type" and
    // "Content-Length" share eight)
    if (framing.Note(name, value)) continue;
    headers.emplace(std::piecewise_construct, std::forward_as_tuple(name),
                    std::forward_as_tuple(value));
  }
  if (pos > limits.max_head) return Refuse(431, "Request headers are too large");
  if (auto refused = framing.Into(version == "HTTP/1.1", limits, head)) return refused;

  req->headers = std::move(headers);
  head->len = pos;
  return std::nullopt;
}

// A chunk's size line (with its extensions) longer than this is refused.
constexpr size_t kMaxChunkLine = 1024;
// A chunked body's framing may take max_body bytes beside its data, and at least this many.
constexpr size_t kMinChunkFraming = 64 << 10;

// The chunked body starting at buf[0]: kComplete with consumed bytes, kIncomplete, or refused.
// Appends the data to *body when given; the caller first scans without, from *pos (a chunk's
// start) and *total (the data before it), which it advances past each complete chunk, so that a
// body arriving in many reads is scanned once. Its framing (size lines, extensions, CRLFs) may
// take as many bytes as limits.max_body beside its data (kMinChunkFraming at least).
WireRequest ParseChunked(std::string_view buf, const WireLimits& limits, std::string* body,
                         size_t* scanned = nullptr, size_t* scanned_data = nullptr) {
  const size_t max_framing = std::max(limits.max_body, kMinChunkFraming);
  size_t pos = scanned ? *scanned : 0, total = scanned_data ? *scanned_data : 0;
  while (true) {
    if (scanned) {
      *scanned = pos;
      *scanned_data = total;
    }
    if (pos - total > max_framing) {
      return Refuse(413, "Request body's chunked framing is over the size limit");
    }
    size_t line_start = pos;
    auto line = NextLine(buf, &pos);
    if (!line ? buf.size() - line_start > kMaxChunkLine : line->size() > kMaxChunkLine) {
      return Refuse(400, "Malformed chunk size");
    }
    if (!line) return WireRequest{};
    std::string_view size_text = line->substr(0, line->find(';'));
    while (!size_text.empty() && size_text.back() == ' ') size_text.remove_suffix(1);
    if (size_text.empty() || size_text.size() > 8) return Refuse(400, "Malformed chunk size");
    size_t size = 0;
    for (char c : size_text) {
      const int digit = HexValue(c);
      if (digit < 0) return Refuse(400, "Malformed chunk size");
      size = size * 16 + static_cast<size_t>(digit);
    }
    if (size == 0) {  // the last chunk, then trailers (ignored) up to an empty line
      const size_t trailers = pos;
      while (true) {
        auto trailer = NextLine(buf, &pos);
        if ((trailer ? pos : buf.size()) - trailers > limits.max_head) {
          return Refuse(431, "Request trailers are too large");
        }
        if (!trailer) return WireRequest{};
        if (trailer->empty()) break;
      }
      WireRequest w;
      w.state = State::kComplete;
      w.consumed = pos;
      return w;
    }
    total += size;
    if (total > limits.max_body) return Refuse(413, "Request body is over the size limit");
    if (buf.size() < pos + size + 1) return WireRequest{};
    if (body) body->append(buf.substr(pos, size));
    pos += size;
    if (buf[pos] == '\r') ++pos;
    if (pos >= buf.size()) return WireRequest{};
    if (buf[pos] != '\n') return Refuse(400, "Malformed chunk");
    ++pos;
  }
}

}  // namespace

WireRequest ParseRequest(std::string_view buf, const WireLimits& limits, httplib::Request* req,
                         RequestHead* head) {
  if (head->len == 0) {
    if (auto early = ParseHead(buf, limits, req, head)) return *early;
  }
  WireRequest w;
  w.keep_alive = head->keep_alive;
  if (head->chunked) {
    WireRequest body = ParseChunked(buf.substr(head->len), limits, nullptr, &head->chunks_scanned,
                                    &head->chunk_data);
    if (body.state == State::kRefused) return body;
    if (body.state == State::kIncomplete) {
      w.need_continue = head->expects_continue;
      return w;
    }
    req->body.clear();
    ParseChunked(buf.substr(head->len), limits, &req->body);
    w.state = State::kComplete;
    w.consumed = head->len + body.consumed;
    return w;
  }
  if (buf.size() < head->len + head->content_length) {
    w.need_continue = head->expects_continue;
    return w;
  }
  req->body.assign(buf.substr(head->len, head->content_length));
  w.state = State::kComplete;
  w.consumed = head->len + head->content_length;
  return w;
}

std::string AnswerHead(const httplib::Response& res, size_t content_length, bool chunked,
                       bool close, const httplib::Headers& defaults) {
  std::string out;
  out.reserve(256);
  AppendAnswerHead(res, content_length, chunked, close, defaults, &out);
  return out;
}

// "Date: Mon, 07 Dec 2026 04:20:00 GMT\r\n" (RFC 9110 §6.6.1: an origin server with a clock
// sends it), made once a second per thread.
std::string_view DateHeaderLine() {
  thread_local time_t made_at = -1;
  thread_local char line[64];
  thread_local size_t size = 0;
  const time_t now = time(nullptr);
  if (now != made_at) {
    struct tm utc;
    gmtime_r(&now, &utc);
    size = strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &utc);
    made_at = now;
  }
  return std::string_view(line, size);
}

std::string_view HttpDate() {
  constexpr size_t kName = sizeof("Date: ") - 1, kEnd = sizeof("\r\n") - 1;
  const std::string_view line = DateHeaderLine();
  return line.substr(kName, line.size() - kName - kEnd);
}

// Every answer carries a head of ~20 pieces: written into room made once (AppendWritten).
void AppendAnswerHead(const httplib::Response& res, size_t content_length, bool chunked, bool close,
                      const httplib::Headers& defaults, std::string* out) {
  constexpr std::string_view kChunked = "Transfer-Encoding: chunked\r\n";
  constexpr std::string_view kLength = "Content-Length: ";
  constexpr std::string_view kClose = "Connection: close\r\n";
  const std::string_view reason = ReasonPhrase(res.status);
  const std::string_view date = DateHeaderLine();
  size_t room = 32 + reason.size() + date.size() + kLength.size() + 24 + kClose.size();
  for (const auto& [name, value] : res.headers) room += name.size() + value.size() + 4;
  for (const auto& [name, value] : defaults) room += name.size() + value.size() + 4;

  AppendWritten(out, room, [&](char* p) {
    auto put = [&p](std::string_view s) {
      std::memcpy(p, s.data(), s.size());
      p += s.size();
    };
    auto header = [&](std::string_view name, std::string_view value) {
      put(name);
      put(": ");
      put(value);
      put("\r\n");
    };
    put("HTTP/1.1 ");
    p = std::to_chars(p, p + 12, res.status).ptr;
    *p++ = ' ';
    put(reason);
    put("\r\n");
    put(date);
    for (const auto& [name, value] : res.headers) header(name, value);
    for (const auto& [name, value] : defaults) {
      // (not res.has_header: a lookup in httplib's map folds case through a C library call
      // per character; an answer has a header or two)
      bool set = false;
      for (const auto& kv : res.headers) set = set || EqualsNoCase(kv.first, name);
      if (!set) header(name, value);
    }
    if (chunked) {
      put(kChunked);
    } else if (content_length != kUntilClose) {
      put(kLength);
      p = std::to_chars(p, p + 24, content_length).ptr;
      put("\r\n");
    }
    if (close) put(kClose);
    put("\r\n");
    return p;
  });
}

void MarkKeepAlive(const httplib::Request& req, bool close, httplib::Response* res) {
  if (!close && req.version == "HTTP/1.0") res->set_header("Connection", "keep-alive");
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace crew::api
