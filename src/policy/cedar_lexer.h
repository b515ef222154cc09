// Tokens of Cedar policy text.
#ifndef BULWARK_POLICY_CEDAR_LEXER_H_
#define BULWARK_POLICY_CEDAR_LEXER_H_

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "policy/cedar_ast.h"

namespace bulwark::policy::cedar {

enum class TokenKind {
  kIdentifier,  // also keywords: the parser tells them apart
  kString,      // text: the raw characters between the quotes, escapes kept
  kInteger,     // text: the digits
  kSlot,        // text: "?principal" or "?resource" (or any ?name, refused later)
  kPunct,       // text: one of ( ) [ ] { } , ; . : :: == != < <= > >= && || ! - + * @ =
  kEnd,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string_view text;
  SourceLocation location;
};

// Splits `source` into tokens, skipping whitespace and `//` comments; the
// last token is kEnd. kInvalidArgument "line:column: reason" for a character
// Cedar does not allow or an unterminated string. The tokens point into
// `source`, which must outlive them.
Result<std::vector<Token>> Tokenize(std::string_view source);

// The characters a Cedar string literal stands for: `raw` is the text
// between the quotes. Escapes: \n \r \t \\ \0 \' \" and \u{1 to 6 hex digits}
// (a Unicode scalar value). kInvalidArgument naming a bad escape.
Result<std::string> Unescape(std::string_view raw);

// The pattern of a `like`: `raw` is the text between the quotes, where `*`
// matches any sequence and `\*` a literal star; other escapes as Unescape.
Result<std::vector<PatternElement>> ParsePattern(std::string_view raw);

}  // namespace bulwark::policy::cedar

#endif  // BULWARK_POLICY_CEDAR_LEXER_H_
