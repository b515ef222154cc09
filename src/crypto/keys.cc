#include "crypto/keys.h"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstring>

#include "crypto/internal.h"
#include "crypto/openssl_ptr.h"

namespace bulwark::crypto {
namespace {

using internal::Bytes;

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

const char* GroupName(KeyType t) {
  switch (t) {
    case KeyType::kEcP256:
      return "prime256v1";
    case KeyType::kEcP384:
      return "secp384r1";
    case KeyType::kEcP521:
      return "secp521r1";
    default:
      return nullptr;
  }
}

Status Fail(std::string msg) {
  internal::ClearErrors();
  return InvalidArgumentError(std::move(msg));
}

Result<KeyType> Classify(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_ED25519:
      return KeyType::kEd25519;
    case EVP_PKEY_RSA: {
      int bits = EVP_PKEY_get_bits(pkey);
      if (bits < kRsaMinBits || bits > kRsaMaxBits) {
        return Err(Fail("rsa key size must be 2048 to 4096 bits"));
      }
      BIGNUM* e = nullptr;
      if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
        return Err(Fail("rsa key without exponent"));
      }
      UniquePtr<BIGNUM> owned(e);
      if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 64) {
        return Err(Fail("rsa public exponent is invalid"));
      }
      return KeyType::kRsa;
    }
    case EVP_PKEY_EC: {
      char name[64] = {0};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name,
                                         &len) != 1) {
        return Err(Fail("ec key without a named curve"));
      }
      std::string_view n(name, len);
      if (n == "prime256v1") return KeyType::kEcP256;
      if (n == "secp384r1") return KeyType::kEcP384;
      if (n == "secp521r1") return KeyType::kEcP521;
      return Err(Fail("unsupported ec curve"));
    }
    default:
      return Err(Fail("unsupported key type"));
  }
}

Status CheckPublic(EVP_PKEY* pkey, KeyType type) {
  if (EcCoordinateSize(type) == 0) return OkStatus();
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr));
  if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) return Fail("ec public key is not valid");
  return OkStatus();
}

Result<UniquePtr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM_BLD* bld, int selection) {
  UniquePtr<OSSL_PARAM> params(OSSL_PARAM_BLD_to_param(bld));
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) != 1) {
    return Err(Fail("key parameters rejected"));
  }
  return UniquePtr<EVP_PKEY>(pkey);
}

Result<std::string> BnParam(EVP_PKEY* pkey, const char* name, size_t pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return Err(Fail("key parameter missing"));
  UniquePtr<BIGNUM> owned(bn);
  size_t size = pad ? pad : static_cast<size_t>(BN_num_bytes(bn));
  std::string out(size, '\0');
  if (BN_bn2binpad(bn, internal::MutableBytes(out), static_cast<int>(size)) < 0) {
    return Err(Fail("key parameter too large"));
  }
  return out;
}

Result<SecretBytes> SecretBnParam(EVP_PKEY* pkey, const char* name, size_t pad) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) return Err(Fail("key parameter missing"));
  UniquePtr<BIGNUM> owned(bn);
  size_t size = pad ? pad : static_cast<size_t>(BN_num_bytes(bn));
  SecretBytes out(size);
  if (BN_bn2binpad(bn, out.MutableSecret().data(), static_cast<int>(size)) < 0) {
    return Err(Fail("key parameter too large"));
  }
  return out;
}

bool PushBn(OSSL_PARAM_BLD* bld, const char* name, std::span<const uint8_t> bytes,
            std::vector<UniquePtr<BIGNUM>>& keep) {
  UniquePtr<BIGNUM> bn(BN_bin2bn(bytes.data(), static_cast<int>(bytes.size()), nullptr));
  if (!bn) return false;
  bool ok = OSSL_PARAM_BLD_push_BN(bld, name, bn.get()) == 1;
  keep.push_back(std::move(bn));  // the builder references the BIGNUM until to_param
  return ok;
}

std::span<const uint8_t> Span(std::string_view s) {
  return std::span<const uint8_t>(Bytes(s), s.size());
}

}  // namespace

std::string_view KeyTypeName(KeyType type) {
  switch (type) {
    case KeyType::kEd25519:
      return "Ed25519";
    case KeyType::kEcP256:
      return "P-256";
    case KeyType::kEcP384:
      return "P-384";
    case KeyType::kEcP521:
      return "P-521";
    case KeyType::kRsa:
      return "RSA";
  }
  return "?";
}

size_t EcCoordinateSize(KeyType type) {
  switch (type) {
    case KeyType::kEcP256:
      return 32;
    case KeyType::kEcP384:
      return 48;
    case KeyType::kEcP521:
      return 66;
    default:
      return 0;
  }
}

// ---- PublicKey ----

Result<PublicKey> PublicKey::Adopt(evp_pkey_st* pkey) {
  UniquePtr<EVP_PKEY> owned(pkey);
  if (!owned) return Err(Fail("not a public key"));
  BULWARK_ASSIGN_OR_RETURN(KeyType type, Classify(owned.get()));
  BULWARK_RETURN_IF_ERROR(CheckPublic(owned.get(), type));
  return PublicKey(Share(owned.release()), type);
}

Result<PublicKey> PublicKey::FromEd25519(std::string_view raw) {
  if (raw.size() != 32) return Err(InvalidArgumentError("ed25519 public key must be 32 bytes"));
  return Adopt(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(raw), raw.size()));
}

Result<PublicKey> PublicKey::FromEcPoint(KeyType curve, std::string_view x, std::string_view y) {
  size_t n = EcCoordinateSize(curve);
  if (n == 0) return Err(InvalidArgumentError("not an ec curve"));
  if (x.size() != n || y.size() != n) {
    return Err(InvalidArgumentError("ec coordinate has the wrong length"));
  }
  std::string point = "\x04";
  point.append(x).append(y);
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, GroupName(curve), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Err(Fail("ec key build failed"));
  }
  BULWARK_ASSIGN_OR_RETURN(auto pkey, FromData("EC", bld.get(), EVP_PKEY_PUBLIC_KEY));
  return Adopt(pkey.release());
}

Result<PublicKey> PublicKey::FromRsa(std::string_view n, std::string_view e) {
  if (n.empty() || e.empty() || n.size() > kRsaMaxBits / 8 + 1 || e.size() > 8) {
    return Err(InvalidArgumentError("rsa key components out of range"));
  }
  std::vector<UniquePtr<BIGNUM>> keep;
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_N, Span(n), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_E, Span(e), keep)) {
    return Err(Fail("rsa key build failed"));
  }
  BULWARK_ASSIGN_OR_RETURN(auto pkey, FromData("RSA", bld.get(), EVP_PKEY_PUBLIC_KEY));
  return Adopt(pkey.release());
}

Result<PublicKey> PublicKey::FromSpkiDer(std::string_view der) {
  const unsigned char* p = Bytes(der);
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (pkey == nullptr || p != Bytes(der) + der.size()) {
    EVP_PKEY_free(pkey);
    return Err(Fail("not a DER SubjectPublicKeyInfo"));
  }
  return Adopt(pkey);
}

Result<PublicKey> PublicKey::FromPem(std::string_view pem) {
  UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Err(Fail("pem buffer"));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) return Err(Fail("not a PEM public key"));
  return Adopt(pkey);
}

int PublicKey::bits() const { return EVP_PKEY_get_bits(pkey_.get()); }

Result<std::string> PublicKey::Ed25519Raw() const {
  if (type_ != KeyType::kEd25519) return Err(InvalidArgumentError("not an ed25519 key"));
  std::string out(32, '\0');
  size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(pkey_.get(), internal::MutableBytes(out), &len) != 1 ||
      len != 32) {
    return Err(Fail("ed25519 export failed"));
  }
  return out;
}

Result<EcPoint> PublicKey::EcCoordinates() const {
  size_t n = EcCoordinateSize(type_);
  if (n == 0) return Err(InvalidArgumentError("not an ec key"));
  EcPoint p;
  BULWARK_ASSIGN_OR_RETURN(p.x, BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_X, n));
  BULWARK_ASSIGN_OR_RETURN(p.y, BnParam(pkey_.get(), OSSL_PKEY_PARAM_EC_PUB_Y, n));
  return p;
}

Result<RsaPublicComponents> PublicKey::RsaComponents() const {
  if (type_ != KeyType::kRsa) return Err(InvalidArgumentError("not an rsa key"));
  RsaPublicComponents c;
  BULWARK_ASSIGN_OR_RETURN(c.n, BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_N, 0));
  BULWARK_ASSIGN_OR_RETURN(c.e, BnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_E, 0));
  return c;
}

Result<std::string> PublicKey::ToSpkiDer() const {
  int len = i2d_PUBKEY(pkey_.get(), nullptr);
  if (len <= 0) return Err(Fail("spki export failed"));
  std::string out(static_cast<size_t>(len), '\0');
  unsigned char* p = internal::MutableBytes(out);
  if (i2d_PUBKEY(pkey_.get(), &p) != len) return Err(Fail("spki export failed"));
  return out;
}

// ---- PrivateKey ----

Result<PrivateKey> PrivateKey::Adopt(evp_pkey_st* pkey) {
  UniquePtr<EVP_PKEY> owned(pkey);
  if (!owned) return Err(Fail("not a private key"));
  BULWARK_ASSIGN_OR_RETURN(KeyType type, Classify(owned.get()));
  // The public half gets its own object so a PublicKey never carries private material.
  int len = i2d_PUBKEY(owned.get(), nullptr);
  if (len <= 0) return Err(Fail("public key export failed"));
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = internal::MutableBytes(der);
  i2d_PUBKEY(owned.get(), &p);
  BULWARK_ASSIGN_OR_RETURN(PublicKey pub, PublicKey::FromSpkiDer(der));
  return PrivateKey(Share(owned.release()), type, std::move(pub));
}

Result<PrivateKey> PrivateKey::Generate(KeyType type, int rsa_bits) {
  EVP_PKEY* pkey = nullptr;
  switch (type) {
    case KeyType::kEd25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
    case KeyType::kEcP256:
    case KeyType::kEcP384:
    case KeyType::kEcP521:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", GroupName(type));
      break;
    case KeyType::kRsa:
      if (rsa_bits < kRsaMinBits || rsa_bits > kRsaMaxBits) {
        return Err(InvalidArgumentError("rsa key size must be 2048 to 4096 bits"));
      }
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
  }
  if (pkey == nullptr) {
    internal::ClearErrors();
    return Err(InternalError("key generation failed"));
  }
  return Adopt(pkey);
}

Result<PrivateKey> PrivateKey::FromEd25519Seed(const SecretBytes& seed) {
  if (seed.size() != 32) return Err(InvalidArgumentError("ed25519 private key must be 32 bytes"));
  return Adopt(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.ExposeSecret().data(),
                                            seed.size()));
}

Result<PrivateKey> PrivateKey::FromEc(KeyType curve, const SecretBytes& d, std::string_view x,
                                      std::string_view y) {
  size_t n = EcCoordinateSize(curve);
  if (n == 0) return Err(InvalidArgumentError("not an ec curve"));
  if (d.size() != n || x.size() != n || y.size() != n) {
    return Err(InvalidArgumentError("ec key component has the wrong length"));
  }
  std::string point = "\x04";
  point.append(x).append(y);
  std::vector<UniquePtr<BIGNUM>> keep;
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, GroupName(curve), 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1 ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.ExposeSecret(), keep)) {
    return Err(Fail("ec key build failed"));
  }
  BULWARK_ASSIGN_OR_RETURN(auto pkey, FromData("EC", bld.get(), EVP_PKEY_KEYPAIR));
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_check(ctx.get()) != 1) {
    return Err(Fail("ec private key does not match its public point"));
  }
  return Adopt(pkey.release());
}

Result<PrivateKey> PrivateKey::FromRsa(std::string_view n, std::string_view e,
                                       const RsaPrivateComponents& priv) {
  std::vector<UniquePtr<BIGNUM>> keep;
  UniquePtr<OSSL_PARAM_BLD> bld(OSSL_PARAM_BLD_new());
  if (!bld || !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_N, Span(n), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_E, Span(e), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_D, priv.d.ExposeSecret(), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, priv.p.ExposeSecret(), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, priv.q.ExposeSecret(), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, priv.dp.ExposeSecret(), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, priv.dq.ExposeSecret(), keep) ||
      !PushBn(bld.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, priv.qi.ExposeSecret(), keep)) {
    return Err(Fail("rsa key build failed"));
  }
  BULWARK_ASSIGN_OR_RETURN(auto pkey, FromData("RSA", bld.get(), EVP_PKEY_KEYPAIR));
  UniquePtr<EVP_PKEY_CTX> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1) {
    return Err(Fail("rsa private key components are inconsistent"));
  }
  return Adopt(pkey.release());
}

Result<PrivateKey> PrivateKey::FromPem(const SecretBytes& pem) {
  auto bytes = pem.ExposeSecret();
  UniquePtr<BIO> bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
  if (!bio) return Err(Fail("pem buffer"));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (pkey == nullptr) return Err(Fail("not a PEM private key"));
  return Adopt(pkey);
}

Result<SecretBytes> PrivateKey::Ed25519Seed() const {
  if (type_ != KeyType::kEd25519) return Err(InvalidArgumentError("not an ed25519 key"));
  SecretBytes out(32);
  size_t len = 32;
  if (EVP_PKEY_get_raw_private_key(pkey_.get(), out.MutableSecret().data(), &len) != 1 ||
      len != 32) {
    return Err(Fail("ed25519 export failed"));
  }
  return out;
}

Result<SecretBytes> PrivateKey::EcPrivateScalar() const {
  size_t n = EcCoordinateSize(type_);
  if (n == 0) return Err(InvalidArgumentError("not an ec key"));
  return SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_PRIV_KEY, n);
}

Result<RsaPrivateComponents> PrivateKey::RsaPrivate() const {
  if (type_ != KeyType::kRsa) return Err(InvalidArgumentError("not an rsa key"));
  RsaPrivateComponents c;
  BULWARK_ASSIGN_OR_RETURN(c.d, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_D, 0));
  BULWARK_ASSIGN_OR_RETURN(c.p, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_FACTOR1, 0));
  BULWARK_ASSIGN_OR_RETURN(c.q, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_FACTOR2, 0));
  BULWARK_ASSIGN_OR_RETURN(c.dp, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_EXPONENT1, 0));
  BULWARK_ASSIGN_OR_RETURN(c.dq, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_EXPONENT2, 0));
  BULWARK_ASSIGN_OR_RETURN(c.qi, SecretBnParam(pkey_.get(), OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0));
  return c;
}

Result<SecretBytes> PrivateKey::ToPem() const {
  UniquePtr<BIO> bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey_.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    return Err(Fail("pem export failed"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return SecretBytes(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len)));
}

}  // namespace bulwark::crypto
