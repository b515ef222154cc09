#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <span>

#include "core/utf8.h"
#include "policy/cel_node.h"

namespace bulwark::policy::cel {

namespace {

constexpr int kMaxDepth = 100;

constexpr std::string_view kGlobalFunctions[] = {
    "size",      "int",      "uint", "double",  "string",    "bytes", "bool",
    "timestamp", "duration", "dyn",  "matches", "ipaddress", "has"};
constexpr std::string_view kMemberFunctions[] = {
    "size",        "contains",   "startsWith", "endsWith",       "matches",      "in_cidr",
    "getFullYear", "getMonth",   "getDate",    "getDayOfMonth",  "getDayOfWeek", "getDayOfYear",
    "getHours",    "getMinutes", "getSeconds", "getMilliseconds"};
constexpr std::string_view kMacros[] = {"all", "exists", "exists_one", "map", "filter"};
constexpr std::string_view kReserved[] = {
    "as",  "break", "const",   "continue",  "else",   "for", "function", "if",   "import",
    "let", "loop",  "package", "namespace", "return", "var", "void",     "while"};

bool Contains(std::span<const std::string_view> names, std::string_view n) {
  return std::find(names.begin(), names.end(), n) != names.end();
}

struct Token {
  enum class Kind { kEnd, kIdent, kInt, kUint, kDouble, kString, kBytes, kPunct };
  Kind kind = Kind::kEnd;
  std::string text;  // identifier, punctuation, or decoded string/bytes
  int64_t int_value = 0;
  uint64_t uint_value = 0;
  double double_value = 0;
  int column = 0;
};

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  Result<Token> Next() {
    SkipSpace();
    Token t;
    t.column = static_cast<int>(pos_) + 1;
    if (pos_ >= s_.size()) return t;
    const char c = s_[pos_];
    if (IsIdentStart(c)) {
      size_t end = pos_;
      while (end < s_.size() && IsIdentChar(s_[end])) ++end;
      std::string_view word = s_.substr(pos_, end - pos_);
      // String prefixes: r"", b"", rb"", br"".
      const bool prefix =
          word.size() <= 2 && end < s_.size() && (s_[end] == '"' || s_[end] == '\'') &&
          std::all_of(word.begin(), word.end(),
                      [](char p) { return p == 'r' || p == 'R' || p == 'b' || p == 'B'; });
      if (prefix) {
        const bool raw = word.find_first_of("rR") != std::string_view::npos;
        const bool bytes = word.find_first_of("bB") != std::string_view::npos;
        pos_ = end;
        return String(t, raw, bytes);
      }
      pos_ = end;
      t.kind = Token::Kind::kIdent;
      t.text = word;
      return t;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && pos_ + 1 < s_.size() &&
         std::isdigit(static_cast<unsigned char>(s_[pos_ + 1])))) {
      return Number(t);
    }
    if (c == '"' || c == '\'') return String(t, false, false);
    static constexpr std::string_view kTwo[] = {"&&", "||", "<=", ">=", "==", "!="};
    for (std::string_view p : kTwo) {
      if (s_.substr(pos_, 2) == p) {
        pos_ += 2;
        t.kind = Token::Kind::kPunct;
        t.text = p;
        return t;
      }
    }
    if (std::string_view("+-*/%!<>?:.,()[]{}").find(c) != std::string_view::npos) {
      ++pos_;
      t.kind = Token::Kind::kPunct;
      t.text = std::string(1, c);
      return t;
    }
    return Err(Error(t.column, fmt::format("unexpected character `{}`",
                                           std::isprint(static_cast<unsigned char>(c))
                                               ? std::string(1, c)
                                               : fmt::format("\\x{:02x}", c & 0xff))));
  }

  static Status Error(int column, std::string reason) {
    return InvalidArgumentError(fmt::format("column {}: {}", column, reason));
  }

 private:
  void SkipSpace() {
    while (pos_ < s_.size()) {
      if (std::isspace(static_cast<unsigned char>(s_[pos_]))) {
        ++pos_;
      } else if (s_.substr(pos_, 2) == "//") {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }

  Result<Token> Number(Token& t) {
    size_t end = pos_;
    bool is_double = false;
    if (s_.substr(pos_, 2) == "0x" || s_.substr(pos_, 2) == "0X") {
      end += 2;
      while (end < s_.size() && std::isxdigit(static_cast<unsigned char>(s_[end]))) ++end;
    } else {
      while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
      if (end < s_.size() && s_[end] == '.' && end + 1 < s_.size() &&
          std::isdigit(static_cast<unsigned char>(s_[end + 1]))) {
        is_double = true;
        ++end;
        while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
      }
      if (end < s_.size() && (s_[end] == 'e' || s_[end] == 'E')) {
        size_t e = end + 1;
        if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
        if (e < s_.size() && std::isdigit(static_cast<unsigned char>(s_[e]))) {
          is_double = true;
          end = e;
          while (end < s_.size() && std::isdigit(static_cast<unsigned char>(s_[end]))) ++end;
        }
      }
    }
    std::string text(s_.substr(pos_, end - pos_));
    pos_ = end;
    if (is_double) {
      t.kind = Token::Kind::kDouble;
      t.double_value = std::strtod(text.c_str(), nullptr);
      if (std::isinf(t.double_value)) return Err(Error(t.column, "double literal out of range"));
      return t;
    }
    const bool hex = text.size() > 2 && (text[1] == 'x' || text[1] == 'X');
    const char* begin = text.data() + (hex ? 2 : 0);
    const bool is_uint = pos_ < s_.size() && (s_[pos_] == 'u' || s_[pos_] == 'U');
    if (is_uint) ++pos_;
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(begin, text.data() + text.size(), v, hex ? 16 : 10);
    if (ec != std::errc() || p != text.data() + text.size()) {
      return Err(Error(t.column, "integer literal out of range"));
    }
    if (is_uint) {
      t.kind = Token::Kind::kUint;
      t.uint_value = v;
    } else {
      // 9223372036854775808 is only valid after unary minus; the parser checks.
      if (v > static_cast<uint64_t>(INT64_MAX) + 1) {
        return Err(Error(t.column, "integer literal out of range"));
      }
      t.kind = Token::Kind::kInt;
      t.uint_value = v;
    }
    return t;
  }

  Result<Token> String(Token& t, bool raw, bool bytes) {
    const char q = s_[pos_];
    const bool triple = s_.substr(pos_, 3) == std::string(3, q);
    pos_ += triple ? 3 : 1;
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) return Err(Error(t.column, "unterminated string"));
      if (triple ? s_.substr(pos_, 3) == std::string(3, q) : s_[pos_] == q) {
        pos_ += triple ? 3 : 1;
        break;
      }
      const char c = s_[pos_];
      if (!triple && (c == '\n' || c == '\r')) return Err(Error(t.column, "newline in string"));
      if (c != '\\' || raw) {
        out += c;
        ++pos_;
        continue;
      }
      if (pos_ + 1 >= s_.size()) return Err(Error(t.column, "unterminated string"));
      const char e = s_[++pos_];
      ++pos_;
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case 'a':
          out += '\a';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
        case '\'':
        case '"':
        case '`':
        case '?':
          out += e;
          break;
        case 'x':
        case 'X':
        case 'u':
        case 'U': {
          const size_t n = (e == 'x' || e == 'X') ? 2 : (e == 'u' ? 4 : 8);
          uint32_t cp = 0;
          auto [p, ec] =
              std::from_chars(s_.data() + pos_, s_.data() + std::min(pos_ + n, s_.size()), cp, 16);
          if (ec != std::errc() || p != s_.data() + pos_ + n) {
            return Err(Error(t.column, "bad escape in string"));
          }
          pos_ += n;
          if (n == 2 && bytes) {
            out += static_cast<char>(cp);
          } else {
            if (bytes && n != 2) return Err(Error(t.column, "unicode escape in bytes"));
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
              return Err(Error(t.column, "bad code point in string"));
            }
            AppendUtf8(out, cp);
          }
          break;
        }
        default:
          if (e >= '0' && e <= '3' && pos_ + 1 < s_.size()) {
            int v = e - '0';
            for (int i = 0; i < 2; ++i) {
              const char d = s_[pos_++];
              if (d < '0' || d > '7') return Err(Error(t.column, "bad octal escape"));
              v = v * 8 + (d - '0');
            }
            if (bytes) {
              out += static_cast<char>(v);
            } else {
              AppendUtf8(out, static_cast<uint32_t>(v));
            }
            break;
          }
          return Err(Error(t.column, "bad escape in string"));
      }
    }
    if (!bytes && !IsValidUtf8(out)) return Err(Error(t.column, "string is not UTF-8"));
    t.kind = bytes ? Token::Kind::kBytes : Token::Kind::kString;
    t.text = std::move(out);
    return t;
  }

  static void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
};

class Parser {
 public:
  Parser(std::string_view s, std::vector<std::string>& identifiers)
      : lexer_(s), identifiers_(identifiers) {}

  Result<Node> Parse() {
    BULWARK_RETURN_IF_ERROR(Advance());
    BULWARK_ASSIGN_OR_RETURN(Node n, Expr());
    if (tok_.kind != Token::Kind::kEnd) return Err(Unexpected());
    return n;
  }

 private:
  Status Advance() {
    auto t = lexer_.Next();
    if (!t) return t.error();
    tok_ = std::move(*t);
    return OkStatus();
  }
  bool IsPunct(std::string_view p) const {
    return tok_.kind == Token::Kind::kPunct && tok_.text == p;
  }
  Status Unexpected() const {
    if (tok_.kind == Token::Kind::kEnd) return Lexer::Error(tok_.column, "unexpected end");
    return Lexer::Error(tok_.column,
                        fmt::format("unexpected `{}`", tok_.kind == Token::Kind::kPunct ||
                                                               tok_.kind == Token::Kind::kIdent
                                                           ? tok_.text
                                                           : "literal"));
  }
  Status Expect(std::string_view p) {
    if (!IsPunct(p)) {
      return Lexer::Error(tok_.column, fmt::format("expected `{}`", p));
    }
    return Advance();
  }

  struct DepthGuard {
    explicit DepthGuard(int& d) : d_(d) { ++d_; }
    ~DepthGuard() { --d_; }
    int& d_;
  };

  Result<Node> Expr() {
    DepthGuard g(depth_);
    if (depth_ > kMaxDepth) return Err(Lexer::Error(tok_.column, "expression nests too deeply"));
    BULWARK_ASSIGN_OR_RETURN(Node cond, Binary(0));
    if (!IsPunct("?")) return cond;
    const int column = tok_.column;
    BULWARK_RETURN_IF_ERROR(Advance());
    BULWARK_ASSIGN_OR_RETURN(Node yes, Binary(0));
    BULWARK_RETURN_IF_ERROR(Expect(":"));
    BULWARK_ASSIGN_OR_RETURN(Node no, Expr());
    Node n{.kind = Node::Kind::kConditional, .column = column};
    n.args = {std::move(cond), std::move(yes), std::move(no)};
    return n;
  }

  // Precedence climbing over ||, &&, relations, + -, * / %.
  int Precedence() const {
    if (tok_.kind == Token::Kind::kIdent && tok_.text == "in") return 3;
    if (tok_.kind != Token::Kind::kPunct) return -1;
    const std::string& p = tok_.text;
    if (p == "||") return 1;
    if (p == "&&") return 2;
    if (p == "<" || p == "<=" || p == ">" || p == ">=" || p == "==" || p == "!=") return 3;
    if (p == "+" || p == "-") return 4;
    if (p == "*" || p == "/" || p == "%") return 5;
    return -1;
  }

  Result<Node> Binary(int min) {
    DepthGuard g(depth_);
    if (depth_ > kMaxDepth) return Err(Lexer::Error(tok_.column, "expression nests too deeply"));
    BULWARK_ASSIGN_OR_RETURN(Node left, Unary());
    while (true) {
      const int prec = Precedence();
      if (prec < 0 || prec <= min - 1 || prec < min) break;
      const std::string op = tok_.text;
      const int column = tok_.column;
      BULWARK_RETURN_IF_ERROR(Advance());
      BULWARK_ASSIGN_OR_RETURN(Node right, Binary(prec + 1));
      Node n{.column = column};
      if (op == "&&" || op == "||") {
        n.kind = op == "&&" ? Node::Kind::kAnd : Node::Kind::kOr;
      } else {
        n.kind = Node::Kind::kCall;
        n.name = op == "in" ? "@in" : "_" + op + "_";
      }
      n.args = {std::move(left), std::move(right)};
      left = std::move(n);
      if (++nodes_ > 10'000) return Err(Lexer::Error(column, "expression too large"));
    }
    return left;
  }

  Result<Node> Unary() {
    DepthGuard g(depth_);
    if (depth_ > kMaxDepth) return Err(Lexer::Error(tok_.column, "expression nests too deeply"));
    if (IsPunct("!") || IsPunct("-")) {
      const std::string op = tok_.text;
      const int column = tok_.column;
      BULWARK_RETURN_IF_ERROR(Advance());
      // -9223372036854775808 is the one int literal beyond INT64_MAX.
      if (op == "-" && tok_.kind == Token::Kind::kInt) {
        const uint64_t v = tok_.uint_value;
        BULWARK_RETURN_IF_ERROR(Advance());
        Node lit{.kind = Node::Kind::kLiteral,
                 .literal = Value::Int(v == static_cast<uint64_t>(INT64_MAX) + 1
                                           ? INT64_MIN
                                           : -static_cast<int64_t>(v)),
                 .column = column};
        return Member(std::move(lit));
      }
      if (op == "-" && tok_.kind == Token::Kind::kDouble) {
        const double v = tok_.double_value;
        BULWARK_RETURN_IF_ERROR(Advance());
        return Member(
            Node{.kind = Node::Kind::kLiteral, .literal = Value::Double(-v), .column = column});
      }
      BULWARK_ASSIGN_OR_RETURN(Node operand, Unary());
      Node n{.kind = Node::Kind::kCall, .name = op == "!" ? "!_" : "-_", .column = column};
      n.args.push_back(std::move(operand));
      return n;
    }
    BULWARK_ASSIGN_OR_RETURN(Node primary, Primary());
    return Member(std::move(primary));
  }

  Result<Node> Member(Node operand) {
    while (true) {
      const int column = tok_.column;
      if (IsPunct(".")) {
        BULWARK_RETURN_IF_ERROR(Advance());
        if (tok_.kind != Token::Kind::kIdent)
          return Err(Lexer::Error(tok_.column, "expected a field name"));
        std::string name = tok_.text;
        BULWARK_RETURN_IF_ERROR(Advance());
        if (!IsPunct("(")) {
          Node n{.kind = Node::Kind::kSelect, .name = std::move(name), .column = column};
          n.args.push_back(std::move(operand));
          operand = std::move(n);
          continue;
        }
        BULWARK_RETURN_IF_ERROR(Advance());
        if (Contains(kMacros, name)) {
          BULWARK_ASSIGN_OR_RETURN(operand, Comprehension(std::move(operand), name, column));
          continue;
        }
        if (!Contains(kMemberFunctions, name)) {
          return Err(Lexer::Error(column + 1, fmt::format("unknown function `{}`", name)));
        }
        Node n{
            .kind = Node::Kind::kCall, .name = std::move(name), .receiver = true, .column = column};
        n.args.push_back(std::move(operand));
        BULWARK_RETURN_IF_ERROR(Arguments(n.args, ")"));
        operand = std::move(n);
      } else if (IsPunct("[")) {
        BULWARK_RETURN_IF_ERROR(Advance());
        BULWARK_ASSIGN_OR_RETURN(Node index, Expr());
        BULWARK_RETURN_IF_ERROR(Expect("]"));
        Node n{.kind = Node::Kind::kIndex, .column = column};
        n.args = {std::move(operand), std::move(index)};
        operand = std::move(n);
      } else {
        return operand;
      }
    }
  }

  Result<Node> Comprehension(Node range, const std::string& macro, int column) {
    if (tok_.kind != Token::Kind::kIdent) {
      return Err(Lexer::Error(tok_.column, fmt::format("{}() needs a variable name first", macro)));
    }
    Node n{.kind = Node::Kind::kComprehension, .name = macro, .var = tok_.text, .column = column};
    BULWARK_RETURN_IF_ERROR(Advance());
    BULWARK_RETURN_IF_ERROR(Expect(","));
    bound_.push_back(n.var);
    n.args.push_back(std::move(range));
    auto body = Arguments(n.args, ")");
    bound_.pop_back();
    BULWARK_RETURN_IF_ERROR(body);
    const size_t want_max = macro == "map" ? 3 : 2;
    if (n.args.size() < 2 || n.args.size() > want_max) {
      return Err(Lexer::Error(column, fmt::format("wrong number of arguments to {}()", macro)));
    }
    return n;
  }

  Status Arguments(std::vector<Node>& out, std::string_view close) {
    if (IsPunct(close)) return Advance();
    while (true) {
      auto e = Expr();
      if (!e) return e.error();
      out.push_back(std::move(*e));
      if (IsPunct(",")) {
        BULWARK_RETURN_IF_ERROR(Advance());
        if (IsPunct(close)) return Advance();  // trailing comma
        continue;
      }
      return Expect(close);
    }
  }

  Result<Node> Primary() {
    Node n{.column = tok_.column};
    switch (tok_.kind) {
      case Token::Kind::kInt:
        if (tok_.uint_value > static_cast<uint64_t>(INT64_MAX)) {
          return Err(Lexer::Error(tok_.column, "integer literal out of range"));
        }
        n.literal = Value::Int(static_cast<int64_t>(tok_.uint_value));
        break;
      case Token::Kind::kUint:
        n.literal = Value::Uint(tok_.uint_value);
        break;
      case Token::Kind::kDouble:
        n.literal = Value::Double(tok_.double_value);
        break;
      case Token::Kind::kString:
        n.literal = Value::String(tok_.text);
        break;
      case Token::Kind::kBytes:
        n.literal = Value::OfBytes(tok_.text);
        break;
      case Token::Kind::kIdent:
        return Identifier();
      case Token::Kind::kPunct:
        if (IsPunct("(")) {
          BULWARK_RETURN_IF_ERROR(Advance());
          BULWARK_ASSIGN_OR_RETURN(Node inner, Expr());
          BULWARK_RETURN_IF_ERROR(Expect(")"));
          return inner;
        }
        if (IsPunct("[")) {
          BULWARK_RETURN_IF_ERROR(Advance());
          n.kind = Node::Kind::kList;
          BULWARK_RETURN_IF_ERROR(Arguments(n.args, "]"));
          return n;
        }
        if (IsPunct("{")) {
          BULWARK_RETURN_IF_ERROR(Advance());
          n.kind = Node::Kind::kMap;
          while (!IsPunct("}")) {
            BULWARK_ASSIGN_OR_RETURN(Node key, Expr());
            BULWARK_RETURN_IF_ERROR(Expect(":"));
            BULWARK_ASSIGN_OR_RETURN(Node value, Expr());
            n.args.push_back(std::move(key));
            n.args.push_back(std::move(value));
            if (!IsPunct(",")) break;
            BULWARK_RETURN_IF_ERROR(Advance());
          }
          BULWARK_RETURN_IF_ERROR(Expect("}"));
          return n;
        }
        if (IsPunct(".")) {  // a leading dot names the root scope
          BULWARK_RETURN_IF_ERROR(Advance());
          if (tok_.kind != Token::Kind::kIdent) return Err(Unexpected());
          return Identifier();
        }
        return Err(Unexpected());
      case Token::Kind::kEnd:
        return Err(Unexpected());
    }
    BULWARK_RETURN_IF_ERROR(Advance());
    return n;
  }

  Result<Node> Identifier() {
    Node n{.column = tok_.column};
    std::string name = tok_.text;
    if (Contains(kReserved, name) || name == "in") {
      return Err(Lexer::Error(tok_.column, fmt::format("`{}` is reserved", name)));
    }
    BULWARK_RETURN_IF_ERROR(Advance());
    if (name == "true" || name == "false") {
      n.literal = Value::Bool(name == "true");
      return n;
    }
    if (name == "null") return n;
    if (IsPunct("(")) {
      BULWARK_RETURN_IF_ERROR(Advance());
      if (!Contains(kGlobalFunctions, name)) {
        return Err(Lexer::Error(n.column, fmt::format("unknown function `{}`", name)));
      }
      if (name == "has") {
        BULWARK_ASSIGN_OR_RETURN(Node arg, Expr());
        BULWARK_RETURN_IF_ERROR(Expect(")"));
        if (arg.kind != Node::Kind::kSelect) {
          return Err(Lexer::Error(n.column, "has() takes a field selection such as has(m.f)"));
        }
        arg.kind = Node::Kind::kHas;
        return arg;
      }
      n.kind = Node::Kind::kCall;
      n.name = std::move(name);
      BULWARK_RETURN_IF_ERROR(Arguments(n.args, ")"));
      return n;
    }
    n.kind = Node::Kind::kIdent;
    if (std::find(bound_.begin(), bound_.end(), name) == bound_.end() &&
        std::find(identifiers_.begin(), identifiers_.end(), name) == identifiers_.end()) {
      identifiers_.push_back(name);
    }
    n.name = std::move(name);
    return n;
  }

  Lexer lexer_;
  Token tok_;
  std::vector<std::string>& identifiers_;
  std::vector<std::string> bound_;
  int depth_ = 0;
  int nodes_ = 0;
};

}  // namespace

Result<Node> ParseExpression(std::string_view expression, std::vector<std::string>& identifiers) {
  if (expression.size() > 100'000) return Err(InvalidArgumentError("expression too long"));
  return Parser(expression, identifiers).Parse();
}

}  // namespace bulwark::policy::cel
