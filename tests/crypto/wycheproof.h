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

}  // namespace bulwark::testing

#endif  // BULWARK_TESTS_CRYPTO_WYCHEPROOF_H_
