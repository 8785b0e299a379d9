// Status and Result<T>: expected failures as values (STYLE.md §3).
// A Status carries a domain code and a human-readable message; the api layer maps codes to HTTP
// statuses in one table (api/routes.cc). Thread-compatible value types.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace crew {

enum class Code {
  kOk = 0,
  kInvalidArgument,  // bad input: 400
  kNotFound,         // unknown group/task/operator: 404
  kConflict,         // worker does not hold the task: 409
  kTooLarge,         // body over the limit: 413
  kUnavailable,      // store refuses writes (sticky I/O error) or shutting down: 503
  kCorruption,       // a stored record could not be decoded: 500
  kIoError,          // RocksDB I/O failure: 503
  kUnauthorized,     // a missing or wrong token: 401
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Invalid(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status TooLarge(std::string msg) { return Status(Code::kTooLarge, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IoError(std::string msg) { return Status(Code::kIoError, std::move(msg)); }
  static Status Unauthorized(std::string msg) {
    return Status(Code::kUnauthorized, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  // (a copy or a move straight into place: a by-value parameter cost a move of the value more,
  // ~60 instructions for a Task)
  Result(const T& value) : v_(std::in_place_index<0>, value) {}        // NOLINT: implicit by design
  Result(T&& value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  Result(Status status) : v_(std::move(status)) {}                     // NOLINT
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

#define CREW_CONCAT_INNER(a, b) a##b
#define CREW_CONCAT(a, b) CREW_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` is not ok.
#define RETURN_IF_ERROR(expr)    \
  do {                           \
    ::crew::Status _st = (expr); \
    if (!_st.ok()) return _st;   \
  } while (0)

// `lhs = value of expr`, or returns its Status.
#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(CREW_CONCAT(_res_, __LINE__), lhs, expr)
#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

}  // namespace crew
