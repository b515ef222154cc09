#include "net/request_head.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/b64token.h"
#include "net/request_path.h"

namespace bulwark::net {

namespace {

constexpr size_t kMaxContentLengthDigits = 18;  // stays below 2^63 without overflow checks

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A well-formed HTTP-version other than 1.0 and 1.1 at the end of `line`,
// which Beast would refuse as malformed (400) rather than unsupported (505).
bool HasUnsupportedVersion(std::string_view line) {
  if (line.size() < 9) return false;
  const std::string_view v = line.substr(line.size() - 9);
  if (!v.starts_with(" HTTP/") || !IsDigit(v[6]) || v[7] != '.' || !IsDigit(v[8])) return false;
  return !(v[6] == '1' && (v[8] == '0' || v[8] == '1'));
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// tchar (RFC 9110 section 5.6.2).
constexpr std::array<bool, 256> kTokenChars = [] {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}();

bool IsTokenChar(char c) { return kTokenChars[static_cast<unsigned char>(c)]; }

// Request-target bytes as Beast takes them: visible ASCII and obs-text (what
// the target may hold is for NormalizeRequestTarget to judge).
bool IsTargetChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u != 0x7f;
}

// A Connection-style value: a comma-separated list of tokens (empty elements
// allowed). Notes `close` and `keep-alive`; false if an element is not a token.
bool ScanConnectionList(std::string_view value, bool& close, bool& keep_alive) {
  return !AnyListElement(value, [&](std::string_view element) {
    if (!std::all_of(element.begin(), element.end(), IsTokenChar)) return true;
    if (EqualsIgnoreCase(element, "close")) close = true;
    if (EqualsIgnoreCase(element, "keep-alive")) keep_alive = true;
    return false;
  });
}

// Parses field lines, each ending in CRLF, through the empty line that ends
// `lines`, appending to `fields`. Validates the framing itself (CRLF only, no
// obs-fold), so it serves heads no scanner has seen. Sets `head.keep_alive`
// from the Connection fields and `head.version` (never for HTTP/1.0 with
// Transfer-Encoding). False if malformed.
template <class Fields>
bool ParseFieldLines(std::string_view lines, Fields& fields, MessageHead& head) {
  if (fields.capacity() == 0) fields.reserve(16);  // no regrowth, which moves every string
  bool close = false;
  bool keep_alive = false;
  bool coded = false;  // Transfer-Encoding, which HTTP/1.0 does not have
  for (size_t pos = 0;;) {
    const size_t cr = lines.find('\r', pos);
    if (cr == std::string_view::npos || cr + 1 >= lines.size() || lines[cr + 1] != '\n') {
      return false;
    }
    const std::string_view line = lines.substr(pos, cr - pos);
    pos = cr + 2;
    if (line.empty()) {
      if (pos != lines.size()) return false;
      // Transfer-Encoding in an HTTP/1.0 message is faulty framing: the
      // connection ends with the message (RFC 9112 section 6.1).
      head.keep_alive = head.version == 11 ? !close : keep_alive && !close && !coded;
      return true;
    }
    size_t colon = 0;
    while (colon < line.size() && IsTokenChar(line[colon])) ++colon;
    if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    if (!IsFieldValue(value)) return false;
    TrimOws(value);
    if (EqualsIgnoreCase(name, "connection")) {
      if (!ScanConnectionList(value, close, keep_alive)) return false;
    } else if (EqualsIgnoreCase(name, "proxy-connection")) {
      bool ignored_close = false;
      bool ignored_keep_alive = false;
      if (!ScanConnectionList(value, ignored_close, ignored_keep_alive)) return false;
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      coded = true;
    }
    fields.emplace_back(name, value);
  }
}

}  // namespace

namespace {

// The first N (4 or 8) bytes at `p`, as a number.
template <size_t N>
uint64_t LoadWord(const char* p) {
  std::conditional_t<N == 4, uint32_t, uint64_t> word;
  std::memcpy(&word, p, N);
  return word;
}

// True if words `a` and `b` hold the same bytes but for the case of ASCII
// letters. Identical words (the usual match) and words that differ in more
// than bit 5 of a byte (the usual mismatch) are told in a few instructions;
// otherwise each byte that differs in bit 5 alone must be a letter.
bool EqualsIgnoreCaseWord(uint64_t a, uint64_t b) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  constexpr uint64_t kCase = 0x2020202020202020;
  const uint64_t differ = a ^ b;
  if (differ == 0) return true;
  if ((differ & ~kCase) != 0) return false;
  // Bit 7 of each byte of `letter` marks an ASCII byte of `a` in 'a'..'z'
  // once made lowercase (the additions cannot carry out of a byte, whose
  // bit 7 was cleared); moved down to bit 5, it covers what may differ.
  const uint64_t folded = a | kCase;
  const uint64_t low7 = folded & ~kHigh;
  const uint64_t letter =
      (low7 + kOnes * (0x80 - 'a')) & ~(low7 + kOnes * (0x7f - 'z')) & ~folded & kHigh;
  return (differ & ~(letter >> 2)) == 0;
}

}  // namespace

bool EqualsIgnoreCaseSameSize(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  if (n < 4) {
    for (size_t i = 0; i < n; ++i) {
      if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
    }
    return true;
  }
  if (n < 8) {  // two overlapping words of four bytes
    return EqualsIgnoreCaseWord(LoadWord<4>(a.data()), LoadWord<4>(b.data())) &&
           EqualsIgnoreCaseWord(LoadWord<4>(a.data() + n - 4), LoadWord<4>(b.data() + n - 4));
  }
  // Eight bytes at a time; the last word overlaps the one before it.
  for (size_t i = 0; i + 8 < n; i += 8) {
    if (!EqualsIgnoreCaseWord(LoadWord<8>(a.data() + i), LoadWord<8>(b.data() + i))) return false;
  }
  return EqualsIgnoreCaseWord(LoadWord<8>(a.data() + n - 8), LoadWord<8>(b.data() + n - 8));
}

bool IsToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

namespace {

// A byte a field value may hold (and a quoted-string, but for its `"` and
// `\`): no control character but HTAB, no DEL.
bool IsFieldValueByte(char c) {
  const auto u = static_cast<unsigned char>(c);
  return (u >= 0x20 || u == '\t') && u != 0x7f;
}

}  // namespace

bool IsChunkExtensions(std::string_view s) {
  size_t i = 0;
  const auto skip_bws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  const auto token = [&] {
    const size_t start = i;
    while (i < s.size() && IsTokenChar(s[i])) ++i;
    return i > start;
  };
  for (;;) {
    skip_bws();
    if (i == s.size()) return true;
    if (s[i] != ';') return false;
    ++i;
    skip_bws();
    if (!token()) return false;
    skip_bws();
    if (i == s.size() || s[i] != '=') continue;
    ++i;
    skip_bws();
    if (i < s.size() && s[i] == '"') {
      // quoted-string: qdtext and quoted-pairs, each a field value's byte.
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\') ++i;
        if (i == s.size() || !IsFieldValueByte(s[i])) return false;
      }
      if (i == s.size()) return false;
      ++i;
    } else if (!token()) {
      return false;
    }
  }
}

bool IsFieldValue(std::string_view s) {
  // Every value of every head passes here (a bearer token is hundreds of
  // bytes): sixteen bytes at a time where SSE2 is there, the last sixteen
  // overlapping those before them; a value of 8 to 15 bytes as two
  // overlapping words in one vector.
#if defined(__SSE2__)
  const auto bad = [](__m128i v) {
    const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
    // u < 0x20 as a signed comparison of u ^ 0x80 with 0x20 ^ 0x80.
    const __m128i below = _mm_set1_epi8(static_cast<char>(0x20 ^ 0x80));
    const __m128i control = _mm_andnot_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
                                             _mm_cmplt_epi8(_mm_xor_si128(v, flip), below));
    return _mm_movemask_epi8(_mm_or_si128(control, _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)))) != 0;
  };
  const char* p = s.data();
  const size_t n = s.size();
  if (n >= 16) {
    for (size_t i = 0; i + 16 < n; i += 16) {
      if (bad(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)))) return false;
    }
    return !bad(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + n - 16)));
  }
  if (n >= 8) {
    uint64_t head, tail;
    std::memcpy(&head, p, 8);
    std::memcpy(&tail, p + n - 8, 8);
    return !bad(_mm_set_epi64x(static_cast<int64_t>(tail), static_cast<int64_t>(head)));
  }
#endif
  return std::all_of(s.begin(), s.end(), IsFieldValueByte);
}

std::optional<std::string_view> BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return std::nullopt;
  if (!EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme)) {
    return std::nullopt;
  }
  std::string_view rest = authorization.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (!IsB64Token(rest)) return std::nullopt;
  return rest;
}

bool IsJsonContentType(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return EqualsIgnoreCase(media, "application/json");
}

size_t MaxRequestHeadBytes(const RequestHeadLimits& limits) {
  return limits.max_request_line + 2 + limits.max_header_bytes + 2;
}

RequestHeadScanner::State RequestHeadScanner::Refuse(Refusal r) {
  refusal_ = r;
  state_ = State::kRefused;
  return state_;
}

namespace {

// The first CR, LF or NUL in `s` at or after `i`, or npos: what ends a line
// of a head, or makes it malformed. One pass, sixteen bytes at a time where
// SSE2 is there, the last sixteen overlapping those before them.
size_t FindLineBreakOrNul(std::string_view s, size_t i) {
#if defined(__SSE2__)
  const auto special = [](const char* p) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
                                                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                                       _mm_cmpeq_epi8(v, _mm_setzero_si128()))));
  };
  for (; i + 16 <= s.size(); i += 16) {
    if (const unsigned mask = special(s.data() + i); mask != 0) return i + std::countr_zero(mask);
  }
  if (i < s.size() && s.size() >= 16) {
    const size_t skip = i - (s.size() - 16);  // bytes of the last sixteen already searched
    const unsigned mask = special(s.data() + s.size() - 16) >> skip;
    return mask != 0 ? i + std::countr_zero(mask) : std::string_view::npos;
  }
#endif
  for (; i < s.size(); ++i) {
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return i;
  }
  return std::string_view::npos;
}

}  // namespace

RequestHeadScanner::State RequestHeadScanner::Scan(std::string_view data) {
  if (state_ != State::kNeedMore) return state_;
  for (;;) {
    const size_t at = FindLineBreakOrNul(data, line_start_ + searched_);
    // A line ends at a CRLF. Until its CRLF has arrived (all of it: a CR at
    // the end of `data` is looked at again with what follows), the bytes
    // before it count against the limits first, as if it were still coming,
    // so that the verdict never depends on how the client split its writes.
    const bool whole = at != std::string_view::npos && at + 1 < data.size();
    const size_t end = at == std::string_view::npos ? data.size() : at;
    if (!in_fields_ && end - line_start_ > limits_.max_request_line) {
      return Refuse(Refusal::kUriTooLong);
    }
    // A field line counts with its CRLF, the empty line that ends the head
    // without.
    if (in_fields_ &&
        end - fields_start_ + (end > line_start_ ? 2 : 0) > limits_.max_header_bytes) {
      return Refuse(Refusal::kHeaderFieldsTooLarge);
    }
    if (at == std::string_view::npos || (data[at] == '\r' && !whole)) {
      searched_ = end - line_start_;
      return state_;
    }
    // A bare LF, a bare CR or a NUL.
    if (data[at] != '\r' || data[at + 1] != '\n') return Refuse(Refusal::kBadRequest);
    const std::string_view line = data.substr(line_start_, at - line_start_);
    const size_t next = at + 2;
    if (!in_fields_) {
      if (line.empty()) return Refuse(Refusal::kBadRequest);  // empty line before the request line
      if (HasUnsupportedVersion(line)) return Refuse(Refusal::kVersionNotSupported);
      in_fields_ = true;
      fields_start_ = next;
    } else if (line.empty()) {
      head_size_ = next;
      state_ = State::kComplete;
      return state_;
    } else {
      // obs-fold (RFC 9112 section 5.2), or whitespace before the first field.
      if (line.front() == ' ' || line.front() == '\t') return Refuse(Refusal::kBadRequest);
      if (++field_count_ > limits_.max_header_count) {
        return Refuse(Refusal::kHeaderFieldsTooLarge);
      }
    }
    line_start_ = next;
    searched_ = 0;
  }
}

std::expected<MessageHead, Refusal> ParseRequestHead(std::string_view head, std::string& method,
                                                     std::string& target, HeaderFields& fields) {
  const auto bad = std::unexpected(Refusal::kBadRequest);
  const size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return bad;
  const std::string_view line = head.substr(0, eol);
  size_t i = 0;
  while (i < line.size() && IsTokenChar(line[i])) ++i;
  if (i == 0 || i == line.size() || line[i] != ' ') return bad;
  const size_t target_start = i + 1;
  size_t j = target_start;
  while (j < line.size() && IsTargetChar(line[j])) ++j;
  if (j == target_start || j == line.size() || line[j] != ' ') return bad;
  const std::string_view version = line.substr(j + 1);
  if (version.size() != 8 || !version.starts_with("HTTP/") || !IsDigit(version[5]) ||
      version[6] != '.' || !IsDigit(version[7])) {
    return bad;
  }
  MessageHead parsed{.version = 10 * (version[5] - '0') + (version[7] - '0')};
  method.assign(line.substr(0, i));
  target.assign(line.substr(target_start, j - target_start));
  if (!ParseFieldLines(head.substr(eol + 2), fields, parsed)) return bad;
  return parsed;
}

size_t ResponseHeadSize(std::string_view data) {
  // Through the first LF that ends "\r\n\r\n", looking only at LFs (one
  // search per line would be one call per line). What the LF at `lf` says:
  // the head ends there (its size), it is bare, or neither (0).
  const auto judge = [data](size_t lf) -> size_t {
    if (lf == 0 || data[lf - 1] != '\r') return kBareLineFeed;
    return lf >= 3 && data[lf - 2] == '\n' && data[lf - 3] == '\r' ? lf + 1 : 0;
  };
  size_t i = 0;
#if defined(__SSE2__)
  for (; i + 16 <= data.size(); i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data.data() + i));
    for (auto lfs =
             static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))));
         lfs != 0; lfs &= lfs - 1) {
      if (const size_t size = judge(i + std::countr_zero(lfs)); size != 0) return size;
    }
  }
#endif
  for (; i < data.size(); ++i) {
    if (data[i] != '\n') continue;
    if (const size_t size = judge(i); size != 0) return size;
  }
  return 0;
}

namespace {

template <class Fields>
std::optional<MessageHead> ParseResponseHeadInto(std::string_view head, Fields& fields) {
  const size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  const std::string_view line = head.substr(0, eol);
  // HTTP/1.x SP 3DIGIT SP [reason-phrase]; and, as nginx and HAProxy take
  // it, `HTTP/1.1 200` with no SP after an empty reason (a line no parser
  // reads otherwise).
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || !IsDigit(line[9]) || !IsDigit(line[10]) || !IsDigit(line[11]) ||
      (line.size() > 12 && (line[12] != ' ' || !IsFieldValue(line.substr(13))))) {
    return std::nullopt;
  }
  MessageHead parsed{.version = line[7] == '1' ? 11 : 10,
                     .status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0')};
  // Outside 100-599 a status is invalid (RFC 9110 section 15).
  if (parsed.status < 100 || parsed.status > 599) return std::nullopt;
  if (!ParseFieldLines(head.substr(eol + 2), fields, parsed)) return std::nullopt;
  return parsed;
}

}  // namespace

std::optional<MessageHead> ParseResponseHead(std::string_view head, HeaderFields& fields) {
  return ParseResponseHeadInto(head, fields);
}

std::optional<MessageHead> ParseResponseHead(std::string_view head, FieldViews& fields) {
  fields.clear();
  return ParseResponseHeadInto(head, fields);
}

bool IsHopByHopField(std::string_view name) {
  switch (name.size()) {
    case 2:
      return EqualsIgnoreCase(name, "te");
    case 7:
      return EqualsIgnoreCase(name, "trailer") || EqualsIgnoreCase(name, "upgrade");
    case 10:
      return EqualsIgnoreCase(name, "connection") || EqualsIgnoreCase(name, "keep-alive");
    case 14:
      return EqualsIgnoreCase(name, "content-length");
    case 16:
      return EqualsIgnoreCase(name, "proxy-connection");
    case 17:
      return EqualsIgnoreCase(name, "transfer-encoding");
  }
  return false;
}

std::optional<std::string_view> FieldLineValue(std::string_view lines, std::string_view name) {
  // Run on every proxied answer: a line is looked at only if its colon is
  // where `name`'s would be.
  const size_t n = name.size();
  while (lines.size() > n) {
    const size_t end = FindLineBreakOrNul(lines, 0);  // the line's CR
    if (lines[n] == ':' && EqualsIgnoreCaseSameSize(lines.substr(0, n), name)) {
      std::string_view value =
          lines.substr(n + 1, end == std::string_view::npos ? end : end - n - 1);
      TrimOws(value);
      return value;
    }
    if (end == std::string_view::npos) return std::nullopt;
    lines.remove_prefix(std::min(end + 2, lines.size()));
  }
  return std::nullopt;
}

bool HasFieldLine(std::string_view lines, std::string_view name) {
  return FieldLineValue(lines, name).has_value();
}

void EraseFieldLines(std::string& lines, std::string_view name) {
  const size_t n = name.size();
  size_t at = 0;
  while (at < lines.size()) {
    size_t end = lines.find("\r\n", at);
    end = end == std::string::npos ? lines.size() : end + 2;
    const std::string_view line = std::string_view(lines).substr(at, end - at);
    if (line.size() > n && line[n] == ':' && EqualsIgnoreCaseSameSize(line.substr(0, n), name)) {
      lines.erase(at, end - at);
    } else {
      at = end;
    }
  }
}

bool ListHasToken(std::string_view list, std::string_view token) {
  return AnyListElement(list,
                        [&](std::string_view element) { return EqualsIgnoreCase(element, token); });
}

void AppendFieldLine(std::string& out, std::string_view name, std::string_view value) {
  const size_t at = out.size();
  const size_t total = at + name.size() + value.size() + 4;
  out.resize_and_overwrite(total, [&](char* p, size_t) {
    p = std::copy(name.begin(), name.end(), p + at);
    *p++ = ':';
    *p++ = ' ';
    p = std::copy(value.begin(), value.end(), p);
    *p++ = '\r';
    *p = '\n';
    return total;
  });
}

// Calls `f` with each non-empty token that the Connection fields of `fields`
// list (their values are lists of tokens, as the parser checked) until `f`
// returns true; true if it did.
template <class F>
bool AnyConnectionToken(const FieldViews& fields, F&& f) {
  for (const auto& [name, value] : fields) {
    if (!EqualsIgnoreCase(name, "connection")) continue;
    if (AnyListElement(value, [&](std::string_view token) { return !token.empty() && f(token); })) {
      return true;
    }
  }
  return false;
}

bool LessIgnoringCase(std::string_view a, std::string_view b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return static_cast<unsigned char>(AsciiLower(x)) < static_cast<unsigned char>(AsciiLower(y));
  });
}

void AppendPassOnFields(const FieldViews& fields, std::string& out) {
  // The names the Connection fields list, each also dropped: gathered once
  // when they are few, as they are.
  std::string_view named[16];
  size_t named_count = 0;
  const bool many = AnyConnectionToken(fields, [&](std::string_view token) {
    if (named_count == std::size(named)) return true;
    named[named_count++] = token;
    return false;
  });
  // A hostile or odd service lists more: all of them, sorted, so that each
  // field is a search among them, not a pass over all (thousands of tokens
  // by thousands of fields fit in a head's 64 KiB).
  std::vector<std::string_view> all_named;
  if (many) {
    AnyConnectionToken(fields, [&](std::string_view token) {
      all_named.push_back(token);
      return false;
    });
    std::ranges::sort(all_named, LessIgnoringCase);
  }
  const auto is_named = [&](std::string_view name) {
    if (many) {
      const auto at = std::ranges::lower_bound(all_named, name, LessIgnoringCase);
      return at != all_named.end() && EqualsIgnoreCase(*at, name);
    }
    return std::any_of(named, named + named_count,
                       [&](std::string_view token) { return EqualsIgnoreCase(name, token); });
  };
  for (const auto& [name, value] : fields) {
    if (!IsHopByHopField(name) && !is_named(name)) AppendFieldLine(out, name, value);
  }
}

std::expected<BodyFraming, Refusal> CheckRequestFields(
    int version, const std::vector<std::pair<std::string, std::string>>& fields,
    uint64_t max_body_bytes) {
  if (version != 10 && version != 11) return std::unexpected(Refusal::kVersionNotSupported);
  BodyFraming framing;
  int content_lengths = 0;
  int transfer_encodings = 0;
  int hosts = 0;
  for (const auto& [name, value] : fields) {
    if (EqualsIgnoreCase(name, "content-length")) {
      ++content_lengths;
      if (!AllDigits(value) || value.size() > kMaxContentLengthDigits) {
        return std::unexpected(Refusal::kBadRequest);
      }
      framing.content_length = std::stoull(value);
    } else if (EqualsIgnoreCase(name, "transfer-encoding")) {
      ++transfer_encodings;
      if (!EqualsIgnoreCase(value, "chunked")) return std::unexpected(Refusal::kBadRequest);
      framing.chunked = true;
    } else if (EqualsIgnoreCase(name, "host")) {
      ++hosts;
      // Empty is allowed (a target URI without an authority); else host[:port].
      if (!value.empty() && !CheckAuthority(value).ok()) {
        return std::unexpected(Refusal::kBadRequest);
      }
    } else if (EqualsIgnoreCase(name, "expect")) {
      if (!EqualsIgnoreCase(value, "100-continue")) {
        return std::unexpected(Refusal::kExpectationFailed);
      }
      framing.expect_continue = version == 11;  // HTTP/1.0 clients get no 100 (RFC 9110 10.1.1)
    }
  }
  if (content_lengths > 1 || transfer_encodings > 1 ||
      (content_lengths > 0 && transfer_encodings > 0) ||
      (transfer_encodings > 0 && version == 10)) {
    return std::unexpected(Refusal::kBadRequest);
  }
  if (hosts > 1 || (version == 11 && hosts == 0)) return std::unexpected(Refusal::kBadRequest);
  if (!framing.chunked && framing.content_length > max_body_bytes) {
    return std::unexpected(Refusal::kContentTooLarge);
  }
  return framing;
}

}  // namespace bulwark::net
