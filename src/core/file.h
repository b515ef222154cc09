// Reading a whole file, for the files a config names (keys, JWKS, policies).
#ifndef BULWARK_CORE_FILE_H_
#define BULWARK_CORE_FILE_H_

#include <string>

#include "core/status.h"

namespace bulwark {

// The bytes of `path`; kNotFound "cannot read '<path>'" if it cannot be
// opened.
Result<std::string> ReadFileToString(const std::string& path);

// The same, for a file that holds a secret (a private key): read straight
// into the string returned, which is sized to the file first, so that no
// buffer of a stream or a grown string is freed holding a copy. The caller
// wipes the string when done (crypto::WipeString).
Result<std::string> ReadSecretFile(const std::string& path);

}  // namespace bulwark

#endif  // BULWARK_CORE_FILE_H_
