#include "crypto/p256.h"

#include <array>
#include <cstring>
#include <system_error>
#include <thread>

#include "crypto/p256_field.h"
#include "crypto/p256_scalar.h"

namespace bulwark::crypto::internal {
namespace p256 {
namespace {

struct Affine {
  U256 x, y;
};

struct Jacobian {
  U256 x, y, z;
  bool infinity = true;
};

bool OnCurve(const Affine& a) {
  // y^2 = x^3 - 3x + b
  U256 x3 = FMul(FSqr(a.x), a.x);
  U256 three_x = FAdd(FAdd(a.x, a.x), a.x);
  U256 rhs = FAdd(FSub(x3, three_x), ToMont<kP>(kB));
  return FSqr(a.y) == rhs;
}

// 2·P with a = -3 (dbl-2001-b).
Jacobian Double(const Jacobian& p) {
  if (p.infinity || IsZero(p.y)) return Jacobian{};
  U256 delta = FSqr(p.z);
  U256 gamma = FSqr(p.y);
  U256 beta = FMul(p.x, gamma);
  U256 t = FMul(FSub(p.x, delta), FAdd(p.x, delta));
  U256 alpha = FAdd(FAdd(t, t), t);
  U256 beta4 = FAdd(beta, beta);
  beta4 = FAdd(beta4, beta4);
  Jacobian r;
  r.infinity = false;
  r.x = FSub(FSqr(alpha), FAdd(beta4, beta4));
  r.z = FSub(FSub(FSqr(FAdd(p.y, p.z)), gamma), delta);
  U256 gamma2 = FSqr(gamma);
  U256 gamma2_8 = FAdd(gamma2, gamma2);
  gamma2_8 = FAdd(gamma2_8, gamma2_8);
  gamma2_8 = FAdd(gamma2_8, gamma2_8);
  r.y = FSub(FMul(alpha, FSub(beta4, r.x)), gamma2_8);
  return r;
}

Jacobian ToJacobian(const Affine& a) { return Jacobian{a.x, a.y, kP.r_mod, false}; }

// P + A for a Jacobian P and an affine A, including the cases P = ±A.
Jacobian AddMixed(const Jacobian& p, const Affine& a) {
  if (p.infinity) return ToJacobian(a);
  U256 z1z1 = FSqr(p.z);
  U256 u2 = FMul(a.x, z1z1);
  U256 s2 = FMul(a.y, FMul(p.z, z1z1));
  U256 h = FSub(u2, p.x);
  U256 r = FSub(s2, p.y);
  if (IsZero(h)) return IsZero(r) ? Double(p) : Jacobian{};
  U256 hh = FSqr(h);
  U256 hhh = FMul(h, hh);
  U256 v = FMul(p.x, hh);
  Jacobian out;
  out.infinity = false;
  out.x = FSub(FSub(FSqr(r), hhh), FAdd(v, v));
  out.y = FSub(FMul(r, FSub(v, out.x)), FMul(p.y, hhh));
  out.z = FMul(p.z, h);
  return out;
}

// Comb tables: entry [w][j-1] is j·2^(7w)·P for j in 1..64, so a scalar in
// signed base-128 digits is a sum of 37 entries or their negations.
constexpr int kWindowBits = 7;
constexpr int kWindows = 37;  // ceil(257 / 7): digits of a scalar below 2^256.
constexpr int kEntries = 1 << (kWindowBits - 1);

}  // namespace
}  // namespace p256

// Entries on cache-line boundaries: a lookup touches one line.
struct alignas(64) P256Table {
  p256::Affine entries[p256::kWindows][p256::kEntries];
};

namespace p256 {
namespace {

std::atomic<int> tables_in_use{0};

// Converts points to affine with one inversion (Montgomery's trick). False if
// any point is at infinity, which a correct table never holds.
bool Normalize(const Jacobian* in, Affine* out, int count) {
  std::array<U256, kEntries> prefix;
  U256 acc = kP.r_mod;
  for (int i = 0; i < count; ++i) {
    if (in[i].infinity || IsZero(in[i].z)) return false;
    prefix[i] = acc;
    acc = FMul(acc, in[i].z);
  }
  U256 inv = MontInverse<kP>(acc);
  for (int i = count - 1; i >= 0; --i) {
    U256 zinv = FMul(inv, prefix[i]);
    inv = FMul(inv, in[i].z);
    U256 zinv2 = FSqr(zinv);
    out[i].x = FMul(in[i].x, zinv2);
    out[i].y = FMul(in[i].y, FMul(zinv2, zinv));
  }
  return true;
}

bool FillTable(const Affine& point, P256Table& table) {
  Affine base = point;
  std::array<Jacobian, kEntries> multiples;
  for (int w = 0; w < kWindows; ++w) {
    multiples[0] = ToJacobian(base);
    for (int j = 1; j < kEntries; ++j) multiples[j] = AddMixed(multiples[j - 1], base);
    if (!Normalize(multiples.data(), table.entries[w], kEntries)) return false;
    Jacobian next = Double(multiples[kEntries - 1]);  // 2^kWindowBits · base
    if (!Normalize(&next, &base, 1)) return false;
  }
  return true;
}

const P256Table* GeneratorTable() {
  static const P256Table* table = [] {
    auto* t = new P256Table;  // Lives as long as the process.
    Affine g{ToMont<kP>(kGx), ToMont<kP>(kGy)};
    if (!FillTable(g, *t)) {
      delete t;
      return static_cast<P256Table*>(nullptr);
    }
    return t;
  }();
  return table;
}

// Signed base-128 digits of k < 2^256, least significant first, each in
// [-63, 64].
std::array<int8_t, kWindows> Recode(const U256& k) {
  std::array<int8_t, kWindows> digits;
  int carry = 0;
  for (int w = 0; w < kWindows; ++w) {
    int bit = w * kWindowBits;
    int limb = bit / 64, offset = bit % 64;
    u64 bits = k.v[limb] >> offset;
    if (offset > 64 - kWindowBits && limb < 3) bits |= k.v[limb + 1] << (64 - offset);
    int value = static_cast<int>(bits & ((1u << kWindowBits) - 1)) + carry;
    carry = value > kEntries ? 1 : 0;
    digits[w] = static_cast<int8_t>(value - (carry << kWindowBits));
  }
  return digits;
}

void AddDigits(Jacobian& acc, const P256Table& table, const std::array<int8_t, kWindows>& d) {
  for (int w = 0; w < kWindows; ++w) {
    if (d[w] > 0) {
      acc = AddMixed(acc, table.entries[w][d[w] - 1]);
    } else if (d[w] < 0) {
      const Affine& e = table.entries[w][-d[w] - 1];
      acc = AddMixed(acc, Affine{e.x, FSub(U256{}, e.y)});
    }
  }
}

bool VerifyWith(const P256Table& q_table, std::span<const uint8_t, 32> digest,
                std::span<const uint8_t, 64> signature) {
  const P256Table* g_table = GeneratorTable();
  if (g_table == nullptr) return false;
  U256 r = FromBytes(signature.data());
  U256 s = FromBytes(signature.data() + 32);
  if (IsZero(r) || IsZero(s) || GreaterOrEqual(r, kN.m) || GreaterOrEqual(s, kN.m)) return false;
  U256 e = FromBytes(digest.data());
  if (GreaterOrEqual(e, kN.m)) Sub(e, e, kN.m);
  std::optional<U256> s_inv = InverseModN(s);
  if (!s_inv) return false;
  // A plain value times a Montgomery-form one is a plain product.
  U256 s_inv_mont = ToMont<kN>(*s_inv);
  U256 u1 = MontMul<kN>(e, s_inv_mont);
  U256 u2 = MontMul<kN>(r, s_inv_mont);

  Jacobian acc;
  AddDigits(acc, *g_table, Recode(u1));
  AddDigits(acc, q_table, Recode(u2));
  if (acc.infinity) return false;
  // x(acc) mod n == r, tested as X == x·Z^2 for each x < p with x mod n == r.
  U256 z2 = FSqr(acc.z);
  if (FMul(ToMont<kP>(r), z2) == acc.x) return true;
  U256 r_plus_n{};
  if (Add(r_plus_n, r, kN.m) != 0 || GreaterOrEqual(r_plus_n, kP.m)) return false;
  return FMul(ToMont<kP>(r_plus_n), z2) == acc.x;
}

std::array<uint8_t, 32> ToBytes(const U256& x) {
  std::array<uint8_t, 32> out;
  for (int i = 0; i < 32; ++i) out[i] = static_cast<uint8_t>(x.v[3 - i / 8] >> (56 - 8 * (i % 8)));
  return out;
}

}  // namespace
}  // namespace p256

using p256::Affine;
using p256::FromBytes;
using p256::GreaterOrEqual;
using p256::IsZero;
using p256::kN;
using p256::kP;
using p256::ToBytes;
using p256::ToMont;
using p256::U256;

std::optional<std::array<uint8_t, 32>> P256FieldMulForTest(std::span<const uint8_t, 32> a,
                                                           std::span<const uint8_t, 32> b) {
  U256 x = FromBytes(a.data()), y = FromBytes(b.data());
  if (GreaterOrEqual(x, kP.m) || GreaterOrEqual(y, kP.m)) return std::nullopt;
  // (x·y·R^-1)·R^2·R^-1 by the portable multiplication; every assembly one
  // this CPU can run must agree with it.
  const U256 product = p256::MontMul<kP>(p256::MontMul<kP>(x, y), kP.r2_mod);
#if defined(__x86_64__) && defined(__GNUC__)
  using p256::FMulWith;
  if (FMulWith<false>(FMulWith<false>(x, y), kP.r2_mod) != product) return std::nullopt;
  if (p256::kHasMulxAdx && FMulWith<true>(FMulWith<true>(x, y), kP.r2_mod) != product) {
    return std::nullopt;
  }
#endif
  return ToBytes(product);
}

std::optional<std::array<uint8_t, 32>> P256ScalarInverseForTest(std::span<const uint8_t, 32> a) {
  U256 x = FromBytes(a.data());
  if (IsZero(x) || GreaterOrEqual(x, kN.m)) return std::nullopt;
  std::optional<U256> inverse = p256::InverseModN(x);
  if (!inverse) return std::nullopt;
  return ToBytes(*inverse);
}

std::unique_ptr<P256Verifier> P256Verifier::Create(std::string_view x, std::string_view y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  U256 px = FromBytes(reinterpret_cast<const uint8_t*>(x.data()));
  U256 py = FromBytes(reinterpret_cast<const uint8_t*>(y.data()));
  if (GreaterOrEqual(px, kP.m) || GreaterOrEqual(py, kP.m)) return nullptr;
  if (!p256::OnCurve(Affine{ToMont<kP>(px), ToMont<kP>(py)})) return nullptr;
  std::unique_ptr<P256Verifier> v(new P256Verifier);
  std::memcpy(v->key_, x.data(), 32);
  std::memcpy(v->key_ + 32, y.data(), 32);
  return v;
}

P256Verifier::~P256Verifier() {
  if (const P256Table* t = table_.load(std::memory_order_acquire); t != nullptr) {
    delete t;
    p256::tables_in_use.fetch_sub(1, std::memory_order_relaxed);
  }
}

bool P256Verifier::BuildTableNow() const {
  if (Table() != nullptr) return true;
  if (building_.test_and_set(std::memory_order_acq_rel)) return false;  // Another thread builds.
  if (p256::tables_in_use.fetch_add(1, std::memory_order_relaxed) >= kMaxTables) {
    p256::tables_in_use.fetch_sub(1, std::memory_order_relaxed);
    building_.clear(std::memory_order_release);
    return false;
  }
  auto table = std::make_unique<P256Table>();
  Affine q{ToMont<kP>(FromBytes(key_)), ToMont<kP>(FromBytes(key_ + 32))};
  if (!p256::FillTable(q, *table) || p256::GeneratorTable() == nullptr) {
    p256::tables_in_use.fetch_sub(1, std::memory_order_relaxed);
    return false;  // building_ stays set: never try again.
  }
  table_.store(table.release(), std::memory_order_release);
  return true;
}

void P256Verifier::StartBuild() const {
  std::shared_ptr<const P256Verifier> self = weak_from_this().lock();
  if (self != nullptr) {
    try {
      std::thread([self] { (void)self->BuildTableNow(); }).detach();
      return;
    } catch (const std::system_error&) {
      // No thread to be had: build here, as for an unshared verifier.
    }
  }
  (void)BuildTableNow();
}

std::optional<bool> P256Verifier::Verify(std::span<const uint8_t, 32> digest,
                                         std::span<const uint8_t, 64> signature) const {
  const P256Table* table = Table();
  if (table == nullptr) {
    if (uses_.load(std::memory_order_relaxed) < kBuildAfter &&
        uses_.fetch_add(1, std::memory_order_relaxed) + 1 == kBuildAfter) {
      StartBuild();
    }
    table = Table();
    if (table == nullptr) return std::nullopt;
  }
  return p256::VerifyWith(*table, digest, signature);
}

}  // namespace bulwark::crypto::internal
