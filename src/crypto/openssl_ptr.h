// RAII ownership of OpenSSL objects, in the manner of bssl::UniquePtr:
// `UniquePtr<EVP_PKEY> key(EVP_PKEY_new());`. Internal to crypto/; no other
// module includes OpenSSL.
#ifndef BULWARK_CRYPTO_OPENSSL_PTR_H_
#define BULWARK_CRYPTO_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include <memory>

namespace bulwark::crypto {

template <typename T>
struct OpenSslDeleter;

#define BULWARK_OPENSSL_DELETER(type, fn)     \
  template <>                                 \
  struct OpenSslDeleter<type> {               \
    void operator()(type* p) const { fn(p); } \
  };

BULWARK_OPENSSL_DELETER(EVP_PKEY, EVP_PKEY_free)
BULWARK_OPENSSL_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
BULWARK_OPENSSL_DELETER(EVP_MD_CTX, EVP_MD_CTX_free)
BULWARK_OPENSSL_DELETER(EVP_MD, EVP_MD_free)
BULWARK_OPENSSL_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free)
BULWARK_OPENSSL_DELETER(EVP_CIPHER, EVP_CIPHER_free)
BULWARK_OPENSSL_DELETER(EVP_MAC, EVP_MAC_free)
BULWARK_OPENSSL_DELETER(EVP_MAC_CTX, EVP_MAC_CTX_free)
BULWARK_OPENSSL_DELETER(EVP_KDF, EVP_KDF_free)
BULWARK_OPENSSL_DELETER(EVP_KDF_CTX, EVP_KDF_CTX_free)
BULWARK_OPENSSL_DELETER(BIGNUM, BN_clear_free)
BULWARK_OPENSSL_DELETER(BN_CTX, BN_CTX_free)
BULWARK_OPENSSL_DELETER(ECDSA_SIG, ECDSA_SIG_free)
BULWARK_OPENSSL_DELETER(OSSL_PARAM_BLD, OSSL_PARAM_BLD_free)
BULWARK_OPENSSL_DELETER(OSSL_PARAM, OSSL_PARAM_free)
BULWARK_OPENSSL_DELETER(BIO, BIO_free_all)
BULWARK_OPENSSL_DELETER(X509, X509_free)

#undef BULWARK_OPENSSL_DELETER

template <typename T>
using UniquePtr = std::unique_ptr<T, OpenSslDeleter<T>>;

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_OPENSSL_PTR_H_
