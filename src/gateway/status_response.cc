#include "gateway/status_response.h"

#include <string_view>

namespace bulwark::gateway {

namespace {

std::string_view Body(int status) {
  switch (status) {
    case 200:
      return "allowed\n";
    case 400:
      return "bad request\n";
    case 401:
      return "unauthorized\n";
    case 403:
      return "forbidden\n";
    case 404:
      return "not found\n";
    case 408:
      return "request timeout\n";
    case 413:
      return "content too large\n";
    case 429:
      return "too many requests\n";
    case 502:
      return "bad gateway\n";
    case 503:
      return "upstream unavailable\n";
    case 504:
      return "upstream timeout\n";
    default:
      return "denied\n";
  }
}

}  // namespace

net::HttpResponse StatusResponse(int status) {
  if (status == 204) return {.status = status};  // no content, so nothing to describe it
  return {.status = status,
          .headers = {{"Content-Type", "text/plain; charset=utf-8"}, {"Cache-Control", "no-store"}},
          .body = std::string(Body(status))};
}

}  // namespace bulwark::gateway
