// Constant-time comparison for MACs, tokens and other secrets.
#ifndef BULWARK_CRYPTO_CONSTANT_TIME_H_
#define BULWARK_CRYPTO_CONSTANT_TIME_H_

#include <string_view>

namespace bulwark::crypto {

// True if a and b hold the same bytes. The time taken depends only on the
// lengths (which are not treated as secret), never on the contents.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace bulwark::crypto

#endif  // BULWARK_CRYPTO_CONSTANT_TIME_H_
