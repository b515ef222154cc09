// TLS for HttpServer listeners: what to configure and what a handler learns
// of a connection. Boost- and OpenSSL-free; the machinery is in
// net/tls_context.h.
//
// Defaults are the safe ones: TLS 1.3 only (1.2 is opt-in, then with ECDHE
// and AEAD suites only), no renegotiation, no compression, ALPN http/1.1,
// and key exchange on elliptic curves alone (X25519, then P-256): a
// finite-field group would let any client make each handshake cost the
// server a hundred times more (D(HE)at, CVE-2002-20001).
// With client_auth kOptional or kRequired, a certificate the client presents
// must chain to client_ca_file (and, with crl_file, not be revoked), or the
// handshake fails: an invalid certificate is never downgraded to "none".
//
// Certificate, key, CA and CRL files are watched (every reload_interval, by
// the identity and times of the file each path resolves to, so a Kubernetes
// `..data` symlink swap counts). A change is loaded whole into a new context
// that new connections use; open connections keep theirs and are not
// dropped. A change that does not load (a key that does not match the
// certificate, a half-written file) is logged and the last good context stays.
#ifndef BULWARK_NET_TLS_H_
#define BULWARK_NET_TLS_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace bulwark::net {

// The key-exchange groups a listener may be given (OpenSSL's names): the
// elliptic curves. Finite-field groups are not among them.
inline constexpr std::string_view kTlsGroups[] = {"X25519", "P-256", "P-384", "P-521", "X448"};

// OK if `groups` names one or more of kTlsGroups, each once; else
// kInvalidArgument saying why (a finite-field group, with the reason it is
// refused).
Status ValidateTlsGroups(const std::vector<std::string>& groups);

enum class ClientAuth {
  kNone,      // no certificate is asked for
  kOptional,  // asked for; a client may send none, but what it sends must verify
  kRequired,  // a verified certificate is required to complete the handshake
};

struct TlsServerOptions {
  std::string cert_file;       // PEM: the leaf first, then its intermediates
  std::string key_file;        // PEM private key matching the leaf
  std::string client_ca_file;  // PEM CA bundle for client certificates
  std::string crl_file;        // optional PEM CRLs: one from every CA of the chain
  // Optional: trust domain -> PEM file of the CAs that alone may issue its
  // SPIFFE IDs. Set, a client certificate with a SPIFFE ID is refused unless
  // its chain ends at a CA of its trust domain's bundle (so one trusted CA
  // cannot mint another trust domain's workloads); the bundles' CAs are
  // trusted as client_ca_file's are.
  std::vector<std::pair<std::string, std::string>> spiffe_bundles;
  ClientAuth client_auth = ClientAuth::kNone;
  bool allow_tls12 = false;  // else TLS 1.3 only
  // The key-exchange groups, in the server's order of preference: names of
  // kTlsGroups.
  std::vector<std::string> groups = {"X25519", "P-256"};
  std::chrono::milliseconds reload_interval{std::chrono::seconds(1)};
};

// What a handler knows of a TLS connection, fixed at the handshake.
struct TlsConnectionInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_128_GCM_SHA256"
  std::string sni;      // the server name the client asked for, "" if none
  // Set only when the client presented a certificate and it verified.
  bool client_verified = false;
  std::string client_subject;  // RFC 2253 distinguished name
  // The SPIFFE ID: the client certificate's one URI SAN, when it is a valid
  // SPIFFE ID (X509-SVID); "" otherwise, also when there are several URIs.
  std::string spiffe_id;
  // SHA-256 of the client certificate's DER (32 raw bytes; base64url of it
  // is the `x5t#S256` of certificate-bound tokens, RFC 8705).
  std::string client_cert_sha256;
  // When the first certificate of the verified chain expires (seconds since
  // the epoch); the connection's identity ends then.
  int64_t client_chain_expiry = INT64_MAX;
  // The listener's client trust (CA bundle and CRL) the chain was verified
  // against: TlsContextSource::TrustGeneration() when the connection began.
  uint64_t client_trust_generation = 0;

  // Whether the verified client certificate no longer stands at `now`
  // (seconds since the epoch) under the listener's client trust `generation`
  // (TlsContextSource::TrustGeneration): a certificate of its chain has
  // expired, a CRL has passed its next update, or the trust has changed.
  // False without a verified client certificate.
  bool ClientIdentityEnded(int64_t now, uint64_t generation) const {
    return client_verified && (now >= client_chain_expiry || generation != client_trust_generation);
  }
};

// True if `id` is a SPIFFE ID by the SPIFFE-ID specification:
// "spiffe://<trust domain>[/<segment>...]" with a lowercase trust domain of
// [a-z0-9.-_], path segments of [A-Za-z0-9.-_] that are neither empty, "."
// nor "..", no trailing slash, query, fragment, port or user info, and at
// most 2048 bytes.
bool IsSpiffeId(std::string_view id);

// The trust domain of a valid SPIFFE ID ("prod.example" of
// "spiffe://prod.example/ns/web"), "" if `id` is not one.
std::string_view SpiffeTrustDomain(std::string_view id);

}  // namespace bulwark::net

#endif  // BULWARK_NET_TLS_H_
