#include "core/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fmt/format.h"

namespace bulwark {

// The shared document plus the YAML node this handle points at.
struct ConfigNode::Impl {
  std::string file;
  YAML::Node node;         // may be undefined (missing)
  YAML::Mark parent_mark;  // where to point when the node is missing
};

namespace {

constexpr size_t kMaxReferencedFileBytes = 1 << 20;

std::string Location(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return fmt::format("{}:{}:{}", file, mark.line + 1, mark.column + 1);
}

Result<std::string> ReadReferencedFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFoundError("cannot read file"));
  std::string data;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > kMaxReferencedFileBytes) return Err(InvalidArgumentError("file too large"));
  }
  if (!data.empty() && data.back() == '\n') data.pop_back();
  if (!data.empty() && data.back() == '\r') data.pop_back();
  return data;
}

// Expands ${env:..} and ${file:..} in one scalar.
Result<std::string> Expand(std::string_view in, const std::string& base_dir) {
  std::string out;
  for (size_t i = 0; i < in.size();) {
    if (in.substr(i, 3) == "$${") {
      out += "${";
      i += 3;
      continue;
    }
    if (in.substr(i, 2) != "${") {
      out += in[i++];
      continue;
    }
    size_t close = in.find('}', i + 2);
    if (close == std::string_view::npos) {
      return Err(InvalidArgumentError("unterminated reference '${'"));
    }
    std::string_view ref = in.substr(i + 2, close - i - 2);
    if (ref.starts_with("env:")) {
      std::string name(ref.substr(4));
      if (name.empty()) return Err(InvalidArgumentError("empty environment variable name"));
      const char* value = std::getenv(name.c_str());
      if (value == nullptr) {
        return Err(InvalidArgumentError(fmt::format("environment variable {} is not set", name)));
      }
      out += value;
    } else if (ref.starts_with("file:")) {
      std::filesystem::path p(std::string(ref.substr(5)));
      if (p.empty()) return Err(InvalidArgumentError("empty file reference"));
      if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
      auto data = ReadReferencedFile(p);
      if (!data) {
        return Err(InvalidArgumentError(
            fmt::format("referenced file {}: {}", p.string(), data.error().message())));
      }
      out += *data;
    } else {
      return Err(InvalidArgumentError(
          fmt::format("unknown reference '${{{}}}' (use env: or file:)", ref)));
    }
    i = close + 1;
  }
  return out;
}

Status Resolve(YAML::Node node, const std::string& file, const std::string& base_dir,
               const std::string& path, int depth) {
  if (depth > 64) return InvalidArgumentError(fmt::format("{}: nesting too deep", file));
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    if (s.find("${") == std::string::npos) return OkStatus();
    auto expanded = Expand(s, base_dir);
    if (!expanded) {
      return InvalidArgumentError(fmt::format("{}: field '{}': {}", Location(file, node.Mark()),
                                              path, expanded.error().message()));
    }
    node = *expanded;
    return OkStatus();
  }
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      BULWARK_RETURN_IF_ERROR(
          Resolve(it->second, file, base_dir, path.empty() ? key : path + "." + key, depth + 1));
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      BULWARK_RETURN_IF_ERROR(
          Resolve(node[i], file, base_dir, fmt::format("{}[{}]", path, i), depth + 1));
    }
  }
  return OkStatus();
}

}  // namespace

ConfigNode::ConfigNode(std::shared_ptr<const Impl> impl, std::string path)
    : impl_(std::move(impl)), path_(std::move(path)) {}

bool ConfigNode::IsMissing() const { return !impl_->node.IsDefined() || impl_->node.IsNull(); }
bool ConfigNode::IsMap() const { return impl_->node.IsMap(); }
bool ConfigNode::IsSequence() const { return impl_->node.IsSequence(); }
bool ConfigNode::IsScalar() const { return impl_->node.IsScalar(); }

ConfigNode ConfigNode::operator[](std::string_view key) const {
  auto child = std::make_shared<Impl>();
  child->file = impl_->file;
  child->parent_mark = impl_->node.IsDefined() ? impl_->node.Mark() : impl_->parent_mark;
  if (impl_->node.IsMap()) {
    for (auto it = impl_->node.begin(); it != impl_->node.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) {
        child->node = it->second;
        break;
      }
    }
  }
  std::string p = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  return ConfigNode(std::move(child), std::move(p));
}

std::vector<std::string> ConfigNode::Keys() const {
  std::vector<std::string> keys;
  if (!impl_->node.IsMap()) return keys;
  for (auto it = impl_->node.begin(); it != impl_->node.end(); ++it) {
    keys.push_back(it->first.IsScalar() ? it->first.Scalar() : std::string());
  }
  return keys;
}

std::vector<ConfigNode> ConfigNode::Elements() const {
  std::vector<ConfigNode> out;
  if (!impl_->node.IsSequence()) return out;
  for (size_t i = 0; i < impl_->node.size(); ++i) {
    auto child = std::make_shared<Impl>();
    child->file = impl_->file;
    child->node = impl_->node[i];
    child->parent_mark = impl_->node.Mark();
    out.push_back(ConfigNode(std::move(child), fmt::format("{}[{}]", path_, i)));
  }
  return out;
}

Status ConfigNode::Error(std::string_view what) const {
  YAML::Mark mark = impl_->node.IsDefined() ? impl_->node.Mark() : impl_->parent_mark;
  return InvalidArgumentError(
      fmt::format("{}: field '{}': {}", Location(impl_->file, mark), path_, what));
}

Result<std::string> ConfigNode::String() const {
  if (IsMissing()) return Err(Error("is required"));
  if (!IsScalar()) return Err(Error("expected a string"));
  return impl_->node.Scalar();
}

Result<int64_t> ConfigNode::Int(int64_t min, int64_t max) const {
  if (IsMissing()) return Err(Error("is required"));
  if (!IsScalar()) return Err(Error("expected an integer"));
  const std::string& s = impl_->node.Scalar();
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return Err(Error("expected an integer"));
  if (v < min || v > max) return Err(Error(fmt::format("must be between {} and {}", min, max)));
  return v;
}

Result<bool> ConfigNode::Bool() const {
  if (IsMissing()) return Err(Error("is required"));
  if (IsScalar()) {
    const std::string& s = impl_->node.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Err(Error("expected true or false"));
}

Result<std::vector<std::string>> ConfigNode::StringList() const {
  std::vector<std::string> out;
  if (IsMissing()) return out;
  if (!IsSequence()) return Err(Error("expected a list of strings"));
  for (const ConfigNode& e : Elements()) {
    BULWARK_ASSIGN_OR_RETURN(std::string s, e.String());
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::string> ConfigNode::Enum(std::initializer_list<std::string_view> allowed) const {
  BULWARK_ASSIGN_OR_RETURN(std::string s, String());
  if (std::find(allowed.begin(), allowed.end(), s) != allowed.end()) return s;
  return Err(Error(fmt::format("expected one of: {}", fmt::join(allowed, ", "))));
}

Result<std::string> ConfigNode::StringOr(std::string_view fallback) const {
  if (IsMissing()) return std::string(fallback);
  return String();
}

Result<int64_t> ConfigNode::IntOr(int64_t fallback, int64_t min, int64_t max) const {
  if (IsMissing()) return fallback;
  return Int(min, max);
}

Result<bool> ConfigNode::BoolOr(bool fallback) const {
  if (IsMissing()) return fallback;
  return Bool();
}

Status ConfigNode::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  if (!impl_->node.IsDefined() || impl_->node.IsNull()) return OkStatus();
  if (!IsMap()) return Error("expected a map");
  for (auto it = impl_->node.begin(); it != impl_->node.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string p = path_.empty() ? key : path_ + "." + key;
      return InvalidArgumentError(fmt::format("{}: field '{}': unknown field (expected one of: {})",
                                              Location(impl_->file, it->first.Mark()), p,
                                              fmt::join(allowed, ", ")));
    }
  }
  return OkStatus();
}

Result<ConfigNode> ParseConfig(std::string_view text, std::string_view name,
                               std::string_view base_dir) {
  auto impl = std::make_shared<ConfigNode::Impl>();
  impl->file = std::string(name);
  try {
    impl->node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgumentError(
        fmt::format("{}: invalid YAML: {}", Location(impl->file, e.mark), e.msg)));
  }
  if (impl->node.IsDefined() && !impl->node.IsNull() && !impl->node.IsMap()) {
    return Err(InvalidArgumentError(
        fmt::format("{}: the top level must be a map", Location(impl->file, impl->node.Mark()))));
  }
  BULWARK_RETURN_IF_ERROR(Resolve(impl->node, impl->file, std::string(base_dir), "", 0));
  return ConfigNode(std::move(impl), "");
}

Result<ConfigNode> LoadConfigFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Err(NotFoundError(fmt::format("{}: cannot read config file", file)));
  std::stringstream ss;
  ss << in.rdbuf();
  std::string base = std::filesystem::path(file).parent_path().string();
  return ParseConfig(ss.str(), file, base.empty() ? "." : base);
}

Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("expected host:port");
  }
  std::string_view h = text.substr(0, colon);
  std::string_view p = text.substr(colon + 1);
  if (h.front() == '[') {
    if (h.back() != ']' || h.size() < 3) return InvalidArgumentError("expected [ipv6]:port");
    h = h.substr(1, h.size() - 2);
  } else if (h.find(':') != std::string_view::npos) {
    return InvalidArgumentError("write IPv6 addresses as [addr]:port");
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value > 65535) {
    return InvalidArgumentError("port must be a number from 0 to 65535");
  }
  *host = std::string(h);
  *port = static_cast<uint16_t>(value);
  return OkStatus();
}

}  // namespace bulwark
