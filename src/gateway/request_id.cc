#include "gateway/request_id.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>

#include "crypto/random.h"
#include "net/request_head.h"

namespace bulwark::gateway {

namespace {

constexpr std::array<bool, 256> kIdChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("-_.:+/=")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

// Random bytes for this thread's ids, drawn from OpenSSL's generator a page
// at a time: one call per 256 ids rather than one per request.
struct RandomPool {
  std::array<uint8_t, 4096> bytes;
  size_t used = sizeof bytes;
};

const uint8_t* NextSixteenBytes() {
  thread_local RandomPool pool;
  if (pool.used + 16 > pool.bytes.size()) {
    if (!crypto::RandomBytes(pool.bytes).ok()) {
      // Ids are not secrets: without OpenSSL's generator they stay unique
      // (the device's randomness), only no longer guaranteed unguessable.
      std::random_device device;
      for (uint8_t& b : pool.bytes) b = static_cast<uint8_t>(device());
    }
    pool.used = 0;
  }
  const uint8_t* out = pool.bytes.data() + pool.used;
  pool.used += 16;
  return out;
}

// "00", "01", ... "ff": two hex digits per byte in one copy.
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kHex[] = "0123456789abcdef";
  std::array<char, 512> table{};
  for (int i = 0; i < 256; ++i) {
    table[2 * i] = kHex[i >> 4];
    table[2 * i + 1] = kHex[i & 0x0f];
  }
  return table;
}();

}  // namespace

bool IsWellFormedRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!kIdChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

std::string NewRequestId() {
  uint8_t b[16];
  std::memcpy(b, NextSixteenBytes(), 16);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  std::string id;
  id.resize_and_overwrite(36, [&b](char* p, size_t) {
    char* w = p;
    for (size_t i = 0; i < 16; ++i) {
      if (i == 4 || i == 6 || i == 8 || i == 10) *w++ = '-';
      std::memcpy(w, &kHexPairs[2 * b[i]], 2);
      w += 2;
    }
    return 36;
  });
  return id;
}

void AppendRequestIdField(std::string_view id, std::string& lines) {
  if (!id.empty()) net::AppendFieldLine(lines, kRequestIdHeader, id);
}

std::string RequestIdFor(RequestIdMode mode, std::string_view sent, size_t sent_count) {
  switch (mode) {
    case RequestIdMode::kOff:
      return "";
    case RequestIdMode::kPreserve:
      if (sent_count == 1 && IsWellFormedRequestId(sent)) return std::string(sent);
      break;
    case RequestIdMode::kGenerate:
      break;
  }
  return NewRequestId();
}

}  // namespace bulwark::gateway
