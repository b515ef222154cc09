#include "policy/cedar_ast.h"

#include <fmt/format.h>

namespace bulwark::policy::cedar {

namespace {

// Text as `<length>:<bytes>`: unambiguous whatever the bytes are.
void AppendText(std::string_view text, std::string& out) {
  out += fmt::format(" {}:", text.size());
  out += text;
}

void AppendKey(const Expr& e, std::string& out) {
  out += fmt::format("({}", static_cast<int>(e.kind));
  switch (e.kind) {
    case ExprKind::kBool:
      out += e.boolean ? " t" : " f";
      break;
    case ExprKind::kLong:
      out += fmt::format(" {}", e.integer);
      break;
    case ExprKind::kEntity:
      AppendText(e.uid.type, out);
      AppendText(e.uid.id, out);
      break;
    case ExprKind::kVariable:
      out += fmt::format(" {}", static_cast<int>(e.variable));
      break;
    case ExprKind::kBinary:
      out += fmt::format(" {}", static_cast<int>(e.op));
      break;
    case ExprKind::kHas:
      for (const std::string& p : e.path) AppendText(p, out);
      break;
    case ExprKind::kLike:
      for (const PatternElement& p : e.pattern)
        if (p.wildcard) {
          out += " *";
        } else {
          AppendText(p.text, out);
        }
      break;
    default:
      break;
  }
  if (!e.text.empty()) AppendText(e.text, out);
  for (const ExprPtr& arg : e.args) {
    out += ' ';
    AppendKey(*arg, out);
  }
  for (const auto& [name, value] : e.record) {
    AppendText(name, out);
    out += '=';
    AppendKey(*value, out);
  }
  out += ')';
}

}  // namespace

std::string ToString(const EntityUid& uid) { return fmt::format("{}::\"{}\"", uid.type, uid.id); }

std::string ExprKey(const Expr& e) {
  std::string out;
  AppendKey(e, out);
  return out;
}

}  // namespace bulwark::policy::cedar
