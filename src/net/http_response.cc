#include "net/http_response.h"

#include <ctime>
#include <optional>
#include <string_view>
#include <utility>

#include <boost/beast/http/status.hpp>

#include "core/log.h"
#include "net/request_head.h"
#include "net/streamed_body.h"

namespace bulwark::net::internal {

namespace http = boost::beast::http;
using namespace std::string_view_literals;

namespace {

// Fields whose meaning is the framing of this connection, which the server owns.
bool IsServerOwnedField(std::string_view name) {
  return EqualsIgnoreCase(name, "content-length") || EqualsIgnoreCase(name, "transfer-encoding") ||
         EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive") ||
         EqualsIgnoreCase(name, "date");
}

// Why `response` cannot be sent as it is, or an empty view.
std::string_view HandlerMistake(const HttpResponse& response) {
  const bool switching = response.status == 101 && response.tunnel != nullptr;
  if ((response.status < 200 && !switching) || response.status > 599) {
    return "status out of range";
  }
  if (response.streamed_body && !response.body.empty()) return "a body and a streamed body";
  for (const auto& [name, value] : response.headers) {
    if (!IsToken(name)) return "invalid header name";
    if (!IsFieldValue(value)) return "invalid header value";
  }
  return {};
}

void AppendInt(std::string& out, uint64_t v) {
  char digits[20];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n != 0) out.push_back(digits[--n]);
}

void AppendTwoDigits(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

std::string_view HttpDateCache::Now() {
  const std::time_t now = std::time(nullptr);
  if (now == second_) return text_;
  std::tm tm{};
  gmtime_r(&now, &tm);
  // Formatted by hand: strftime's %a and %b follow the locale.
  static constexpr std::string_view kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  text_.clear();
  text_.append(kDays[tm.tm_wday]).append(", "sv);
  AppendTwoDigits(text_, tm.tm_mday);
  text_.append(" "sv)
      .append(kMonths[tm.tm_mon])
      .append(" "sv)
      .append(std::to_string(tm.tm_year + 1900));
  text_.push_back(' ');
  AppendTwoDigits(text_, tm.tm_hour);
  text_.push_back(':');
  AppendTwoDigits(text_, tm.tm_min);
  text_.push_back(':');
  AppendTwoDigits(text_, tm.tm_sec);
  text_.append(" GMT"sv);
  second_ = now;
  return text_;
}

HttpResponse GenericResponse(int status) {
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
  response.body.assign(reason.data(), reason.size());
  response.body.push_back('\n');
  return response;
}

void SerializeResponse(HttpResponse& response, ResponseContext& ctx, std::string& out) {
  if (std::string_view mistake = HandlerMistake(response); !mistake.empty()) {
    log::Error("net.http.bad_handler_response", {{"reason", mistake}, {"status", response.status}});
    response = GenericResponse(500);
  }
  const auto status = static_cast<http::status>(response.status);
  out.append("HTTP/1.1 "sv);
  AppendInt(out, response.status);
  out.push_back(' ');
  // A status without a registered reason (a service's 299) goes with an
  // empty one, as RFC 9112 section 4 allows, not Beast's placeholder.
  if (http::int_to_status(response.status) != http::status::unknown) {
    const auto reason = http::obsolete_reason(status);
    out.append(reason.data(), reason.size());
  }
  out.append("\r\n"sv);
  out.append(response.passed_on_fields);
  for (const auto& [name, value] : response.headers) {
    if (IsServerOwnedField(name)) {
      if (EqualsIgnoreCase(name, "connection") && ListHasToken(value, "close"))
        ctx.keep_alive = false;
      continue;
    }
    out.append(name).append(": "sv).append(value).append("\r\n"sv);
  }
  out.append("Date: "sv).append(ctx.date).append("\r\n"sv);
  if (response.status == 101) {  // a tunnel follows (HandlerMistake saw to it)
    out.append("Connection: Upgrade\r\n\r\n"sv);
    ctx.keep_alive = false;
    ctx.tunnel = std::move(response.tunnel);
    return;
  }
  const bool no_body = response.status == 204 || response.status == 304;
  // A streamed body's length, if it has one, is known now; one without is
  // chunked, or to HTTP/1.0 ended by the close.
  const bool streaming = response.streamed_body != nullptr && !no_body;
  const std::optional<uint64_t> length =
      streaming ? response.streamed_body->length() : std::optional<uint64_t>(response.body.size());
  if (!length && ctx.request_version == 10) ctx.keep_alive = false;
  if (!ctx.keep_alive) {
    out.append("Connection: close\r\n"sv);
  } else if (ctx.request_version == 10) {
    out.append("Connection: keep-alive\r\n"sv);
  }
  if (no_body) {
    // Neither a length nor a body.
  } else if (length) {
    out.append("Content-Length: "sv);
    AppendInt(out, *length);
    out.append("\r\n"sv);
  } else if (ctx.request_version != 10) {
    out.append("Transfer-Encoding: chunked\r\n"sv);
    ctx.chunked = true;
  }
  if (streaming && !ctx.head) ctx.streamed = std::move(response.streamed_body);
  out.append("\r\n"sv);
  if (!no_body && !ctx.head) out.append(response.body);
}

}  // namespace bulwark::net::internal
