#include "testing/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <utility>

namespace bulwark::testing {

namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "test PKI: %s failed\n", what);
  std::abort();
}

void Check(bool ok, const char* what) {
  if (!ok) Fail(what);
}

EVP_PKEY* NewKey() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  Check(key != nullptr, "keygen");
  return key;
}

// What `write` puts into a memory BIO, as text.
template <typename Write>
std::string Pem(Write write, const char* what) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(write(bio) == 1, what);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string KeyPem(EVP_PKEY* key) {
  return Pem(
      [key](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
      },
      "key pem");
}

std::string CertPem(X509* cert) {
  return Pem([cert](BIO* bio) { return PEM_write_bio_X509(bio, cert); }, "cert pem");
}

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension");
  Check(X509_add_ext(cert, ext, -1) == 1, "add extension");
  X509_EXTENSION_free(ext);
}

X509* NewCert(int64_t serial, const std::string& cn, std::chrono::seconds not_before,
              std::chrono::seconds not_after, EVP_PKEY* key) {
  X509* cert = X509_new();
  Check(X509_set_version(cert, 2) == 1, "version");
  ASN1_INTEGER_set_int64(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), static_cast<long>(not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert), static_cast<long>(not_after.count()));
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Bulwark Test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  Check(X509_set_pubkey(cert, key) == 1, "pubkey");
  return cert;
}

}  // namespace

struct TestCa::State {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  ~State() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
};

TestCa::TestCa(const std::string& common_name) : state_(std::make_unique<State>()) {
  state_->key = NewKey();
  state_->cert = NewCert(1, common_name, std::chrono::seconds(-3600),
                         std::chrono::seconds(10 * 86400), state_->key);
  Check(X509_set_issuer_name(state_->cert, X509_get_subject_name(state_->cert)) == 1, "issuer");
  AddExtension(state_->cert, state_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(state_->cert, state_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(state_->cert, state_->cert, NID_subject_key_identifier, "hash");
  Check(X509_sign(state_->cert, state_->key, EVP_sha256()) > 0, "sign CA");
  cert_pem_ = CertPem(state_->cert);
}

TestCa::TestCa() = default;
TestCa::~TestCa() = default;
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;

IssuedCert TestCa::Issue(const CertSpec& spec) {
  EVP_PKEY* key = NewKey();
  const int64_t serial = next_serial_++;
  X509* cert = NewCert(serial, spec.common_name, spec.not_before, spec.not_after, key);
  Check(X509_set_issuer_name(cert, X509_get_subject_name(state_->cert)) == 1, "issuer");
  AddExtension(cert, state_->cert, NID_basic_constraints,
               spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  AddExtension(cert, state_->cert, NID_key_usage,
               !spec.key_usage.empty() ? spec.key_usage
               : spec.signs            ? "critical,digitalSignature,keyCertSign,cRLSign"
                                       : "critical,digitalSignature");
  std::string eku;
  if (spec.server) eku = "serverAuth";
  if (spec.client) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) AddExtension(cert, state_->cert, NID_ext_key_usage, eku);
  std::string san;
  auto add = [&san](const std::string& entry) { san += (san.empty() ? "" : ",") + entry; };
  for (const auto& d : spec.dns) add("DNS:" + d);
  for (const auto& ip : spec.ips) add("IP:" + ip);
  for (const auto& u : spec.uris) add("URI:" + u);
  if (!san.empty()) AddExtension(cert, state_->cert, NID_subject_alt_name, san);
  AddExtension(cert, state_->cert, NID_authority_key_identifier, "keyid");
  Check(X509_sign(cert, state_->key, EVP_sha256()) > 0, "sign leaf");
  IssuedCert issued{CertPem(cert), KeyPem(key), serial};
  X509_free(cert);
  EVP_PKEY_free(key);
  return issued;
}

TestCa TestCa::Subordinate(const std::string& common_name, std::chrono::seconds not_after) {
  TestCa sub;
  sub.state_ = std::make_unique<State>();
  sub.state_->key = NewKey();
  X509* cert =
      NewCert(next_serial_++, common_name, std::chrono::seconds(-3600), not_after, sub.state_->key);
  sub.state_->cert = cert;
  Check(X509_set_issuer_name(cert, X509_get_subject_name(state_->cert)) == 1, "issuer");
  AddExtension(cert, state_->cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, state_->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  AddExtension(cert, state_->cert, NID_authority_key_identifier, "keyid");
  Check(X509_sign(cert, state_->key, EVP_sha256()) > 0, "sign intermediate");
  sub.cert_pem_ = CertPem(cert);
  return sub;
}

std::string TestCa::Crl(const std::vector<int64_t>& serials,
                        std::chrono::seconds next_update) const {
  X509_CRL* crl = X509_CRL_new();
  Check(X509_CRL_set_version(crl, 1) == 1, "crl version");
  Check(X509_CRL_set_issuer_name(crl, X509_get_subject_name(state_->cert)) == 1, "crl issuer");
  ASN1_TIME* now = X509_gmtime_adj(nullptr, -60);
  ASN1_TIME* next = X509_gmtime_adj(nullptr, static_cast<long>(next_update.count()));
  X509_CRL_set1_lastUpdate(crl, now);
  X509_CRL_set1_nextUpdate(crl, next);
  for (int64_t serial : serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set_int64(number, serial);
    X509_REVOKED_set_serialNumber(revoked, number);
    X509_REVOKED_set_revocationDate(revoked, now);
    X509_CRL_add0_revoked(crl, revoked);
    ASN1_INTEGER_free(number);
  }
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  X509_CRL_sort(crl);
  Check(X509_CRL_sign(crl, state_->key, EVP_sha256()) > 0, "sign crl");
  std::string pem = Pem([crl](BIO* bio) { return PEM_write_bio_X509_CRL(bio, crl); }, "crl pem");
  X509_CRL_free(crl);
  return pem;
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  Check(static_cast<bool>(out), "write file");
}

}  // namespace bulwark::testing
