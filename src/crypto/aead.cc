#include "crypto/aead.h"

#include <openssl/crypto.h>
#include <openssl/modes.h>

#include <climits>

#include "crypto/internal.h"
#include "crypto/openssl_ptr.h"
#include "crypto/random.h"

namespace bulwark::crypto {
namespace {

using internal::Bytes;

const EVP_CIPHER* CipherFor(AeadAlgorithm alg, size_t key_size) {
  static EVP_CIPHER* const kGcm128 = EVP_CIPHER_fetch(nullptr, "AES-128-GCM", nullptr);
  static EVP_CIPHER* const kGcm192 = EVP_CIPHER_fetch(nullptr, "AES-192-GCM", nullptr);
  static EVP_CIPHER* const kGcm256 = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  static EVP_CIPHER* const kChaCha = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
  if (alg == AeadAlgorithm::kChaCha20Poly1305) return key_size == 32 ? kChaCha : nullptr;
  switch (key_size) {
    case 16:
      return kGcm128;
    case 24:
      return kGcm192;
    case 32:
      return kGcm256;
    default:
      return nullptr;
  }
}

constexpr size_t kMaxGcmNonce = 1024;
constexpr size_t kMaxEvpGcmNonce = 128;  // OpenSSL's EVP GCM limit
constexpr size_t kMaxMessage = size_t{INT_MAX} - 64;

const EVP_CIPHER* EcbFor(size_t key_size) {
  static EVP_CIPHER* const k128 = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
  static EVP_CIPHER* const k192 = EVP_CIPHER_fetch(nullptr, "AES-192-ECB", nullptr);
  static EVP_CIPHER* const k256 = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
  return key_size == 16 ? k128 : key_size == 24 ? k192 : k256;
}

void EcbBlock(const unsigned char in[16], unsigned char out[16], const void* key) {
  int len = 0;
  EVP_EncryptUpdate(static_cast<EVP_CIPHER_CTX*>(const_cast<void*>(key)), out, &len, in, 16);
}

// GCM with nonces longer than EVP accepts (SP 800-38D allows up to 2^64 bits):
// the generic GCM mode, with AES driven through an ECB context. Encrypts
// `in` (returning ct || tag) or decrypts it (`in` = ct, `tag` checked).
Result<std::string> LongNonceGcm(const SecretBytes& key, std::string_view nonce,
                                 std::string_view aad, std::string_view in, bool encrypt,
                                 std::string_view tag) {
  UniquePtr<EVP_CIPHER_CTX> ecb(EVP_CIPHER_CTX_new());
  if (!ecb || EVP_EncryptInit_ex2(ecb.get(), EcbFor(key.size()), key.ExposeSecret().data(), nullptr,
                                  nullptr) != 1) {
    internal::ClearErrors();
    return Err(InternalError("aead setup failed"));
  }
  EVP_CIPHER_CTX_set_padding(ecb.get(), 0);
  std::unique_ptr<GCM128_CONTEXT, decltype(&CRYPTO_gcm128_release)> gcm(
      CRYPTO_gcm128_new(ecb.get(), EcbBlock), CRYPTO_gcm128_release);
  if (!gcm) return Err(InternalError("aead setup failed"));
  CRYPTO_gcm128_setiv(gcm.get(), Bytes(nonce), nonce.size());
  std::string out(in.size() + (encrypt ? Aead::kTagSize : 0), '\0');
  if ((!aad.empty() && CRYPTO_gcm128_aad(gcm.get(), Bytes(aad), aad.size()) != 0) ||
      (encrypt ? CRYPTO_gcm128_encrypt(gcm.get(), Bytes(in), internal::MutableBytes(out), in.size())
               : CRYPTO_gcm128_decrypt(gcm.get(), Bytes(in), internal::MutableBytes(out),
                                       in.size())) != 0) {
    return Err(InternalError("aead failed"));
  }
  if (encrypt) {
    CRYPTO_gcm128_tag(gcm.get(), internal::MutableBytes(out) + in.size(), Aead::kTagSize);
  } else if (CRYPTO_gcm128_finish(gcm.get(), Bytes(tag), tag.size()) != 0) {
    OPENSSL_cleanse(out.data(), out.size());
    return Err(UnauthenticatedError("aead tag mismatch"));
  }
  return out;
}

}  // namespace

Result<Aead> Aead::Create(AeadAlgorithm alg, SecretBytes key) {
  if (CipherFor(alg, key.size()) == nullptr) {
    return Err(InvalidArgumentError("aead key has the wrong size"));
  }
  return Aead(alg, std::move(key));
}

Status Aead::CheckNonce(std::string_view nonce) const {
  if (alg_ == AeadAlgorithm::kChaCha20Poly1305 ? nonce.size() != 12
                                               : nonce.empty() || nonce.size() > kMaxGcmNonce) {
    return InvalidArgumentError("aead nonce has the wrong size");
  }
  return OkStatus();
}

Result<std::string> Aead::Seal(std::string_view nonce, std::string_view plaintext,
                               std::string_view aad) const {
  BULWARK_RETURN_IF_ERROR(CheckNonce(nonce));
  if (plaintext.size() > kMaxMessage || aad.size() > kMaxMessage) {
    return Err(InvalidArgumentError("aead input too large"));
  }
  if (nonce.size() > kMaxEvpGcmNonce) return LongNonceGcm(key_, nonce, aad, plaintext, true, {});
  UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  const EVP_CIPHER* cipher = CipherFor(alg_, key_.size());
  int len = 0;
  int nonce_len = static_cast<int>(nonce.size());
  std::string out(plaintext.size() + kTagSize, '\0');
  bool ok = ctx && EVP_EncryptInit_ex2(ctx.get(), cipher, nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN, nonce_len, nullptr) == 1 &&
            EVP_EncryptInit_ex2(ctx.get(), nullptr, key_.ExposeSecret().data(), Bytes(nonce),
                                nullptr) == 1 &&
            (aad.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                              static_cast<int>(aad.size())) == 1) &&
            EVP_EncryptUpdate(ctx.get(), internal::MutableBytes(out), &len, Bytes(plaintext),
                              static_cast<int>(plaintext.size())) == 1 &&
            EVP_EncryptFinal_ex(ctx.get(), internal::MutableBytes(out) + len, &len) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagSize,
                                internal::MutableBytes(out) + plaintext.size()) == 1;
  if (!ok) {
    internal::ClearErrors();
    return Err(InternalError("aead seal failed"));
  }
  return out;
}

Result<SecretBytes> Aead::Open(std::string_view nonce, std::string_view ciphertext_and_tag,
                               std::string_view aad) const {
  BULWARK_RETURN_IF_ERROR(CheckNonce(nonce));
  if (ciphertext_and_tag.size() < kTagSize) {
    return Err(InvalidArgumentError("aead ciphertext too short"));
  }
  if (ciphertext_and_tag.size() > kMaxMessage || aad.size() > kMaxMessage) {
    return Err(InvalidArgumentError("aead input too large"));
  }
  std::string_view ct = ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kTagSize);
  std::string tag(ciphertext_and_tag.substr(ct.size()));
  if (nonce.size() > kMaxEvpGcmNonce) {
    BULWARK_ASSIGN_OR_RETURN(std::string plain, LongNonceGcm(key_, nonce, aad, ct, false, tag));
    SecretBytes out = SecretBytes::FromString(plain);
    OPENSSL_cleanse(plain.data(), plain.size());
    return out;
  }
  UniquePtr<EVP_CIPHER_CTX> ctx(EVP_CIPHER_CTX_new());
  const EVP_CIPHER* cipher = CipherFor(alg_, key_.size());
  SecretBytes plain(ct.size());
  int len = 0;
  bool setup = ctx && EVP_DecryptInit_ex2(ctx.get(), cipher, nullptr, nullptr, nullptr) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_IVLEN,
                                   static_cast<int>(nonce.size()), nullptr) == 1 &&
               EVP_DecryptInit_ex2(ctx.get(), nullptr, key_.ExposeSecret().data(), Bytes(nonce),
                                   nullptr) == 1 &&
               (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad),
                                                 static_cast<int>(aad.size())) == 1) &&
               EVP_DecryptUpdate(ctx.get(), plain.MutableSecret().data(), &len, Bytes(ct),
                                 static_cast<int>(ct.size())) == 1 &&
               EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagSize, tag.data()) == 1;
  if (!setup) {
    internal::ClearErrors();
    return Err(InternalError("aead open failed"));
  }
  int final_len = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), plain.MutableSecret().data() + len, &final_len) != 1) {
    internal::ClearErrors();
    return Err(UnauthenticatedError("aead tag mismatch"));
  }
  return plain;
}

Result<std::string> Aead::SealWithRandomNonce(std::string_view plaintext,
                                              std::string_view aad) const {
  BULWARK_ASSIGN_OR_RETURN(std::string nonce, RandomString(kRecommendedNonceSize));
  BULWARK_ASSIGN_OR_RETURN(std::string sealed, Seal(nonce, plaintext, aad));
  return nonce + sealed;
}

Result<SecretBytes> Aead::OpenWithPrefixedNonce(std::string_view sealed,
                                                std::string_view aad) const {
  if (sealed.size() < kRecommendedNonceSize + kTagSize) {
    return Err(InvalidArgumentError("aead ciphertext too short"));
  }
  return Open(sealed.substr(0, kRecommendedNonceSize), sealed.substr(kRecommendedNonceSize), aad);
}

}  // namespace bulwark::crypto
