#include "guard/key_hash.h"

#include <bit>
#include <cstring>
#include <random>

namespace bulwark::guard {
namespace {

static_assert(std::endian::native == std::endian::little, "SipHash loads assume little-endian");

struct SipState {
  uint64_t v0, v1, v2, v3;

  void Round() {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
};

template <int kCompressionRounds, int kFinalizationRounds>
uint64_t SipHash(const SipHashKey& key, std::string_view data) {
  SipState s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
             key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const auto compress = [&s](uint64_t m) {
    s.v3 ^= m;
    for (int i = 0; i < kCompressionRounds; ++i) s.Round();
    s.v0 ^= m;
  };
  const char* p = data.data();
  const size_t whole = data.size() / 8 * 8;
  for (size_t i = 0; i < whole; i += 8) {
    uint64_t m;
    std::memcpy(&m, p + i, 8);
    compress(m);
  }
  uint64_t last = static_cast<uint64_t>(data.size() & 0xff) << 56;
  for (size_t i = whole; i < data.size(); ++i) {
    last |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * (i - whole));
  }
  compress(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < kFinalizationRounds; ++i) s.Round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace

uint64_t SipHash13(const SipHashKey& key, std::string_view data) {
  return SipHash<1, 3>(key, data);
}

uint64_t SipHash24(const SipHashKey& key, std::string_view data) {
  return SipHash<2, 4>(key, data);
}

KeyHash::KeyHash() {
  std::random_device device;
  const auto draw = [&device] {
    return (static_cast<uint64_t>(device()) << 32) | static_cast<uint64_t>(device());
  };
  key_ = {draw(), draw()};
}

}  // namespace bulwark::guard
