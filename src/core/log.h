// Structured JSON logging: one JSON object per line on stderr.
//
//   log::Info("store.opened", {{"backend", "sqlite"}, {"revision", rev}});
//
// A Field accepts only strings, integers, floating point and booleans, so key
// material (crypto::SecretBytes, which converts to none of them) can never be
// logged by accident. Thread-safe.
#ifndef BULWARK_CORE_LOG_H_
#define BULWARK_CORE_LOG_H_

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace bulwark::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

class Field {
 public:
  using Value = std::variant<std::string_view, int64_t, uint64_t, double, bool>;

  Field(std::string_view key, std::string_view v) : key_(key), value_(v) {}
  Field(std::string_view key, const char* v) : key_(key), value_(std::string_view(v)) {}
  Field(std::string_view key, const std::string& v) : key_(key), value_(std::string_view(v)) {}
  Field(std::string_view key, bool v) : key_(key), value_(v) {}
  Field(std::string_view key, double v) : key_(key), value_(v) {}
  template <std::signed_integral T>
  Field(std::string_view key, T v) : key_(key), value_(static_cast<int64_t>(v)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) Field(std::string_view key, T v)
      : key_(key), value_(static_cast<uint64_t>(v)) {}

  std::string_view key() const { return key_; }
  const Value& value() const { return value_; }

 private:
  std::string_view key_;
  Value value_;
};

// Sets the minimum level written (default kInfo). "debug", "info", "warn",
// "error" parse with ParseLevel; anything else returns false.
void SetLevel(Level level);
bool ParseLevel(std::string_view name, Level* out);
bool Enabled(Level level);

// Writes one line: {"ts":"...","level":"info","msg":event,<fields>}.
void Write(Level level, std::string_view event, std::initializer_list<Field> fields = {});

// Formats the JSON line Write would emit (without the timestamp); for tests.
std::string FormatForTest(Level level, std::string_view event, std::initializer_list<Field> fields);

inline void Debug(std::string_view e, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, e, f);
}
inline void Info(std::string_view e, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, e, f);
}
inline void Warn(std::string_view e, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, e, f);
}
inline void Error(std::string_view e, std::initializer_list<Field> f = {}) {
  Write(Level::kError, e, f);
}

// Appends `s` to `out` as a JSON string literal (quotes included): quote,
// backslash and every C0/C1 control escaped, as are LINE and PARAGRAPH
// SEPARATOR and the bidi marks, embeddings, overrides and isolates (valid
// JSON, but a line break or a reordering to some readers); each byte that is
// not part of valid UTF-8 becomes U+FFFD. So a hostile value can neither
// split a log or audit line nor add a field.
void AppendJsonString(std::string& out, std::string_view s);

// True if AppendJsonString would copy `s` unchanged between its quotes:
// printable ASCII other than quote and backslash.
bool IsPlainJsonText(std::string_view s);

}  // namespace bulwark::log

#endif  // BULWARK_CORE_LOG_H_
