// The table-driven P-256 verifier must decide exactly as OpenSSL does: on
// every Wycheproof vector, and on random and corrupted signatures of random
// keys. A wrong curve constant, a carry lost in the field arithmetic or a
// mishandled doubling case in the point addition fails these tests.
#include "crypto/p256.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>

#include <chrono>
#include <random>
#include <thread>

#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/signature.h"
#include "wycheproof.h"

namespace bulwark::crypto::internal {
namespace {

namespace json = boost::json;
using testing::FixedWidth;
using testing::LoadWycheproof;
using testing::Unhex;

std::optional<bool> TableVerify(const P256Verifier& v, std::string_view message,
                                std::string_view sig) {
  if (sig.size() != 64) return false;
  std::string d = Digest(HashAlgorithm::kSha256, message);
  return v.Verify(std::span<const uint8_t, 32>(reinterpret_cast<const uint8_t*>(d.data()), 32),
                  std::span<const uint8_t, 64>(reinterpret_cast<const uint8_t*>(sig.data()), 64));
}

// n - s for the curve order n, big-endian.
std::string NMinus(std::string_view s) {
  std::string n = Unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int d = static_cast<uint8_t>(n[i]) - static_cast<uint8_t>(s[i]) - borrow;
    borrow = d < 0 ? 1 : 0;
    n[i] = static_cast<char>(d + 256 * borrow);
  }
  return n;
}

TEST(P256Test, DecidesEveryWycheproofVectorAsExpected) {
  json::object root = LoadWycheproof("ecdsa_secp256r1_sha256_p1363_test.json");
  int valid = 0, invalid = 0;
  for (const auto& gv : root.at("testGroups").as_array()) {
    const json::object& pk = gv.at("publicKey").as_object();
    auto v = P256Verifier::Create(FixedWidth(Unhex(pk.at("wx").as_string()), 32),
                                  FixedWidth(Unhex(pk.at("wy").as_string()), 32));
    ASSERT_NE(v, nullptr);
    ASSERT_TRUE(v->BuildTableNow());
    for (const auto& tv : gv.at("tests").as_array()) {
      const json::object& t = tv.as_object();
      std::string result(t.at("result").as_string());
      ASSERT_NE(result, "acceptable");
      auto got = TableVerify(*v, Unhex(t.at("msg").as_string()), Unhex(t.at("sig").as_string()));
      ASSERT_TRUE(got.has_value());
      EXPECT_EQ(*got, result == "valid")
          << "tcId " << t.at("tcId").as_int64() << " " << t.at("comment").as_string();
      result == "valid" ? ++valid : ++invalid;
    }
  }
  EXPECT_GT(valid, 100);
  EXPECT_GT(invalid, 50);
}

TEST(P256Test, AgreesWithOpenSslOnRandomAndCorruptedSignatures) {
  std::mt19937_64 rng(20261201);
  int accepted = 0, refused = 0;
  for (int k = 0; k < 12; ++k) {
    auto priv = PrivateKey::Generate(KeyType::kEcP256);
    ASSERT_TRUE(priv.has_value());
    auto point = priv->public_key().EcCoordinates();
    ASSERT_TRUE(point.has_value());
    auto v = P256Verifier::Create(point->x, point->y);
    ASSERT_NE(v, nullptr);
    ASSERT_TRUE(v->BuildTableNow());
    for (int i = 0; i < 150; ++i) {
      std::string message = "message " + std::to_string(rng());
      std::string sig = *Sign(*priv, SignatureAlgorithm::kEcdsaP256Sha256, message);
      switch (i % 5) {
        case 0:
          break;
        case 1:  // one bit of r or s flipped
          sig[rng() % 64] ^= static_cast<char>(1u << (rng() % 8));
          break;
        case 2:  // another message
          message += "!";
          break;
        case 3:  // s replaced by n - s: also valid, as ECDSA allows
          sig.replace(32, 32, NMinus(sig.substr(32)));
          break;
        case 4:  // r and s random
          for (char& c : sig) c = static_cast<char>(rng());
          break;
      }
      bool openssl =
          Verify(priv->public_key(), SignatureAlgorithm::kEcdsaP256Sha256, message, sig).ok();
      auto table = TableVerify(*v, message, sig);
      ASSERT_TRUE(table.has_value());
      EXPECT_EQ(*table, openssl) << "key " << k << " case " << i;
      openssl ? ++accepted : ++refused;
    }
  }
  EXPECT_GT(accepted, 12 * 150 / 5);
  EXPECT_GT(refused, 12 * 150 / 5);
}

TEST(P256Test, RefusesPointsOffTheCurve) {
  auto priv = PrivateKey::Generate(KeyType::kEcP256);
  ASSERT_TRUE(priv.has_value());
  auto point = *priv->public_key().EcCoordinates();
  EXPECT_NE(P256Verifier::Create(point.x, point.y), nullptr);
  std::string y = point.y;
  y[31] ^= 1;
  EXPECT_EQ(P256Verifier::Create(point.x, y), nullptr);
  EXPECT_EQ(P256Verifier::Create(std::string(32, '\xff'), point.y), nullptr);  // x >= p
  EXPECT_EQ(P256Verifier::Create(std::string(32, '\0'), std::string(32, '\0')), nullptr);
  EXPECT_EQ(P256Verifier::Create(point.x.substr(1), point.y), nullptr);
}

TEST(P256Test, LeavesNewKeysToTheCallerUntilTheyAreInSteadyUse) {
  auto priv = PrivateKey::Generate(KeyType::kEcP256);
  ASSERT_TRUE(priv.has_value());
  auto point = *priv->public_key().EcCoordinates();
  auto v = P256Verifier::Create(point.x, point.y);
  std::string sig = *Sign(*priv, SignatureAlgorithm::kEcdsaP256Sha256, "m");
  for (uint32_t i = 1; i < P256Verifier::kBuildAfter; ++i) {
    EXPECT_FALSE(TableVerify(*v, "m", sig).has_value()) << i;
  }
  EXPECT_EQ(TableVerify(*v, "m", sig), std::optional<bool>(true));
  EXPECT_EQ(TableVerify(*v, "n", sig), std::optional<bool>(false));
}

TEST(P256Test, BuildsTheTableOnItsOwnThreadWhenShared) {
  auto priv = PrivateKey::Generate(KeyType::kEcP256);
  ASSERT_TRUE(priv.has_value());
  auto point = *priv->public_key().EcCoordinates();
  std::shared_ptr<const P256Verifier> v = P256Verifier::Create(point.x, point.y);
  std::string sig = *Sign(*priv, SignatureAlgorithm::kEcdsaP256Sha256, "m");
  for (uint32_t i = 1; i < P256Verifier::kBuildAfter; ++i) {
    EXPECT_FALSE(TableVerify(*v, "m", sig).has_value()) << i;
  }
  (void)TableVerify(*v, "m", sig);  // starts the build and does not wait for it
  std::optional<bool> decided;
  for (int i = 0; i < 1000 && !decided; ++i) {
    decided = TableVerify(*v, "m", sig);
    if (!decided) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(decided, std::optional<bool>(true));
  EXPECT_EQ(TableVerify(*v, "n", sig), std::optional<bool>(false));
}

TEST(P256Test, PreparedVerifierDecidesAlikeBeforeAndAfterTheTable) {
  auto priv = PrivateKey::Generate(KeyType::kEcP256);
  ASSERT_TRUE(priv.has_value());
  auto prepared =
      PreparedVerifier::Create(priv->public_key(), SignatureAlgorithm::kEcdsaP256Sha256);
  ASSERT_TRUE(prepared.has_value());
  std::string sig = *Sign(*priv, SignatureAlgorithm::kEcdsaP256Sha256, "m");
  std::string forged = sig;
  forged[40] ^= 4;
  for (uint32_t i = 0; i < 2 * P256Verifier::kBuildAfter; ++i) {
    EXPECT_TRUE(prepared->Verify("m", sig).ok()) << i;
    Status bad = prepared->Verify("m", forged);
    EXPECT_EQ(bad.code(), StatusCode::kUnauthenticated) << i;
  }
}

// Values where carries and the final subtraction of p or n happen: the
// extremes, single bits at limb edges, all-ones limbs.
std::vector<std::string> EdgeValues(std::string_view modulus_hex, std::mt19937_64& rng) {
  std::vector<std::string> hex = {
      "0",
      "1",
      "2",
      "3",
      "ffffffff",
      "ffffffffffffffff",
      "10000000000000000",
      "100000000000000000000000000000000",
      "8000000000000000000000000000000000000000000000000000000000000000",
      "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
      "ffffffff00000000ffffffffffffffff"};
  std::vector<std::string> out;
  BIGNUM* m = nullptr;
  BN_hex2bn(&m, std::string(modulus_hex).c_str());
  for (int delta = 1; delta <= 3; ++delta) {  // m - 1, m - 2, m - 3
    BIGNUM* v = BN_dup(m);
    BN_sub_word(v, delta);
    char* h = BN_bn2hex(v);
    hex.push_back(h);
    OPENSSL_free(h);
    BN_free(v);
  }
  for (int i = 0; i < 64; ++i) {  // random, including random limb patterns
    uint64_t limbs[4];
    for (uint64_t& l : limbs) {
      uint64_t r = rng();
      l = r % 4 == 0 ? 0 : r % 4 == 1 ? ~uint64_t{0} : rng();
    }
    char buf[65];
    snprintf(buf, sizeof buf, "%016lx%016lx%016lx%016lx", limbs[0], limbs[1], limbs[2], limbs[3]);
    hex.push_back(buf);
  }
  for (const std::string& h : hex) {
    BIGNUM* v = nullptr;
    BN_hex2bn(&v, h.c_str());
    if (BN_cmp(v, m) < 0) {
      std::string bytes(32, '\0');
      BN_bn2binpad(v, reinterpret_cast<unsigned char*>(bytes.data()), 32);
      out.push_back(bytes);
    }
    BN_free(v);
  }
  BN_free(m);
  return out;
}

std::string BnResult(BIGNUM* v) {
  std::string bytes(32, '\0');
  BN_bn2binpad(v, reinterpret_cast<unsigned char*>(bytes.data()), 32);
  return bytes;
}

std::span<const uint8_t, 32> Span32(const std::string& s) {
  return std::span<const uint8_t, 32>(reinterpret_cast<const uint8_t*>(s.data()), 32);
}

TEST(P256Test, FieldMultiplicationMatchesOpenSslBignums) {
  constexpr std::string_view kPHex =
      "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
  std::mt19937_64 rng(7);
  std::vector<std::string> values = EdgeValues(kPHex, rng);
  ASSERT_GT(values.size(), 60u);
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM *p = nullptr, *a = BN_new(), *b = BN_new(), *want = BN_new();
  BN_hex2bn(&p, std::string(kPHex).c_str());
  int checked = 0;
  for (const std::string& x : values) {
    for (const std::string& y : values) {
      BN_bin2bn(reinterpret_cast<const unsigned char*>(x.data()), 32, a);
      BN_bin2bn(reinterpret_cast<const unsigned char*>(y.data()), 32, b);
      BN_mod_mul(want, a, b, p, ctx);
      auto got = P256FieldMulForTest(Span32(x), Span32(y));
      ASSERT_TRUE(got.has_value());
      ASSERT_EQ(std::string(got->begin(), got->end()), BnResult(want));
      ++checked;
    }
  }
  EXPECT_EQ(P256FieldMulForTest(Span32(std::string(32, '\xff')), Span32(values[1])), std::nullopt);
  EXPECT_GT(checked, 3600);
  BN_free(p);
  BN_free(a);
  BN_free(b);
  BN_free(want);
  BN_CTX_free(ctx);
}

TEST(P256Test, ScalarInverseMatchesOpenSslBignums) {
  constexpr std::string_view kNHex =
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
  std::mt19937_64 rng(11);
  BN_CTX* ctx = BN_CTX_new();
  BIGNUM *n = nullptr, *a = BN_new(), *want = BN_new();
  BN_hex2bn(&n, std::string(kNHex).c_str());
  int checked = 0;
  for (const std::string& x : EdgeValues(kNHex, rng)) {
    auto got = P256ScalarInverseForTest(Span32(x));
    BN_bin2bn(reinterpret_cast<const unsigned char*>(x.data()), 32, a);
    if (BN_is_zero(a)) {
      EXPECT_EQ(got, std::nullopt);
      continue;
    }
    ASSERT_NE(BN_mod_inverse(want, a, n, ctx), nullptr);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(std::string(got->begin(), got->end()), BnResult(want));
    ++checked;
  }
  EXPECT_GT(checked, 60);
  for (int i = 0; i < 20000; ++i) {  // random values of every length
    std::string x(32, '\0');
    for (char& c : x) c = static_cast<char>(rng());
    x.replace(0, i % 32, i % 32, '\0');
    BN_bin2bn(reinterpret_cast<const unsigned char*>(x.data()), 32, a);
    if (BN_is_zero(a) || BN_cmp(a, n) >= 0) continue;
    ASSERT_NE(BN_mod_inverse(want, a, n, ctx), nullptr);
    auto got = P256ScalarInverseForTest(Span32(x));
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(std::string(got->begin(), got->end()), BnResult(want)) << i;
  }
  EXPECT_EQ(P256ScalarInverseForTest(Span32(Unhex(kNHex))), std::nullopt);
  BN_free(n);
  BN_free(a);
  BN_free(want);
  BN_CTX_free(ctx);
}

}  // namespace
}  // namespace bulwark::crypto::internal
