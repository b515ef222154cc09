#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "core/log.h"

namespace bulwark::net {

namespace {

bool IsTrustDomainChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}
bool IsPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}
constexpr std::string_view kSpiffeScheme = "spiffe://";
constexpr size_t kMaxSpiffeIdBytes = 2048;

}  // namespace

bool IsSpiffeId(std::string_view id) {
  if (id.size() > kMaxSpiffeIdBytes || !id.starts_with(kSpiffeScheme)) return false;
  std::string_view rest = id.substr(kSpiffeScheme.size());
  const size_t slash = rest.find('/');
  const std::string_view domain = rest.substr(0, slash);
  if (domain.empty()) return false;
  for (char c : domain) {
    if (!IsTrustDomainChar(c)) return false;
  }
  if (slash == std::string_view::npos) return true;
  std::string_view path = rest.substr(slash);  // "/a/b"
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const size_t end = path.find('/');
    const std::string_view segment = path.substr(0, end);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (char c : segment) {
      if (!IsPathChar(c)) return false;
    }
    path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  }
  return true;
}

std::string_view SpiffeTrustDomain(std::string_view id) {
  if (!IsSpiffeId(id)) return {};
  std::string_view rest = id.substr(kSpiffeScheme.size());
  return rest.substr(0, rest.find('/'));
}

Status ValidateTlsGroups(const std::vector<std::string>& groups) {
  std::string names;
  for (std::string_view group : kTlsGroups)
    names += (names.empty() ? "" : ", ") + std::string(group);
  if (groups.empty()) return InvalidArgumentError("must list one or more of " + names);
  for (const std::string& group : groups) {
    if (group.starts_with("ffdhe")) {
      return InvalidArgumentError(
          group +
          " is a finite-field group, which any client could use to make each handshake "
          "cost the server a hundred times more (D(HE)at); use one of " +
          names);
    }
    if (std::ranges::find(kTlsGroups, group) == std::end(kTlsGroups)) {
      return InvalidArgumentError(group + " is not one of " + names);
    }
    if (std::ranges::count(groups, group) > 1) {
      return InvalidArgumentError(group + " is named twice");
    }
  }
  return OkStatus();
}

namespace internal {

namespace {

namespace ssl = boost::asio::ssl;

// ECDHE with AEAD only, for TLS 1.2 when it is allowed; TLS 1.3 suites are
// OpenSSL's defaults, all AEAD.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// The protocols ALPN may settle on, in the server's order of preference:
// what nginx takes, less HTTP/0.9.
constexpr unsigned char kAlpnHttp1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1',
                                        8, 'h', 't', 't', 'p', '/', '1', '.', '0'};
constexpr unsigned char kSessionIdContext[] = {'b', 'u', 'l', 'w', 'a', 'r', 'k'};

// The reason of OpenSSL's last error, and the queue cleared.
std::string LastSslError() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason != nullptr ? reason : "unknown error";
}

Status FileError(std::string_view what, const std::string& file) {
  std::string reason = LastSslError();
  return InvalidArgumentError(std::string(what) + " " + file + ": " + reason);
}

Status RequireFile(std::string_view what, const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    return NotFoundError(std::string(what) + " " + file + " does not exist or cannot be read");
  }
  return OkStatus();
}

// Never prompt for a pass phrase on a terminal: an encrypted key fails to load.
int NoPassphrase(char*, int, int, void*) { return 0; }

// A client that offers protocols but neither HTTP/1.1 nor HTTP/1.0 (one that
// speaks only h2, say) is refused with the no_application_protocol alert, as
// RFC 7301 section 3.2 asks, rather than served a protocol it did not ask
// for.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp1, sizeof(kAlpnHttp1), in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

// Whether `cert` is within its validity now (not expired, not yet to come).
bool ValidNow(X509* cert) {
  return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 &&
         X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

// A resumed session brings back the client certificate verified when it
// began, and OpenSSL renews the ticket on each use, so without these a
// certificate of the chain that has since expired would keep the client's
// identity for as long as it resumed within a ticket's lifetime. A ticket
// carries when the first certificate of the verified chain expires (the
// leaf's, an intermediate's or the root's); a ticket past that, or whose
// leaf is not valid now, is not taken: the client makes a full handshake
// and presents a chain that verifies now, or none. (A reload of the files,
// a CRL's included, makes a new context with new ticket keys, so no ticket
// from before it is taken either.)
constexpr size_t kExpiryBytes = 8;  // seconds since the epoch, big-endian

// `time` in seconds since the epoch; nullopt if absent or unreadable.
std::optional<int64_t> EpochSeconds(const ASN1_TIME* time) {
  struct tm when {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &when) != 1) return std::nullopt;
  return timegm(&when);
}

// When the first certificate of the chain `ssl` verified expires (seconds
// since the epoch); nullopt without a chain, or for a time OpenSSL cannot
// read.
std::optional<int64_t> VerifiedChainExpiry(SSL* ssl) {
  STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl);
  if (chain == nullptr || sk_X509_num(chain) == 0) return std::nullopt;
  int64_t earliest = INT64_MAX;
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    const std::optional<int64_t> expiry = EpochSeconds(X509_get0_notAfter(sk_X509_value(chain, i)));
    if (!expiry) return std::nullopt;
    earliest = std::min(earliest, *expiry);
  }
  return earliest;
}

// The chain expiry `session`'s ticket carries; nullopt if none.
std::optional<int64_t> TicketChainExpiry(SSL_SESSION* session) {
  void* data = nullptr;
  size_t size = 0;
  if (SSL_SESSION_get0_ticket_appdata(session, &data, &size) != 1) return std::nullopt;
  if (size != kExpiryBytes) return std::nullopt;
  uint64_t expiry = 0;
  for (size_t i = 0; i < kExpiryBytes; ++i) {
    expiry = (expiry << 8) | static_cast<const unsigned char*>(data)[i];
  }
  return static_cast<int64_t>(expiry);
}

int TellChainExpiry(SSL* ssl, void*) {
  SSL_SESSION* session = SSL_get_session(ssl);
  if (session == nullptr) return 1;
  void* kept = nullptr;
  size_t kept_size = 0;
  // A resumed session's ticket goes on with the expiry of the chain first
  // verified, which it carries already.
  if (SSL_SESSION_get0_ticket_appdata(session, &kept, &kept_size) == 1 && kept_size != 0) {
    return 1;
  }
  if (SSL_get0_verified_chain(ssl) == nullptr) return 1;  // no client certificate
  const std::optional<int64_t> expiry = VerifiedChainExpiry(ssl);
  if (!expiry) return 0;
  const int64_t earliest = *expiry;
  unsigned char bytes[kExpiryBytes];
  for (size_t i = 0; i < kExpiryBytes; ++i) {
    bytes[i] = static_cast<unsigned char>(static_cast<uint64_t>(earliest) >> (8 * (7 - i)));
  }
  return SSL_SESSION_set1_ticket_appdata(session, bytes, sizeof(bytes));
}

// Whether the chain whose expiry `session`'s ticket carries is still
// within it; false for a ticket that carries none.
bool ChainValidNow(SSL_SESSION* session) {
  const std::optional<int64_t> expiry = TicketChainExpiry(session);
  return expiry && *expiry > static_cast<int64_t>(std::time(nullptr));
}

// When the first CRL of the context `ssl` was made with passes its next
// update (seconds since the epoch); INT64_MAX without CRLs, and 0 for one
// without a next update or whose time OpenSSL cannot read.
int64_t EarliestCrlNextUpdate(SSL* ssl) {
  X509_STORE* store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  int64_t earliest = INT64_MAX;
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509_CRL* crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objects, i));
    if (crl == nullptr) continue;  // a CA certificate
    const std::optional<int64_t> next = EpochSeconds(X509_CRL_get0_nextUpdate(crl));
    if (!next) return 0;
    earliest = std::min(earliest, *next);
  }
  return earliest;
}

// Whether every CRL of the context `ssl` was made with is within its
// nextUpdate now. A full handshake refuses a chain whose CRL has passed
// it; a resumed session, which is verified against nothing, must not keep
// its client's identity past that either.
bool CrlsCurrent(SSL* ssl) {
  return EarliestCrlNextUpdate(ssl) > static_cast<int64_t>(std::time(nullptr));
}

SSL_TICKET_RETURN TakeTicket(SSL* ssl, SSL_SESSION* session, const unsigned char*, size_t,
                             SSL_TICKET_STATUS status, void*) {
  switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW: {
      X509* peer = SSL_SESSION_get0_peer(session);
      if (peer != nullptr && (!ValidNow(peer) || !ChainValidNow(session) || !CrlsCurrent(ssl))) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;
      }
      return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
    }
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
      return SSL_TICKET_RETURN_IGNORE_RENEW;
    default:
      return SSL_TICKET_RETURN_ABORT;
  }
}

// Whether `cert` may carry a workload's SPIFFE ID: an X509-SVID's leaf is
// no CA (basicConstraints cA false) and may not sign certificates or CRLs
// (X509-SVID section 5.2). A signing certificate of the trust domain (an
// intermediate of SPIRE's, say) is no workload.
bool IsSvidLeaf(X509* cert) {
  const uint32_t flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_CA) != 0) return false;
  if ((flags & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(cert) & (KU_KEY_CERT_SIGN | KU_CRL_SIGN)) != 0) {
    return false;
  }
  return true;
}

// After a loop of PEM reads that stopped at the first that failed, having
// read `read` blocks: whether it stopped at the end of the file (no further
// PEM block) rather than at a block cut short or malformed. Clears the
// error queue.
bool PemReadEndedCleanly(int read) {
  const unsigned long end = ERR_peek_last_error();
  ERR_clear_error();
  return read > 0 && ERR_GET_LIB(end) == ERR_LIB_PEM && ERR_GET_REASON(end) == PEM_R_NO_START_LINE;
}

// The SPIFFE ID of `cert` if it is an X509-SVID leaf: exactly one URI SAN,
// a valid SPIFFE ID with a path (the bare trust domain names no workload),
// on a certificate that cannot sign; nullopt otherwise.
std::optional<std::string> SvidIdOf(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return std::nullopt;
  std::string uri;
  int uris = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_URI) continue;
    ++uris;
    const ASN1_IA5STRING* value = name->d.uniformResourceIdentifier;
    uri.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
               static_cast<size_t>(ASN1_STRING_length(value)));
  }
  GENERAL_NAMES_free(names);
  if (uris == 1 && IsSpiffeId(uri) && uri.find('/', kSpiffeScheme.size()) != std::string::npos &&
      IsSvidLeaf(cert)) {
    return uri;
  }
  return std::nullopt;
}

// The CAs that alone may issue each trust domain's SPIFFE IDs
// (TlsServerOptions::spiffe_bundles), kept with the context they verify for.
struct SpiffeBundles {
  SpiffeBundles() = default;
  SpiffeBundles(const SpiffeBundles&) = delete;
  SpiffeBundles& operator=(const SpiffeBundles&) = delete;
  ~SpiffeBundles() {
    for (auto& [domain, cas] : by_domain) {
      for (X509* ca : cas) X509_free(ca);
    }
    for (X509* ca : general) X509_free(ca);
  }
  std::vector<std::pair<std::string, std::vector<X509*>>> by_domain;
  std::vector<X509*> general;  // client_ca_file's CAs, which may issue what has no SPIFFE ID
};

int SpiffeBundlesIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr, [](void*, void* bundles, CRYPTO_EX_DATA*, int, long, void*) {
        delete static_cast<SpiffeBundles*>(bundles);
      });
  return index;
}

// Whether the verified chain in `store` passes through one of `cas` (above
// its leaf).
bool ChainPassesThrough(X509_STORE_CTX* store, const std::vector<X509*>& cas) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(store);
  for (int i = 1; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* issuer = sk_X509_value(chain, i);
    for (X509* ca : cas) {
      if (X509_cmp(issuer, ca) == 0) return true;
    }
  }
  return false;
}

// With bundles set: a leaf with SPIFFE ID `id` must come through a CA of its
// trust domain's bundle; one without (`id` nullopt), through a CA of
// client_ca_file, since a bundle's CAs are trusted for their domain's IDs
// alone.
bool IssuedWithinTrustDomain(X509_STORE_CTX* store, const SpiffeBundles& bundles,
                             const std::optional<std::string>& id) {
  if (!id) return ChainPassesThrough(store, bundles.general);
  const std::string_view domain = SpiffeTrustDomain(*id);
  const auto entry = std::ranges::find(bundles.by_domain, domain,
                                       [](const auto& e) { return std::string_view(e.first); });
  if (entry == bundles.by_domain.end()) return false;  // a trust domain with no bundle
  return ChainPassesThrough(store, entry->second);
}

// OpenSSL's check of a client certificate's purpose lets a leaf whose key
// usage is key agreement alone through, yet the client signs the
// handshake with it (TLS 1.3's CertificateVerify): a leaf that states its
// key usage must state digitalSignature (RFC 5280 section 4.2.1.3; X509-SVID
// section 4.3).
//
// And with SPIFFE bundles set, a leaf's SPIFFE ID must come from a CA of its
// own trust domain's bundle, as Envoy's SPIFFE validator and SPIRE have it:
// no trust domain's CA mints another's workloads.
int VerifyClientLeaf(int preverified, X509_STORE_CTX* store) {
  if (preverified != 1 || X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
  X509* leaf = X509_STORE_CTX_get_current_cert(store);
  if (leaf == nullptr) return 0;
  if ((X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
      (X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE) == 0) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE);
    return 0;
  }
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* bundles = ssl == nullptr ? nullptr
                                       : static_cast<const SpiffeBundles*>(SSL_CTX_get_ex_data(
                                             SSL_get_SSL_CTX(ssl), SpiffeBundlesIndex()));
  if (bundles != nullptr) {
    if (!IssuedWithinTrustDomain(store, *bundles, SvidIdOf(leaf))) {
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_UNTRUSTED);
      return 0;
    }
  }
  return 1;
}

// Loads `options.spiffe_bundles` into `ctx`: each bundle's CAs trusted, and
// kept by trust domain for VerifyClientLeaf.
Status LoadSpiffeBundles(SSL_CTX* ctx, const TlsServerOptions& options) {
  auto bundles = std::make_unique<SpiffeBundles>();
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  // Reads every certificate of `file` into `cas`.
  const auto read_cas = [](const std::string& file, std::vector<X509*>& cas) -> Status {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), BIO_free);
    if (!bio) return FileError("cannot read CA file", file);
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
      cas.push_back(ca);
    }
    if (!PemReadEndedCleanly(static_cast<int>(cas.size()))) {
      return InvalidArgumentError("no CA certificate, or a malformed one, in " + file);
    }
    return OkStatus();
  };
  BULWARK_RETURN_IF_ERROR(read_cas(options.client_ca_file, bundles->general));
  for (const auto& [domain, file] : options.spiffe_bundles) {
    BULWARK_RETURN_IF_ERROR(RequireFile("SPIFFE bundle", file));
    std::vector<X509*>& cas = bundles->by_domain.emplace_back(domain, std::vector<X509*>{}).second;
    BULWARK_RETURN_IF_ERROR(read_cas(file, cas));
    for (X509* ca : cas) {
      X509_STORE_add_cert(store, ca);  // a CA already trusted stays as it was
      SSL_CTX_add_client_CA(ctx, ca);  // named to clients, which choose a certificate by it
    }
  }
  ERR_clear_error();
  if (SSL_CTX_set_ex_data(ctx, SpiffeBundlesIndex(), bundles.get()) != 1) {
    return InternalError("cannot keep the SPIFFE bundles");
  }
  bundles.release();  // the context frees it (SpiffeBundlesIndex)
  return OkStatus();
}

Status LoadCrls(SSL_CTX* ctx, const std::string& file) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), BIO_free);
  if (!bio) return FileError("cannot read CRL file", file);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, NoPassphrase, nullptr)) {
    const int added = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    if (added != 1) return FileError("cannot use CRL from", file);
    ++loaded;
  }
  // A block cut short (a file half written) fails the load, so a reload
  // keeps the CRLs it had rather than take the first few of a file.
  const bool clean_end = PemReadEndedCleanly(loaded);
  if (loaded == 0) return InvalidArgumentError("no CRL in " + file);
  if (!clean_end) return InvalidArgumentError("malformed CRL in " + file);
  // Every certificate of the chain, intermediates included: a revoked
  // intermediate must not keep issuing usable client certificates. So the
  // file needs a current CRL from every CA in the chain (fail closed).
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  return OkStatus();
}

// The key-exchange groups, in order of preference (which, for a listener,
// SSL_OP_CIPHER_SERVER_PREFERENCE makes OpenSSL follow).
Status SetGroups(SSL_CTX* ctx, const std::vector<std::string>& groups) {
  BULWARK_RETURN_IF_ERROR(ValidateTlsGroups(groups));
  std::string list;
  for (const std::string& group : groups) list += (list.empty() ? "" : ":") + group;
  if (SSL_CTX_set1_groups_list(ctx, list.c_str()) != 1) {
    return InternalError("cannot set key-exchange groups: " + LastSslError());
  }
  return OkStatus();
}

}  // namespace

std::string FilesSignature(const std::vector<std::string>& files) {
  std::string signature;
  for (const std::string& file : files) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {  // follows symlinks: a swapped target differs
      signature += "missing;";
      continue;
    }
    signature += std::to_string(st.st_dev) + ':' + std::to_string(st.st_ino) + ':' +
                 std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
                 std::to_string(st.st_mtim.tv_nsec) + ':' + std::to_string(st.st_ctim.tv_sec) +
                 '.' + std::to_string(st.st_ctim.tv_nsec) + ';';
  }
  return signature;
}

Result<std::shared_ptr<ssl::context>> BuildClientContext(const std::string& ca_file,
                                                         const std::string& cert_file,
                                                         const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // A TLS 1.2 service asking to renegotiate is refused (as Envoy's upstream
  // TLS does by default): a renegotiation would have a write wait to read
  // beside the connection's own read (net/tls_socket.h).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // What the listeners take of TLS 1.2, no less: no static RSA key
  // exchange, no CBC.
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Err(InternalError("cannot set TLS 1.2 cipher list: " + LastSslError()));
  }
  // What Bulwark offers a service (and a JWKS host) to agree a key on: every
  // curve a listener may take, X25519 first, and no finite-field group, so
  // that no server can make a connection cost a hundred handshakes.
  BULWARK_RETURN_IF_ERROR(
      SetGroups(ctx, std::vector<std::string>(std::begin(kTlsGroups), std::end(kTlsGroups))));
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(ca_file, ec);
  }
  if (ec) {
    ERR_clear_error();
    return Err(InvalidArgumentError("cannot load CA bundle '" + ca_file + "'"));
  }
  if (cert_file.empty() != key_file.empty()) {
    return Err(InvalidArgumentError("a client certificate needs both cert_file and key_file"));
  }
  if (!cert_file.empty()) {
    context->use_certificate_chain_file(cert_file, ec);
    if (ec) {
      ERR_clear_error();
      return Err(InvalidArgumentError("cannot load certificate '" + cert_file + "'"));
    }
    context->use_private_key_file(key_file, ssl::context::pem, ec);
    if (ec || SSL_CTX_check_private_key(ctx) != 1) {
      ERR_clear_error();
      return Err(InvalidArgumentError("cannot use key '" + key_file + "' with its certificate"));
    }
  }
  context->set_verify_mode(ssl::verify_peer);
  return context;
}

Result<std::shared_ptr<ssl::context>> BuildServerContext(const TlsServerOptions& options) {
  BULWARK_RETURN_IF_ERROR(RequireFile("certificate file", options.cert_file));
  BULWARK_RETURN_IF_ERROR(RequireFile("key file", options.key_file));
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, options.allow_tls12 ? TLS1_2_VERSION : TLS1_3_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Err(InternalError("cannot set TLS 1.2 cipher list: " + LastSslError()));
  }
  BULWARK_RETURN_IF_ERROR(SetGroups(ctx, options.groups));
  SSL_CTX_set_default_passwd_cb(ctx, NoPassphrase);
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext));
  // Sessions resume from tickets only, each looked at by TakeTicket (and
  // told its chain's expiry by TellChainExpiry): TLS
  // 1.2's resumption by session ID from the server's cache would pass it by.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_session_ticket_cb(ctx, TellChainExpiry, TakeTicket, nullptr);

  if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
    return Err(FileError("cannot load certificate chain from", options.cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return Err(FileError("cannot load private key from", options.key_file));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return Err(FileError("private key does not match the certificate in", options.cert_file));
  }

  if (options.client_auth != ClientAuth::kNone) {
    if (options.client_ca_file.empty()) {
      return Err(InvalidArgumentError("client certificates need a client CA file"));
    }
    BULWARK_RETURN_IF_ERROR(RequireFile("client CA file", options.client_ca_file));
    if (SSL_CTX_load_verify_locations(ctx, options.client_ca_file.c_str(), nullptr) != 1) {
      return Err(FileError("cannot load client CA bundle", options.client_ca_file));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.client_ca_file.c_str());
    if (names == nullptr) return Err(FileError("no CA certificate in", options.client_ca_file));
    SSL_CTX_set_client_CA_list(ctx, names);
    if (!options.crl_file.empty()) {
      BULWARK_RETURN_IF_ERROR(RequireFile("CRL file", options.crl_file));
      BULWARK_RETURN_IF_ERROR(LoadCrls(ctx, options.crl_file));
    }
    if (!options.spiffe_bundles.empty()) {
      BULWARK_RETURN_IF_ERROR(LoadSpiffeBundles(ctx, options));
    }
    int mode = SSL_VERIFY_PEER;
    if (options.client_auth == ClientAuth::kRequired) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, VerifyClientLeaf);
  }
  ERR_clear_error();
  return context;
}

TlsContextSource::TlsContextSource(TlsServerOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<TlsContextSource>> TlsContextSource::Create(TlsServerOptions options) {
  if (options.reload_interval.count() <= 0) {
    return Err(InvalidArgumentError("TLS reload interval must be positive"));
  }
  std::unique_ptr<TlsContextSource> source(new TlsContextSource(std::move(options)));
  source->loaded_signature_ = FilesSignature(source->WatchedFiles());
  source->trust_signature_ = FilesSignature(source->TrustFiles());
  BULWARK_ASSIGN_OR_RETURN(source->current_, BuildServerContext(source->options_));
  source->watcher_ = std::thread([s = source.get()] { s->Watch(); });
  return source;
}

TlsContextSource::~TlsContextSource() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

std::shared_ptr<ssl::context> TlsContextSource::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

std::pair<std::shared_ptr<ssl::context>, uint64_t> TlsContextSource::CurrentWithTrust() const {
  std::lock_guard<std::mutex> lock(mu_);  // the two change together, under it
  return {current_, trust_generation_.load(std::memory_order_relaxed)};
}

std::vector<std::string> TlsContextSource::TrustFiles() const {
  std::vector<std::string> files;
  if (options_.client_auth != ClientAuth::kNone) {
    files.push_back(options_.client_ca_file);
    if (!options_.crl_file.empty()) files.push_back(options_.crl_file);
    for (const auto& [domain, file] : options_.spiffe_bundles) files.push_back(file);
  }
  return files;
}

std::vector<std::string> TlsContextSource::WatchedFiles() const {
  std::vector<std::string> files = {options_.cert_file, options_.key_file};
  for (std::string& file : TrustFiles()) files.push_back(std::move(file));
  return files;
}

bool TlsContextSource::ReloadIfChanged() {
  const std::string signature = FilesSignature(WatchedFiles());
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (signature == loaded_signature_) return false;
    loaded_signature_ = signature;  // a load that fails is not retried until the files change again
  }
  // Taken before the load: files that change meanwhile differ from it, and
  // the next check loads them again.
  std::string trust_signature = FilesSignature(TrustFiles());
  auto context = BuildServerContext(options_);
  if (!context) {
    log::Warn("net.tls.reload_failed",
              {{"error", context.error().message()}, {"kept", "previous certificate"}});
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(*context);
    if (trust_signature != trust_signature_) {
      // Connections verified against the old CA bundle or CRL hold their
      // identity no longer (HttpConnection asks them to connect again).
      trust_signature_ = std::move(trust_signature);
      trust_generation_.fetch_add(1, std::memory_order_release);
    }
  }
  log::Info("net.tls.reloaded", {{"cert_file", options_.cert_file}});
  return true;
}

void TlsContextSource::Watch() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, options_.reload_interval, [this] { return stop_; });
    if (stop_) break;
    lock.unlock();
    ReloadIfChanged();
    lock.lock();
  }
}

bool ExpectPeerName(SSL* ssl, const std::string& name) {
  if (name.empty()) return false;
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (!ec) {
    // As a certificate holds it: without an IPv6 zone, which Asio takes.
    const std::string unzoned = name.substr(0, name.find('%'));
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), unzoned.c_str()) == 1;
  }
  // The name must be among the certificate's DNS names: a certificate
  // without any is not matched by its subject's CN (RFC 9525 section
  // 6.3), so no SAN-less certificate of the same CA passes for the name.
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
  return SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 && SSL_set1_host(ssl, name.c_str()) == 1;
}

void DescribeTlsConnection(SSL* ssl, TlsConnectionInfo& info) {
  info.version = SSL_get_version(ssl);
  if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl)) {
    info.cipher = SSL_CIPHER_get_name(cipher);
  }
  if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) info.sni = sni;
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return;
  // A resumed session's chain was verified when it began, and its ticket
  // says when that chain expires; else the chain verified now does.
  const std::optional<int64_t> expiry = SSL_session_reused(ssl) == 1
                                            ? TicketChainExpiry(SSL_get_session(ssl))
                                            : VerifiedChainExpiry(ssl);
  if (!expiry) return;  // no expiry to hold it to: no identity
  info.client_verified = true;
  // Nor does it outlast the CRLs it was checked against.
  info.client_chain_expiry = std::min(*expiry, EarliestCrlNextUpdate(ssl));

  if (BIO* bio = BIO_new(BIO_s_mem())) {
    if (X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253) >= 0) {
      char* data = nullptr;
      const long size = BIO_get_mem_data(bio, &data);
      if (size > 0) info.client_subject.assign(data, static_cast<size_t>(size));
    }
    BIO_free(bio);
  }

  if (std::optional<std::string> id = SvidIdOf(peer)) info.spiffe_id = std::move(*id);

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (X509_digest(peer, EVP_sha256(), digest, &digest_size) == 1) {
    info.client_cert_sha256.assign(reinterpret_cast<const char*>(digest), digest_size);
  }
  ERR_clear_error();
}

}  // namespace internal

}  // namespace bulwark::net
