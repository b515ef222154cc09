// UTF-8 well-formedness, for input that must be text.
#ifndef BULWARK_CORE_UTF8_H_
#define BULWARK_CORE_UTF8_H_

#include <cstddef>
#include <string_view>

namespace bulwark {

// RFC 3629: well-formed UTF-8, without overlong forms, surrogates, or code
// points above U+10FFFF.
bool IsValidUtf8(std::string_view s);

// The offset of the first byte that is not part of well-formed UTF-8, or
// s.size() if there is none.
size_t FirstInvalidUtf8(std::string_view s);

}  // namespace bulwark

#endif  // BULWARK_CORE_UTF8_H_
