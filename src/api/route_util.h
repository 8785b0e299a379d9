// Small helpers shared by the route files: JSON replies, error mapping, path ids. Internal.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include <httplib.h>

#include "api/json_in.h"
#include "api/json_out.h"
#include "util/status.h"

namespace crew::api {

int HttpStatus(Code code);
// Constant-time comparison of a secret (http_server.cc).
bool SecretEquals(const std::string& given, const std::string& expected);

// (As Response::set_content, but the body is moved in, not copied: an acquire's answer is ~1 KB.)
inline void ReplyJson(httplib::Response& res, int status, std::string body) {
  // (set_header would make two strings and check both for CR and LF on every answer)
  static const std::string kName = "Content-Type", kJson = "application/json; charset=utf-8";
  res.status = status;
  res.body = std::move(body);
  if (!res.headers.empty()) res.headers.erase(kName);
  res.headers.emplace(kName, kJson);
}

inline void ReplyError(httplib::Response& res, const Status& s) {
  ReplyJson(res, HttpStatus(s.code()), MessageJson(s.message()));
}

// Logs a request answered with a 5xx, at most one line a second: a full disk refuses every
// write, and a line for each would flood the log (the store logs the cause once). A line after a
// quiet spell says how many were left out since the one before. Thread-safe.
void LogServerError(const std::string& method, const std::string& path, const std::string& what);

// The error of a Status, a 5xx logged too (a handler's failure rather than the client's).
inline void ReplyFailure(const httplib::Request& req, httplib::Response& res, const Status& s) {
  if (HttpStatus(s.code()) >= 500) LogServerError(req.method, req.path, s.ToString());
  ReplyError(res, s);
}

// A handler that answers 200 with the JSON text it returns, or the error of its Status.
using JsonHandler = std::function<Result<std::string>(const httplib::Request&)>;
httplib::Server::Handler Json(JsonHandler h);

// The id in the first path group (kInvalidArgument when malformed).
inline Result<Id> PathId(const httplib::Request& req) {
  const auto& group = req.matches[1];  // (viewed: str() would allocate for its 24 characters)
  return ParseId(group.matched ? std::string_view(group.first, group.second) : std::string_view());
}

inline Result<int64_t> QueryInt(const httplib::Request& req, const char* name, int64_t fallback,
                                int64_t min) {
  bool present = req.has_param(name);
  return ParseQueryInt(name, present ? req.get_param_value(name) : "", present, fallback, min);
}

// ?name=true|false (absent or empty: false).
inline Result<bool> QueryBool(const httplib::Request& req, const char* name) {
  std::string v = req.get_param_value(name);
  if (v.empty() || v == "false" || v == "0") return false;
  if (v == "true" || v == "1") return true;
  return Status::Invalid(std::string(name) + " must be true or false");
}

}  // namespace crew::api
