#include "policy/cedar_lexer.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/utf8.h"

namespace bulwark::policy::cedar {

namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Unescapes `raw`; with `pattern`, an unescaped `*` ends the current literal
// and `\*` is a literal star. `elements` is filled only with `pattern`.
Status UnescapeInto(std::string_view raw, bool pattern, std::string& out,
                    std::vector<PatternElement>* elements) {
  for (size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '*' && pattern) {
      if (!out.empty()) elements->push_back({false, std::move(out)});
      out.clear();
      if (elements->empty() || !elements->back().wildcard) elements->push_back({true, {}});
      continue;
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (++i == raw.size()) return InvalidArgumentError("string ends with a lone backslash");
    switch (raw[i]) {
      case 'n':
        out.push_back('\n');
        break;
      case 'r':
        out.push_back('\r');
        break;
      case 't':
        out.push_back('\t');
        break;
      case '0':
        out.push_back('\0');
        break;
      case '\\':
        out.push_back('\\');
        break;
      case '\'':
        out.push_back('\'');
        break;
      case '"':
        out.push_back('"');
        break;
      case '*':
        if (!pattern) return InvalidArgumentError("invalid escape \\* outside a pattern");
        out.push_back('*');
        break;
      case 'x': {  // \xHH, at most 0x7F
        const int hi = i + 1 < raw.size() ? HexValue(raw[i + 1]) : -1;
        const int lo = i + 2 < raw.size() ? HexValue(raw[i + 2]) : -1;
        if (hi < 0 || lo < 0 || hi > 7) return InvalidArgumentError("invalid \\x escape");
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        break;
      }
      case 'u': {  // \u{1 to 6 hex digits}
        if (i + 1 >= raw.size() || raw[i + 1] != '{') {
          return InvalidArgumentError("invalid \\u escape");
        }
        size_t j = i + 2;
        uint32_t cp = 0;
        int digits = 0;
        while (j < raw.size() && raw[j] != '}') {
          const int v = HexValue(raw[j]);
          if (v < 0 || ++digits > 6) return InvalidArgumentError("invalid \\u escape");
          cp = cp * 16 + static_cast<uint32_t>(v);
          ++j;
        }
        if (j == raw.size() || digits == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          return InvalidArgumentError("invalid \\u escape");
        }
        AppendUtf8(out, cp);
        i = j;
        break;
      }
      default:
        return InvalidArgumentError(fmt::format("invalid escape \\{}", raw[i]));
    }
  }
  return OkStatus();
}

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view source) {
  // Cedar text is UTF-8; anything else is refused where it goes wrong.
  if (const size_t bad = FirstInvalidUtf8(source); bad != source.size()) {
    const std::string_view before = source.substr(0, bad);
    const size_t line_start = before.rfind('\n');
    const size_t line = static_cast<size_t>(std::count(before.begin(), before.end(), '\n')) + 1;
    const std::string_view in_line =
        before.substr(line_start == std::string_view::npos ? 0 : line_start + 1);
    const size_t column =
        1 + static_cast<size_t>(std::count_if(in_line.begin(), in_line.end(), [](char c) {
          return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
        }));
    return Err(InvalidArgumentError(fmt::format("{}:{}: invalid UTF-8", line, column)));
  }
  std::vector<Token> tokens;
  SourceLocation at;
  size_t i = 0;
  auto advance = [&](size_t n) {
    for (size_t k = 0; k < n && i < source.size(); ++k, ++i) {
      const auto byte = static_cast<unsigned char>(source[i]);
      if (byte == '\n') {
        ++at.line;
        at.column = 1;
      } else if ((byte & 0xC0) != 0x80) {  // count characters, not UTF-8 bytes
        ++at.column;
      }
    }
  };
  auto error = [&](std::string_view what) {
    return Err(InvalidArgumentError(fmt::format("{}:{}: {}", at.line, at.column, what)));
  };
  while (i < source.size()) {
    const char c = source[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      advance(1);
      continue;
    }
    if (c == '/' && i + 1 < source.size() && source[i + 1] == '/') {
      while (i < source.size() && source[i] != '\n') advance(1);
      continue;
    }
    const size_t start = i;
    const SourceLocation start_at = at;
    TokenKind kind = TokenKind::kPunct;
    if (IsIdentStart(c)) {
      kind = TokenKind::kIdentifier;
      while (i < source.size() && IsIdentChar(source[i])) advance(1);
    } else if (IsDigit(c)) {
      kind = TokenKind::kInteger;
      while (i < source.size() && IsDigit(source[i])) advance(1);
      if (i < source.size() && IsIdentChar(source[i])) return error("invalid number");
    } else if (c == '"') {
      kind = TokenKind::kString;
      advance(1);
      while (i < source.size() && source[i] != '"') advance(source[i] == '\\' ? 2 : 1);
      if (i >= source.size()) {
        at = start_at;  // point at the opening quote
        return error("unterminated string");
      }
      tokens.push_back({kind, source.substr(start + 1, i - start - 1), start_at});
      advance(1);
      continue;
    } else if (c == '?') {
      kind = TokenKind::kSlot;
      advance(1);
      while (i < source.size() && IsIdentChar(source[i])) advance(1);
    } else {
      static constexpr std::string_view kTwo[] = {"::", "==", "!=", "<=", ">=", "&&", "||"};
      size_t length = 0;
      for (std::string_view two : kTwo) {
        if (source.substr(i, 2) == two) length = 2;
      }
      if (length == 0) {
        if (std::string_view("()[]{},;.:<>!-+*@=").find(c) == std::string_view::npos) {
          return error(fmt::format("unexpected character '{}'",
                                   static_cast<unsigned char>(c) < 0x80 && c >= 0x20
                                       ? std::string(1, c)
                                       : fmt::format("\\x{:02x}", static_cast<unsigned char>(c))));
        }
        length = 1;
      }
      advance(length);
    }
    tokens.push_back({kind, source.substr(start, i - start), start_at});
  }
  tokens.push_back({TokenKind::kEnd, {}, at});
  return tokens;
}

Result<std::string> Unescape(std::string_view raw) {
  std::string out;
  BULWARK_RETURN_IF_ERROR(UnescapeInto(raw, false, out, nullptr));
  return out;
}

Result<std::vector<PatternElement>> ParsePattern(std::string_view raw) {
  std::vector<PatternElement> elements;
  std::string literal;
  BULWARK_RETURN_IF_ERROR(UnescapeInto(raw, true, literal, &elements));
  if (!literal.empty()) elements.push_back({false, std::move(literal)});
  return elements;
}

}  // namespace bulwark::policy::cedar
