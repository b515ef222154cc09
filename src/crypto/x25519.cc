#include "crypto/x25519.h"

#include <openssl/crypto.h>

#include "crypto/internal.h"
#include "crypto/openssl_ptr.h"

namespace bulwark::crypto {

Result<X25519KeyPair> GenerateX25519() {
  UniquePtr<EVP_PKEY> pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  X25519KeyPair pair{SecretBytes(32), std::string(32, '\0')};
  size_t priv_len = 32, pub_len = 32;
  if (!pkey ||
      EVP_PKEY_get_raw_private_key(pkey.get(), pair.private_key.MutableSecret().data(),
                                   &priv_len) != 1 ||
      EVP_PKEY_get_raw_public_key(pkey.get(), internal::MutableBytes(pair.public_key), &pub_len) !=
          1) {
    internal::ClearErrors();
    return Err(InternalError("x25519 key generation failed"));
  }
  return pair;
}

Result<std::string> X25519PublicFromPrivate(const SecretBytes& private_key) {
  if (private_key.size() != 32) return Err(InvalidArgumentError("x25519 keys are 32 bytes"));
  UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, private_key.ExposeSecret().data(), private_key.size()));
  std::string pub(32, '\0');
  size_t len = 32;
  if (!pkey || EVP_PKEY_get_raw_public_key(pkey.get(), internal::MutableBytes(pub), &len) != 1) {
    internal::ClearErrors();
    return Err(InternalError("x25519 public key failed"));
  }
  return pub;
}

Result<SecretBytes> X25519(const SecretBytes& private_key, std::string_view peer_public) {
  if (private_key.size() != 32 || peer_public.size() != 32) {
    return Err(InvalidArgumentError("x25519 keys are 32 bytes"));
  }
  UniquePtr<EVP_PKEY> priv(EVP_PKEY_new_raw_private_key(
      EVP_PKEY_X25519, nullptr, private_key.ExposeSecret().data(), private_key.size()));
  UniquePtr<EVP_PKEY> peer(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, internal::Bytes(peer_public), 32));
  UniquePtr<EVP_PKEY_CTX> ctx(priv ? EVP_PKEY_CTX_new_from_pkey(nullptr, priv.get(), nullptr)
                                   : nullptr);
  SecretBytes shared(32);
  size_t len = 32;
  if (!peer || !ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer.get(), 0) != 1 ||
      EVP_PKEY_derive(ctx.get(), shared.MutableSecret().data(), &len) != 1 || len != 32) {
    internal::ClearErrors();
    return Err(InvalidArgumentError("x25519 key agreement refused"));
  }
  static const uint8_t kZero[32] = {0};
  if (CRYPTO_memcmp(shared.ExposeSecret().data(), kZero, 32) == 0) {
    return Err(InvalidArgumentError("x25519 shared secret is zero (low-order public key)"));
  }
  return shared;
}

}  // namespace bulwark::crypto
