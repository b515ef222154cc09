// A throwaway PKI for tests: a CA that issues server and client
// certificates (with DNS, IP and URI SANs, chosen validity and serials) and
// CRLs, all as PEM text. Keys are fresh P-256 keys. Test code only.
#ifndef BULWARK_TESTS_TESTING_TEST_PKI_H_
#define BULWARK_TESTS_TESTING_TEST_PKI_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bulwark::testing {

struct CertSpec {
  std::string common_name = "test";
  std::vector<std::string> dns;   // DNS SANs
  std::vector<std::string> ips;   // IP SANs ("127.0.0.1")
  std::vector<std::string> uris;  // URI SANs ("spiffe://example.org/web")
  bool server = false;            // extendedKeyUsage serverAuth
  bool client = false;            // extendedKeyUsage clientAuth
  bool ca = false;                // basicConstraints cA true (not used to sign here)
  bool signs = false;             // keyUsage keyCertSign and cRLSign besides digitalSignature
  std::string key_usage;          // the keyUsage extension instead ("critical,keyAgreement")
  // Validity relative to now.
  std::chrono::seconds not_before{-3600};
  std::chrono::seconds not_after{86400};
};

struct IssuedCert {
  std::string cert_pem;
  std::string key_pem;
  int64_t serial = 0;
};

class TestCa {
 public:
  explicit TestCa(const std::string& common_name);
  ~TestCa();
  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;

  const std::string& cert_pem() const { return cert_pem_; }

  // Aborts the test binary on an OpenSSL failure (a broken test setup).
  IssuedCert Issue(const CertSpec& spec);
  // A CRL signed by this CA revoking `serials`, whose next update is due
  // `next_update` from now.
  std::string Crl(const std::vector<int64_t>& serials,
                  std::chrono::seconds next_update = std::chrono::hours(24)) const;
  // An intermediate CA whose certificate this one signs, valid from an hour
  // ago to `not_after` from now.
  TestCa Subordinate(const std::string& common_name, std::chrono::seconds not_after);

 private:
  TestCa();
  struct State;
  std::unique_ptr<State> state_;
  std::string cert_pem_;
  int64_t next_serial_ = 100;
};

// Writes `text` to `path` (replacing it); aborts on failure.
void WriteFile(const std::string& path, const std::string& text);

}  // namespace bulwark::testing

#endif  // BULWARK_TESTS_TESTING_TEST_PKI_H_
