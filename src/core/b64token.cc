#include "core/b64token.h"

#include <array>
#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bulwark {

namespace {

constexpr bool IsB64TokenByte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

constexpr std::array<bool, 256> kB64TokenByte = [] {
  std::array<bool, 256> table{};
  for (unsigned c = 0; c < 256; ++c) table[c] = IsB64TokenByte(static_cast<unsigned char>(c));
  return table;
}();

bool AllB64TokenBytes(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (!kB64TokenByte[static_cast<unsigned char>(p[i])]) return false;
  }
  return true;
}

#if defined(__SSE2__)
// Whether all sixteen bytes of `v` are b64token characters. The characters
// are three ranges, "-" to "9" (which holds "." and "/"), "A" to "Z" and "a"
// to "z", and "+", "_" and "~"; compared as signed bytes, those of 0x80 and
// above are negative and fall in none.
[[gnu::always_inline]] inline bool AllB64TokenBytes(__m128i v) {
  const auto within = [v](char low, char high) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(low - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(high + 1))));
  };
  const auto is = [v](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  const __m128i ranges =
      _mm_or_si128(within('-', '9'), _mm_or_si128(within('A', 'Z'), within('a', 'z')));
  const __m128i singles = _mm_or_si128(is('+'), _mm_or_si128(is('_'), is('~')));
  return _mm_movemask_epi8(_mm_or_si128(ranges, singles)) == 0xffff;
}
#endif

}  // namespace

bool IsB64Token(std::string_view s) {
  const size_t body = s.find_last_not_of('=');
  if (body == std::string_view::npos) return false;
  const char* p = s.data();
  const size_t n = body + 1;
#if defined(__SSE2__)
  if (n >= 16) {
    // The last sixteen overlap those before them.
    for (size_t i = 0; i + 16 < n; i += 16) {
      if (!AllB64TokenBytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)))) return false;
    }
    return AllB64TokenBytes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  }
#endif
  return AllB64TokenBytes(p, n);
}

}  // namespace bulwark
