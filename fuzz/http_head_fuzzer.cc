// Fuzzes the HTTP request-head scanner, the head parsers and the field
// checks. Besides "never crash", it checks three properties:
//  - feeding the bytes in pieces gives the same verdict as feeding them at
//    once, so how a client splits its writes can never change what the
//    server accepts;
//  - a request head the scanner passes is accepted by ParseRequestHead (and
//    CheckRequestFields) exactly when Beast's parser accepts it, with the same
//    method, target, version and fields, and never kept alive where Beast
//    would close;
//  - a response head ParseResponseHead accepts, Beast accepts the same way
//    (the upstream side may be stricter than Beast, never looser).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "net/request_head.h"

namespace {

using bulwark::net::HeaderFields;
using bulwark::net::RequestHeadScanner;
namespace http = boost::beast::http;

[[noreturn]] void Differs(const char* what, std::string_view head) {
  std::fprintf(stderr, "Bulwark and Beast differ (%s) on: ", what);
  for (char c : head) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      std::fputc(c, stderr);
    } else {
      std::fprintf(stderr, "\\x%02x", u);
    }
  }
  std::fputc('\n', stderr);
  std::abort();
}

template <bool kRequest>
HeaderFields FieldsOf(const http::header<kRequest>& message) {
  HeaderFields fields;
  for (const auto& field : message) {
    fields.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  return fields;
}

// Fields grouped by name, keeping the order within a name: Beast's field
// container keeps same-named fields together, where ours keep arrival order.
HeaderFields Grouped(HeaderFields fields) {
  auto lower = [](std::string s) {
    for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    return s;
  };
  std::stable_sort(fields.begin(), fields.end(),
                   [&](const auto& a, const auto& b) { return lower(a.first) < lower(b.first); });
  return fields;
}

size_t ConnectionFields(const HeaderFields& fields) {
  size_t n = 0;
  for (const auto& field : fields) n += bulwark::net::EqualsIgnoreCase(field.first, "connection");
  return n;
}

template <class Parser>
bool BeastAccepts(Parser& parser, std::string_view head) {
  parser.header_limit(static_cast<uint32_t>(head.size() + 1));
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  parser.eager(false);
  boost::system::error_code ec;
  const size_t used = parser.put(boost::asio::const_buffer(head.data(), head.size()), ec);
  return !ec && used == head.size() && parser.is_header_done();
}

void CompareRequestHead(std::string_view head) {
  std::string method;
  std::string target;
  HeaderFields fields;
  const auto ours = bulwark::net::ParseRequestHead(head, method, target, fields);
  const bool ours_ok =
      ours && bulwark::net::CheckRequestFields(ours->version, fields, 1 << 20).has_value();
  http::request_parser<http::empty_body> beast;
  bool beast_ok = BeastAccepts(beast, head);
  const auto& message = beast.get();
  const HeaderFields beast_fields = beast_ok ? FieldsOf(message) : HeaderFields{};
  beast_ok = beast_ok && bulwark::net::CheckRequestFields(static_cast<int>(message.version()),
                                                          beast_fields, 1 << 20)
                             .has_value();
  if (ours_ok != beast_ok) Differs(ours_ok ? "only Bulwark accepts" : "only Beast accepts", head);
  if (!ours_ok) return;
  if (method != message.method_string() || target != message.target() ||
      ours->version != static_cast<int>(message.version()) ||
      Grouped(fields) != Grouped(beast_fields)) {
    Differs("parsed differently", head);
  }
  if (ConnectionFields(fields) <= 1 && ours->keep_alive && !message.keep_alive()) {
    Differs("keep-alive", head);
  }
}

void CompareResponseHead(std::string_view data) {
  const size_t size = bulwark::net::ResponseHeadSize(data);
  if (size == 0 || size == bulwark::net::kBareLineFeed) return;
  const std::string_view head = data.substr(0, size);
  HeaderFields fields;
  const auto ours = bulwark::net::ParseResponseHead(head, fields);
  // The view form the proxy uses accepts the same heads, with the same fields.
  bulwark::net::FieldViews views;
  const auto viewed = bulwark::net::ParseResponseHead(head, views);
  if (ours.has_value() != viewed.has_value()) Differs("the view form judges differently", head);
  if (!ours) return;
  bool same = views.size() == fields.size() && viewed->status == ours->status &&
              viewed->keep_alive == ours->keep_alive;
  for (size_t i = 0; same && i < views.size(); ++i) {
    same = views[i].first == fields[i].first && views[i].second == fields[i].second;
  }
  if (!same) Differs("the view form reads other fields", head);
  // Framing fields are judged after the head (UpstreamPool hands any
  // Content-Length but one plain number to Beast): compare plain ones only.
  for (const auto& [name, value] : fields) {
    if (bulwark::net::EqualsIgnoreCase(name, "content-length") &&
        (value.empty() || value.find_first_not_of("0123456789") != std::string::npos)) {
      return;
    }
  }
  http::response_parser<http::empty_body> beast;
  beast.skip(true);  // as for a HEAD request: the head alone is the message
  if (!BeastAccepts(beast, head)) Differs("only Bulwark accepts a response", head);
  const auto& message = beast.get();
  if (ours->status != static_cast<int>(message.result_int()) ||
      ours->version != static_cast<int>(message.version()) ||
      Grouped(fields) != Grouped(FieldsOf(message))) {
    Differs("response parsed differently", head);
  }
  if (ConnectionFields(fields) <= 1 && ours->keep_alive && !message.keep_alive()) {
    Differs("response keep-alive", head);
  }
}

constexpr bulwark::net::RequestHeadLimits kLimits{
    .max_request_line = 256, .max_header_bytes = 1024, .max_header_count = 16};

struct Verdict {
  RequestHeadScanner::State state;
  size_t head_size;
  int refusal;
  bool operator==(const Verdict&) const = default;
};

Verdict ScanInPieces(std::string_view input, size_t step) {
  RequestHeadScanner scanner(kLimits);
  RequestHeadScanner::State state = RequestHeadScanner::State::kNeedMore;
  for (size_t n = step; state == RequestHeadScanner::State::kNeedMore; n += step) {
    state = scanner.Scan(input.substr(0, std::min(n, input.size())));
    if (n >= input.size()) break;
  }
  return {state, state == RequestHeadScanner::State::kComplete ? scanner.head_size() : 0,
          state == RequestHeadScanner::State::kRefused ? static_cast<int>(scanner.refusal()) : 0};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 7 + 1;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Verdict whole = ScanInPieces(input, input.size() + 1);
  if (Verdict pieces = ScanInPieces(input, step); !(pieces == whole)) {
    std::fprintf(stderr, "verdicts differ (step %zu): whole %d/%zu/%d, pieces %d/%zu/%d\n", step,
                 static_cast<int>(whole.state), whole.head_size, whole.refusal,
                 static_cast<int>(pieces.state), pieces.head_size, pieces.refusal);
    std::abort();
  }

  if (whole.state == RequestHeadScanner::State::kComplete) {
    CompareRequestHead(input.substr(0, whole.head_size));
  }
  CompareResponseHead(input);
  return 0;
}
