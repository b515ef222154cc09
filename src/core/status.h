// Status and Result: the one error model of Bulwark.
//
// A Status is a canonical code (the Abseil set) plus a message. Codes are API:
// callers branch on code(), never on message text. Messages may carry detail
// for logs and audit records; what reaches a network client is decided by the
// HTTP layer from the code alone (see HttpStatusFor).
//
// Result<T> is std::expected<T, Status>. Status is [[nodiscard]]; an alias
// cannot carry the attribute, so Result relies on review and -Wunused.
#ifndef BULWARK_CORE_STATUS_H_
#define BULWARK_CORE_STATUS_H_

#include <expected>
#include <string>
#include <string_view>
#include <utility>

namespace bulwark {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// Returns the canonical upper-snake name of `code`, e.g. "INVALID_ARGUMENT".
std::string_view StatusCodeName(StatusCode code);

// Maps a code to the HTTP status a client sees (401, 403, 429, 503, ...).
int HttpStatusFor(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "CODE: message", for logs and tests.
  std::string ToString() const;

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status OkStatus() { return Status(); }
inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status OutOfRangeError(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status AbortedError(std::string m) { return Status(StatusCode::kAborted, std::move(m)); }
inline Status DeadlineExceededError(std::string m) {
  return Status(StatusCode::kDeadlineExceeded, std::move(m));
}

template <typename T>
using Result = std::expected<T, Status>;

// Wraps a Status as the error alternative of a Result: `return Err(NotFoundError("x"));`.
inline std::unexpected<Status> Err(Status s) { return std::unexpected<Status>(std::move(s)); }

namespace internal {
// What the macros below return: converts to a Status or to the error of any Result<T>.
struct ErrorReturn {
  Status status;
  operator Status() && { return std::move(status); }  // NOLINT(google-explicit-constructor)
  template <typename T>
  operator std::expected<T, Status>() && {  // NOLINT(google-explicit-constructor)
    return std::unexpected<Status>(std::move(status));
  }
};
}  // namespace internal

}  // namespace bulwark

// Evaluates `expr` (a Status); returns it from the enclosing function (which may
// return Status or Result<U>) if not OK.
#define BULWARK_RETURN_IF_ERROR(expr)                                      \
  do {                                                                     \
    ::bulwark::Status bulwark_status_ = (expr);                            \
    if (!bulwark_status_.ok())                                             \
      return ::bulwark::internal::ErrorReturn{std::move(bulwark_status_)}; \
  } while (0)

#define BULWARK_CONCAT_INNER_(a, b) a##b
#define BULWARK_CONCAT_(a, b) BULWARK_CONCAT_INNER_(a, b)

// `BULWARK_ASSIGN_OR_RETURN(auto x, MakeX());` returns the error of a failed
// Result from the enclosing function (which may return Result<U> or Status).
#define BULWARK_ASSIGN_OR_RETURN(lhs, rexpr) \
  BULWARK_ASSIGN_OR_RETURN_IMPL_(BULWARK_CONCAT_(bulwark_result_, __LINE__), lhs, rexpr)
#define BULWARK_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr)                                  \
  auto tmp = (rexpr);                                                                    \
  if (!tmp.has_value()) return ::bulwark::internal::ErrorReturn{std::move(tmp).error()}; \
  lhs = std::move(*tmp)

#endif  // BULWARK_CORE_STATUS_H_
