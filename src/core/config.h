// Configuration loading: YAML files with secret references and precise errors.
//
// A string scalar may hold `${env:NAME}` (the environment variable NAME) or
// `${file:PATH}` (the contents of PATH, one trailing newline removed; a
// relative PATH is taken from the config file's directory). References are
// resolved once, at load; an unset variable or unreadable file is an error.
// `$${` stands for a literal `${`.
//
// Every error names the file, line, column and field:
//   bulwark.yaml:7:12: field 'store.backend': expected one of: sqlite, memory
//
// ConfigNode is a cheap, immutable handle; thread-compatible.
#ifndef BULWARK_CORE_CONFIG_H_
#define BULWARK_CORE_CONFIG_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark {

class ConfigNode {
 public:
  // The dotted path of this node ("server.listen", "routes[2].path").
  const std::string& path() const { return path_; }

  bool IsMissing() const;
  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;

  // The child named `key` of a map (a missing node if absent or not a map).
  ConfigNode operator[](std::string_view key) const;
  // The keys of a map, in file order.
  std::vector<std::string> Keys() const;
  // The elements of a sequence (empty if not a sequence).
  std::vector<ConfigNode> Elements() const;

  // Typed reads. A missing node is an error; use the *Or forms for optional
  // fields. Errors are kInvalidArgument with the location prefix.
  Result<std::string> String() const;
  Result<int64_t> Int(int64_t min, int64_t max) const;
  Result<bool> Bool() const;
  Result<std::vector<std::string>> StringList() const;
  // A string that must be one of `allowed`.
  Result<std::string> Enum(std::initializer_list<std::string_view> allowed) const;
  Result<std::string> StringOr(std::string_view fallback) const;
  Result<int64_t> IntOr(int64_t fallback, int64_t min, int64_t max) const;
  Result<bool> BoolOr(bool fallback) const;

  // Fails if this map has a key not in `allowed` (catches typos such as
  // `listne:`). A missing node passes; a non-map fails.
  Status CheckKeys(std::initializer_list<std::string_view> allowed) const;

  // An kInvalidArgument status "file:line:col: field 'path': what".
  Status Error(std::string_view what) const;

 private:
  friend Result<ConfigNode> ParseConfig(std::string_view, std::string_view, std::string_view);
  struct Impl;
  ConfigNode(std::shared_ptr<const Impl> impl, std::string path);
  std::shared_ptr<const Impl> impl_;
  std::string path_;
};

// Loads and resolves a YAML file. Errors: kNotFound if unreadable,
// kInvalidArgument for syntax errors and unresolvable references.
Result<ConfigNode> LoadConfigFile(const std::string& file);

// Parses YAML text; `name` is used in error messages, `base_dir` resolves
// relative ${file:} references.
Result<ConfigNode> ParseConfig(std::string_view text, std::string_view name,
                               std::string_view base_dir = ".");

// Splits "host:port" or "[v6]:port" (a port from 0 to 65535; an IPv6
// literal only in brackets). kInvalidArgument if malformed.
Status ParseHostPort(std::string_view text, std::string* host, uint16_t* port);

}  // namespace bulwark

#endif  // BULWARK_CORE_CONFIG_H_
