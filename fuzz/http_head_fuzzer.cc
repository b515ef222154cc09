// Fuzzes the HTTP request-head scanner and the field checks. Besides "never
// crash", it checks one property: feeding the bytes in pieces gives the same
// verdict as feeding them at once, so how a client splits its writes can
// never change what the server accepts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/request_head.h"

namespace {

using bulwark::net::RequestHeadScanner;

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
    // Split the accepted head into fields the way the server's parser would.
    std::vector<std::pair<std::string, std::string>> fields;
    std::string_view head = input.substr(0, whole.head_size);
    size_t line_end = head.find("\r\n");
    for (size_t pos = line_end + 2; pos < head.size();) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string_view::npos || eol == pos) break;
      std::string_view line = head.substr(pos, eol - pos);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos) {
        fields.emplace_back(std::string(line.substr(0, colon)),
                            std::string(line.substr(colon + 1)));
      }
      pos = eol + 2;
    }
    (void)bulwark::net::CheckRequestFields(11, fields, 1 << 20);
    (void)bulwark::net::CheckRequestFields(10, fields, 1 << 20);
  }
  return 0;
}
