#include "jose/verification_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "jose/jwt.h"

namespace bulwark::jose {
namespace {

// VerifiedJwt can only come from a verifier; make a real one.
std::shared_ptr<const VerifiedJwt> MakeJwt() {
  static FakeClock clock(1000);
  auto key = *Jwk::Generate(JwsAlgorithm::kHS256, "k");
  std::vector<Jwk> keys;
  keys.push_back(key);
  auto v = *JwtVerifier::Create(Jwks(std::move(keys)), {.require_exp = false}, clock);
  return *v->VerifyUncached(*SignJwt(key, {{"sub", "x"}}));
}

TEST(VerificationCacheTest, HitsOnlyOnIdenticalToken) {
  VerificationCache cache(100);
  auto jwt = MakeJwt();
  cache.Insert("token-a", jwt, 0);
  EXPECT_EQ(cache.Lookup("token-a", 0), jwt);
  EXPECT_EQ(cache.Lookup("token-b", 0), nullptr);
  EXPECT_EQ(cache.Lookup("token-", 0), nullptr);
}

TEST(VerificationCacheTest, ATokenSharingAnothersSignatureIsNotServedItsResult) {
  // A forged token that copies a verified token's signature onto other
  // claims shares its tail, and so its hash: it must still miss.
  VerificationCache cache(100);
  auto jwt = MakeJwt();
  const std::string signature(64, 's');
  const std::string verified = "header.claims-of-alice." + signature;
  const std::string forged = "header.claims-of-mallory." + signature;
  cache.Insert(verified, jwt, 0);
  EXPECT_EQ(cache.Lookup(forged, 0), nullptr);
  EXPECT_EQ(cache.Lookup(verified, 0), jwt);
  // Short tokens are hashed whole.
  cache.Insert("a.b.c", jwt, 0);
  EXPECT_EQ(cache.Lookup("a.b.d", 0), nullptr);
  EXPECT_EQ(cache.Lookup("a.b.c", 0), jwt);
}

TEST(VerificationCacheTest, ExpiredEntriesAreNotReturned) {
  VerificationCache cache(100);
  cache.Insert("t", MakeJwt(), 2000);
  EXPECT_NE(cache.Lookup("t", 1999), nullptr);
  EXPECT_EQ(cache.Lookup("t", 2000), nullptr);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerificationCacheTest, EntryOfAnOlderKeyGenerationIsNotServed) {
  // A verification that raced a key replacement inserts under the generation
  // it read; once the keys moved on, that entry must not be served.
  VerificationCache cache(100);
  cache.Insert("t", MakeJwt(), 0, /*generation=*/3);
  EXPECT_NE(cache.Lookup("t", 0, 3), nullptr);
  EXPECT_EQ(cache.Lookup("t", 0, 4), nullptr);
}

TEST(VerificationCacheTest, StaysWithinCapacity) {
  VerificationCache cache(64, VerificationCache::kDefaultMaxBytes, 4);
  auto jwt = MakeJwt();
  for (int i = 0; i < 10000; ++i) cache.Insert("token-" + std::to_string(i), jwt, 0);
  EXPECT_LE(cache.size(), 64u);
  EXPECT_NE(cache.Lookup("token-9999", 0), nullptr);
}

// The largest tokens accepted must not let the cache grow to entries x
// token size: the byte budget evicts first.
TEST(VerificationCacheTest, StaysWithinItsBytes) {
  constexpr size_t kBudget = size_t{1} << 20;
  VerificationCache cache(65536, kBudget, 4);
  auto jwt = MakeJwt();
  const std::string big(8192, 'x');
  for (int i = 0; i < 1000; ++i) cache.Insert(big + std::to_string(i), jwt, 0);
  EXPECT_LE(cache.bytes(), kBudget);
  EXPECT_LE(cache.size(), kBudget / VerificationCache::ChargeFor(big.size()));
  EXPECT_GT(cache.size(), 0u);
  EXPECT_NE(cache.Lookup(big + "999", 0), nullptr);  // the newest stays
  EXPECT_EQ(cache.Lookup(big + "0", 0), nullptr);    // the oldest went

  // Expired entries and a cleared cache give their bytes back.
  cache.Clear();
  EXPECT_EQ(cache.bytes(), 0u);
  cache.Insert("short-lived", jwt, 100);
  EXPECT_EQ(cache.bytes(), VerificationCache::ChargeFor(11));
  EXPECT_EQ(cache.Lookup("short-lived", 100), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
  // Inserting the same token again replaces its charge, not adds to it.
  cache.Insert("again", jwt, 0);
  cache.Insert("again", jwt, 0);
  EXPECT_EQ(cache.bytes(), VerificationCache::ChargeFor(5));
}

TEST(VerificationCacheTest, KeepsNoTokenLargerThanAShard) {
  VerificationCache cache(100, 4 * VerificationCache::ChargeFor(100), 4);
  auto jwt = MakeJwt();
  cache.Insert(std::string(101, 'y'), jwt, 0);
  EXPECT_EQ(cache.size(), 0u);
  cache.Insert(std::string(100, 'y'), jwt, 0);
  EXPECT_EQ(cache.size(), 1u);
}

TEST(VerificationCacheTest, ConcurrentUseIsSafe) {
  VerificationCache cache(1024);
  auto jwt = MakeJwt();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) {
        std::string k = "t" + std::to_string((i * 7 + t) % 2000);
        if (cache.Lookup(k, 0) == nullptr) cache.Insert(k, jwt, 0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.size(), 1024u);
}

}  // namespace
}  // namespace bulwark::jose
