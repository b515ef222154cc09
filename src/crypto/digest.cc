#include "crypto/digest.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>

#include "crypto/internal.h"
#include "crypto/openssl_ptr.h"

namespace bulwark::crypto {
namespace internal {

const char* MdName(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha384:
      return "SHA384";
    case HashAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA256";
}

const EVP_MD* FetchedMd(HashAlgorithm alg) {
  static EVP_MD* const kMds[3] = {EVP_MD_fetch(nullptr, "SHA256", nullptr),
                                  EVP_MD_fetch(nullptr, "SHA384", nullptr),
                                  EVP_MD_fetch(nullptr, "SHA512", nullptr)};
  const EVP_MD* md = kMds[static_cast<int>(alg)];
  if (md == nullptr) abort();  // the default provider is missing: nothing can be trusted
  return md;
}

void ClearErrors() { ERR_clear_error(); }

}  // namespace internal

using internal::Bytes;

size_t DigestSize(HashAlgorithm alg) {
  switch (alg) {
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kSha512:
      return 64;
  }
  return 32;
}

std::string Digest(HashAlgorithm alg, std::string_view data) {
  std::string out(DigestSize(alg), '\0');
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), internal::MutableBytes(out), &len,
                 internal::FetchedMd(alg), nullptr) != 1) {
    abort();  // a hash over memory cannot fail but for a broken library
  }
  return out;
}

Result<std::string> Hmac(HashAlgorithm alg, const SecretBytes& key, std::string_view data) {
  std::string out(DigestSize(alg), '\0');
  unsigned int len = 0;
  auto k = key.ExposeSecret();
  // HMAC() rejects a null key pointer even with length 0.
  static const unsigned char kEmpty = 0;
  if (HMAC(internal::FetchedMd(alg), k.empty() ? &kEmpty : k.data(), static_cast<int>(k.size()),
           Bytes(data), data.size(), internal::MutableBytes(out), &len) == nullptr ||
      len != out.size()) {
    internal::ClearErrors();
    return Err(InternalError("hmac failed"));
  }
  return out;
}

bool HmacVerify(HashAlgorithm alg, const SecretBytes& key, std::string_view data,
                std::string_view tag) {
  auto expected = Hmac(alg, key, data);
  if (!expected.has_value() || expected->size() != tag.size()) return false;
  return CRYPTO_memcmp(expected->data(), tag.data(), tag.size()) == 0;
}

Result<SecretBytes> Hkdf(HashAlgorithm alg, const SecretBytes& ikm, std::string_view salt,
                         std::string_view info, size_t size) {
  if (size == 0 || size > 255 * DigestSize(alg)) {
    return Err(InvalidArgumentError("hkdf output size out of range"));
  }
  UniquePtr<EVP_KDF> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  if (!kdf) return Err(InternalError("hkdf unavailable"));
  UniquePtr<EVP_KDF_CTX> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) return Err(InternalError("hkdf context"));
  auto k = ikm.ExposeSecret();
  static unsigned char kEmpty = 0;
  OSSL_PARAM params[5];
  int n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                                 const_cast<char*>(internal::MdName(alg)), 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_KEY, k.empty() ? &kEmpty : const_cast<uint8_t*>(k.data()), k.size());
  if (!salt.empty()) {
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  }
  params[n++] = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_INFO,
      info.empty() ? static_cast<void*>(&kEmpty) : const_cast<char*>(info.data()), info.size());
  params[n] = OSSL_PARAM_construct_end();
  SecretBytes out(size);
  if (EVP_KDF_derive(ctx.get(), out.MutableSecret().data(), size, params) != 1) {
    internal::ClearErrors();
    return Err(InternalError("hkdf failed"));
  }
  return out;
}

}  // namespace bulwark::crypto
