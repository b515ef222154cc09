// Helpers shared by the audit tests: temporary directories, reading files and
// parsing JSON lines back with Boost.JSON.
#ifndef BULWARK_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
#define BULWARK_TESTS_AUDIT_AUDIT_TEST_UTIL_H_

#include <stdlib.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/audit_event.h"

namespace bulwark::audit::testing {

// A fresh directory under the system temp dir, removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::string dir = (std::filesystem::temp_directory_path() / "bulwark-audit-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) abort();
    path_ = dir;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Splits on "\n" (the text must end with one) without interpreting anything else.
inline std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t nl; (nl = text.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    lines.emplace_back(text.substr(start, nl - start));
  }
  if (start != text.size()) lines.emplace_back(text.substr(start));  // unterminated tail
  return lines;
}

// Parses one line as a JSON object; an empty object if it is not one.
inline boost::json::object ParseObject(std::string_view line) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(line, ec);
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

inline std::string Str(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return "<missing>";
  return std::string(v->as_string());
}

inline AuditEvent SampleEvent(std::string request_id = "req-1") {
  AuditEvent e;
  e.time = std::chrono::system_clock::time_point(std::chrono::microseconds(1'700'000'000'123'456));
  e.request_id = std::move(request_id);
  e.subject = "user:alice";
  e.issuer = "https://issuer.example";
  e.credential_kind = "jwt";
  e.action = "GET";
  e.resource = "/v1/documents/42";
  e.route = "documents";
  e.host = "api.example.com";
  e.client_ip = "203.0.113.7";
  e.decision = AuditDecision::kDeny;
  e.status = 403;
  e.reason = "missing scope documents:read";
  e.latency = std::chrono::microseconds(1234);
  return e;
}

// Polls `done` until it holds or `timeout` passes; true if it held.
template <typename Pred>
bool PollUntil(Pred done, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace bulwark::audit::testing

#endif  // BULWARK_TESTS_AUDIT_AUDIT_TEST_UTIL_H_
