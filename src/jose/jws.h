// JWS Compact Serialization (RFC 7515): signing and verification.
//
// Verification is strict. Refused, before or instead of any cryptography:
// `alg` "none" or unknown; an `alg` that is not the key's own; header members
// that would let the token choose or fetch its key (`jwk`, `jku`, `x5u`,
// `x5c`); any `crit` (no extension is understood); duplicate member names;
// non-canonical base64url; signatures of the wrong length; tokens larger
// than the limit.
#ifndef BULWARK_JOSE_JWS_H_
#define BULWARK_JOSE_JWS_H_

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

#include "core/status.h"
#include "jose/algorithm.h"
#include "jose/jwk.h"

namespace bulwark::jose {

inline constexpr size_t kDefaultMaxTokenBytes = 16 * 1024;

struct JwsHeader {
  JwsAlgorithm alg = JwsAlgorithm::kES256;
  std::string kid;  // "" if absent
  std::string typ;  // "" if absent
  boost::json::object members;
};

// A compact JWS split and decoded, signature NOT yet checked.
struct ParsedJws {
  std::string_view signing_input;  // "header.payload", points into the token
  std::string_view payload_b64;
  JwsHeader header;
  std::string signature;
};

// Splits and decodes `token` and checks the header rules above.
// kInvalidArgument ("malformed token", "token too large", "unsupported
// header parameter jku", "algorithm not allowed", ...) on failure.
Result<ParsedJws> ParseCompactJws(std::string_view token, size_t max_bytes = kDefaultMaxTokenBytes);

// Checks the signature of a parsed JWS with `key`. Errors:
// kPermissionDenied if the key may not verify this alg (wrong alg, use or
// key_ops), kUnauthenticated "invalid signature".
Status VerifyParsedJws(const ParsedJws& jws, const Jwk& key);

// A JWS whose signature has been verified. Only VerifyCompactJws makes one.
class VerifiedJws {
 public:
  const JwsHeader& header() const { return header_; }
  const std::string& payload() const { return payload_; }

 private:
  friend Result<VerifiedJws> VerifyCompactJws(std::string_view, const Jwk&, size_t);
  friend Result<VerifiedJws> VerifyCompactJws(std::string_view, const Jwks&, size_t);
  VerifiedJws(JwsHeader h, std::string p) : header_(std::move(h)), payload_(std::move(p)) {}
  JwsHeader header_;
  std::string payload_;
};

// Parses and verifies; the payload may be anything.
Result<VerifiedJws> VerifyCompactJws(std::string_view token, const Jwk& key,
                                     size_t max_bytes = kDefaultMaxTokenBytes);

// Verifies a parsed JWS against a key set: the keys with the header's kid
// ("unknown key" if there is none), or, when the header has no kid, every key
// of the header's algorithm. All failures are kUnauthenticated with the
// reason ("unknown key", "algorithm not allowed for key", "invalid signature").
Status VerifyParsedJwsWithKeySet(const ParsedJws& jws, const Jwks& keys);

// Parses and verifies against a key set, as above.
Result<VerifiedJws> VerifyCompactJws(std::string_view token, const Jwks& keys,
                                     size_t max_bytes = kDefaultMaxTokenBytes);

// Signs `payload` with `key` (which must be private and for signatures).
// The header gets "alg" (the key's) and "kid" (if the key has one), plus
// `extra_header` members (which may not override alg or kid).
Result<std::string> SignCompactJws(const Jwk& key, std::string_view payload,
                                   const boost::json::object& extra_header = {});

}  // namespace bulwark::jose

#endif  // BULWARK_JOSE_JWS_H_
