// Loads Wycheproof vector files from the shared test data directory.
#ifndef BULWARK_TESTS_CRYPTO_WYCHEPROOF_H_
#define BULWARK_TESTS_CRYPTO_WYCHEPROOF_H_

#include <boost/json.hpp>
#include <string>

namespace bulwark::testing {

// The shared test data directory (BULWARK_TESTDATA env var, else the build-time default).
std::string TestDataDir();

// Parses wycheproof/<name>; fails the calling test if it cannot.
boost::json::object LoadWycheproof(const std::string& name);

// Hex to bytes.
std::string Unhex(std::string_view hex);

// An ASN.1 integer's big-endian bytes (as Wycheproof's EC coordinates are
// written) at exactly `width` bytes: sign bytes stripped, zeros prepended.
std::string FixedWidth(std::string v, size_t width);

}  // namespace bulwark::testing

#endif  // BULWARK_TESTS_CRYPTO_WYCHEPROOF_H_
