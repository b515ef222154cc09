#include "gateway/request_id.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>

#include "crypto/random.h"
#include "guard/key_hash.h"

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

struct IdStream {
  guard::SipHashKey key;
  uint64_t counter = 0;
  bool keyed = false;
};

IdStream& ThisThreadsStream() {
  thread_local IdStream stream;
  if (!stream.keyed) {
    std::array<uint8_t, 16> bytes{};
    if (!crypto::RandomBytes(bytes).ok()) {
      // Ids are not secrets: without OpenSSL's generator they stay unique
      // (the device's randomness), only no longer guaranteed unguessable.
      std::random_device device;
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(device());
    }
    std::memcpy(&stream.key.k0, bytes.data(), 8);
    std::memcpy(&stream.key.k1, bytes.data() + 8, 8);
    stream.keyed = true;
  }
  return stream;
}

}  // namespace

bool IsWellFormedRequestId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    if (!kIdChars[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

std::string NewRequestId() {
  IdStream& stream = ThisThreadsStream();
  const uint64_t n = stream.counter++;
  uint8_t input[9];
  std::memcpy(input, &n, 8);
  uint64_t halves[2];
  for (uint8_t i = 0; i < 2; ++i) {
    input[8] = i;
    halves[i] = guard::SipHash24(
        stream.key, std::string_view(reinterpret_cast<const char*>(input), sizeof input));
  }
  uint8_t b[16];
  std::memcpy(b, halves, 16);
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t at = 0;
  for (size_t i = 0; i < 16; ++i) {
    if (at == 8 || at == 13 || at == 18 || at == 23) ++at;
    id[at++] = kHex[b[i] >> 4];
    id[at++] = kHex[b[i] & 0x0f];
  }
  return id;
}

}  // namespace bulwark::gateway
