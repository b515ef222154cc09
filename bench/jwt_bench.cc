// JWT sign and verify per algorithm, each beside the raw OpenSSL EVP
// operation on the same key and bytes, plus cached verification.
//
// With BULWARK_BENCH_TOKENS=DIR, the EdDSA, ES256 and RS256 keys and tokens
// come from DIR/<alg>.jwk (private JWK) and DIR/<alg>.jwt, so a peer (node
// jose, see jwt.sh) can verify the very same tokens.
#include <benchmark/benchmark.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/p256.h"
#include "crypto/signature.h"
#include "jose/base64url.h"
#include "jose/jwt.h"

namespace bulwark {
namespace {

using jose::JwsAlgorithm;

const int64_t kNow = SystemClock::Default().NowUnixSeconds();

struct Fixture {
  jose::Jwk key;
  jose::Jwk public_key;
  std::string token;
  std::unique_ptr<jose::JwtVerifier> verifier;
  std::string signing_input;
  std::string signature;  // decoded
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

Fixture& FixtureFor(JwsAlgorithm alg) {
  static std::map<JwsAlgorithm, std::unique_ptr<Fixture>> fixtures;
  auto& slot = fixtures[alg];
  if (slot) return *slot;
  std::string name(jose::JwsAlgorithmName(alg));
  const char* dir = std::getenv("BULWARK_BENCH_TOKENS");
  std::optional<jose::Jwk> key;
  std::string token;
  if (dir != nullptr && std::ifstream(std::string(dir) + "/" + name + ".jwk").good()) {
    key = *jose::Jwk::Parse(ReadFile(std::string(dir) + "/" + name + ".jwk"));
    token = ReadFile(std::string(dir) + "/" + name + ".jwt");
  } else {
    key = *jose::Jwk::Generate(alg, "bench");
    boost::json::object claims{{"iss", "https://idp.example"},
                               {"sub", "user-42"},
                               {"aud", "api"},
                               {"iat", kNow},
                               {"exp", kNow + 900},
                               {"scope", "read write"}};
    token = *jose::SignJwt(*key, claims);
  }
  jose::Jwk pub = key->is_symmetric() ? *key : *key->PublicJwk();
  std::vector<jose::Jwk> keys{pub};
  jose::JwtValidationOptions opts;
  opts.require_exp = false;
  opts.leeway = std::chrono::seconds(3600);
  auto verifier =
      jose::JwtVerifier::Create(jose::Jwks(std::move(keys)), opts, SystemClock::Default());
  if (!verifier || !(*verifier)->VerifyUncached(token)) {
    fprintf(stderr, "fixture for %s does not verify\n", name.c_str());
    abort();
  }
  size_t dot = token.rfind('.');
  slot.reset(new Fixture{*key, pub, token, std::move(*verifier), token.substr(0, dot),
                         *jose::Base64UrlDecode(token.substr(dot + 1))});
  return *slot;
}

const EVP_MD* MdFor(JwsAlgorithm alg) {
  switch (alg) {
    case JwsAlgorithm::kES384:
    case JwsAlgorithm::kRS384:
    case JwsAlgorithm::kPS384:
      return EVP_sha384();
    case JwsAlgorithm::kES512:
    case JwsAlgorithm::kRS512:
    case JwsAlgorithm::kPS512:
      return EVP_sha512();
    case JwsAlgorithm::kEdDSA:
      return nullptr;
    default:
      return EVP_sha256();
  }
}

bool IsPss(JwsAlgorithm a) {
  return a == JwsAlgorithm::kPS256 || a == JwsAlgorithm::kPS384 || a == JwsAlgorithm::kPS512;
}

bool IsEcdsa(JwsAlgorithm a) {
  return a == JwsAlgorithm::kES256 || a == JwsAlgorithm::kES384 || a == JwsAlgorithm::kES512;
}

// The JWS r||s signature as DER, which is what OpenSSL's EVP ECDSA verifies.
std::string ToDer(const std::string& p1363) {
  size_t half = p1363.size() / 2;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(
      sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(p1363.data()), half, nullptr),
      BN_bin2bn(reinterpret_cast<const unsigned char*>(p1363.data()) + half, half, nullptr));
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

void BM_JwtVerify(benchmark::State& state, JwsAlgorithm alg) {
  Fixture& f = FixtureFor(alg);
  for (auto _ : state) {
    auto jwt = f.verifier->VerifyUncached(f.token);
    if (!jwt) state.SkipWithError("verification failed");
    benchmark::DoNotOptimize(jwt);
  }
}

void BM_OpenSslVerify(benchmark::State& state, JwsAlgorithm alg) {
  Fixture& f = FixtureFor(alg);
  if (jose::IsHmac(alg)) {
    state.SkipWithError("HMAC has no EVP_DigestVerify baseline");
    return;
  }
  EVP_PKEY* pkey = f.public_key.public_key()->raw();
  std::string sig = IsEcdsa(alg) ? ToDer(f.signature) : f.signature;
  const auto* msg = reinterpret_cast<const unsigned char*>(f.signing_input.data());
  const auto* s = reinterpret_cast<const unsigned char*>(sig.data());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestVerifyInit(ctx, &pctx, MdFor(alg), nullptr, pkey);
    if (IsPss(alg)) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    int ok = EVP_DigestVerify(ctx, s, sig.size(), msg, f.signing_input.size());
    EVP_MD_CTX_free(ctx);
    if (ok != 1) state.SkipWithError("openssl verification failed");
  }
}

void BM_JwtSign(benchmark::State& state, JwsAlgorithm alg) {
  Fixture& f = FixtureFor(alg);
  boost::json::object claims{{"sub", "user-42"}, {"exp", kNow + 900}};
  for (auto _ : state) {
    auto token = jose::SignJwt(f.key, claims);
    benchmark::DoNotOptimize(token);
  }
}

void BM_OpenSslSign(benchmark::State& state, JwsAlgorithm alg) {
  Fixture& f = FixtureFor(alg);
  if (jose::IsHmac(alg)) {
    state.SkipWithError("HMAC has no EVP_DigestSign baseline");
    return;
  }
  EVP_PKEY* pkey = f.key.private_key()->raw();
  const auto* msg = reinterpret_cast<const unsigned char*>(f.signing_input.data());
  unsigned char sig[1024];
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    EVP_DigestSignInit(ctx, &pctx, MdFor(alg), nullptr, pkey);
    if (IsPss(alg)) {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t len = sizeof sig;
    EVP_DigestSign(ctx, sig, &len, msg, f.signing_input.size());
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(sig);
  }
}

void BM_JwtVerifyCached(benchmark::State& state) {
  Fixture& f = FixtureFor(JwsAlgorithm::kES256);
  (void)f.verifier->Verify(f.token);  // warm the cache
  for (auto _ : state) {
    auto jwt = f.verifier->Verify(f.token);
    benchmark::DoNotOptimize(jwt);
  }
}

// The ES256 signature check alone (digest given) through the key's tables,
// which PreparedVerifier uses for keys in steady use (crypto/p256.h).
void BM_P256TableVerify(benchmark::State& state) {
  auto key = crypto::PrivateKey::Generate(crypto::KeyType::kEcP256);
  auto point = key->public_key().EcCoordinates();
  auto verifier = crypto::internal::P256Verifier::Create(point->x, point->y);
  if (!verifier || !verifier->BuildTableNow()) {
    state.SkipWithError("no table");
    return;
  }
  auto sig = crypto::Sign(*key, crypto::SignatureAlgorithm::kEcdsaP256Sha256, "message");
  const std::string digest = crypto::Digest(crypto::HashAlgorithm::kSha256, "message");
  std::span<const uint8_t, 32> digest_bytes(reinterpret_cast<const uint8_t*>(digest.data()), 32);
  std::span<const uint8_t, 64> signature(reinterpret_cast<const uint8_t*>(sig->data()), 64);
  for (auto _ : state) {
    auto valid = verifier->Verify(digest_bytes, signature);
    if (valid != std::optional<bool>(true)) state.SkipWithError("did not verify");
    benchmark::DoNotOptimize(valid);
  }
}

void RegisterAll() {
  for (JwsAlgorithm alg : jose::kAllJwsAlgorithms) {
    std::string n(jose::JwsAlgorithmName(alg));
    benchmark::RegisterBenchmark(("BM_JwtVerify/" + n).c_str(), BM_JwtVerify, alg);
    if (!jose::IsHmac(alg)) {
      benchmark::RegisterBenchmark(("BM_OpenSslVerify/" + n).c_str(), BM_OpenSslVerify, alg);
    }
    benchmark::RegisterBenchmark(("BM_JwtSign/" + n).c_str(), BM_JwtSign, alg);
    if (!jose::IsHmac(alg)) {
      benchmark::RegisterBenchmark(("BM_OpenSslSign/" + n).c_str(), BM_OpenSslSign, alg);
    }
  }
  benchmark::RegisterBenchmark("BM_JwtVerifyCached", BM_JwtVerifyCached);
  benchmark::RegisterBenchmark("BM_P256TableVerify", BM_P256TableVerify);
}

}  // namespace
}  // namespace bulwark

int main(int argc, char** argv) {
  bulwark::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
