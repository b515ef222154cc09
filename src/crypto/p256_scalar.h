// The inverse of a scalar modulo the group order n of P-256. Internal to
// crypto/p256.cc; variable-time, for the public values of a verification.
#ifndef BULWARK_CRYPTO_P256_SCALAR_H_
#define BULWARK_CRYPTO_P256_SCALAR_H_

#include <cstdint>
#include <initializer_list>
#include <optional>

#include "crypto/p256_field.h"

namespace bulwark::crypto::internal::p256 {

// The scalar inverse: Bernstein and Yang's divsteps ("Fast constant-time
// gcd computation and modular inversion", 2019), in a variable-time form,
// since the values are public. f = n and g = a go through divsteps decided
// by their low bits, 62 at a time on machine words; each batch's 2x2 matrix
// is then applied to the full f and g, and to d and e, which keep f ≡ d·a and
// g ≡ e·a (mod n). When g reaches 0, f is ±1 and ±d is a^-1.

// Signed integers as five limbs of 62 bits: the value is Σ l[i]·2^(62i),
// l[0..3] in [0, 2^62), l[4] signed.
struct Signed62 {
  int64_t l[5];
};

inline constexpr int64_t kMask62 = (int64_t{1} << 62) - 1;

inline constexpr Signed62 ToSigned62(const U256& x) {
  return Signed62{{static_cast<int64_t>(x.v[0] & kMask62),
                   static_cast<int64_t>(((x.v[0] >> 62) | (x.v[1] << 2)) & kMask62),
                   static_cast<int64_t>(((x.v[1] >> 60) | (x.v[2] << 4)) & kMask62),
                   static_cast<int64_t>(((x.v[2] >> 58) | (x.v[3] << 6)) & kMask62),
                   static_cast<int64_t>(x.v[3] >> 56)}};
}

inline constexpr Signed62 kN62 = ToSigned62(kN.m);

// x must be in [0, 2^256).
inline U256 FromSigned62(const Signed62& x) {
  auto l = [&](int i) { return static_cast<u64>(x.l[i]); };
  return U256{{l(0) | (l(1) << 62), (l(1) >> 2) | (l(2) << 60), (l(2) >> 4) | (l(3) << 58),
               (l(3) >> 6) | (l(4) << 56)}};
}

inline bool IsZero(const Signed62& x) { return (x.l[0] | x.l[1] | x.l[2] | x.l[3] | x.l[4]) == 0; }

// x + sign·y, limbs renormalized.
inline Signed62 AddSigned62(const Signed62& x, const Signed62& y, int sign) {
  Signed62 r;
  int64_t carry = 0;
  for (int i = 0; i < 4; ++i) {
    int64_t t = x.l[i] + sign * y.l[i] + carry;
    r.l[i] = t & kMask62;
    carry = t >> 62;
  }
  r.l[4] = x.l[4] + sign * y.l[4] + carry;
  return r;
}

// The transition matrix of 62 divsteps: T·[f; g] = 2^62·[f'; g'].
struct Transition {
  int64_t u, v, q, r;
};

// Runs 62 divsteps on f and g's low 64 bits (f odd), which decide them.
// Runs of even g are skipped at once; an odd g adds f to g, after swapping
// f with -g when eta < 0 (eta is -delta in the paper's terms).
inline Transition Divsteps62(int64_t& eta, u64 f, u64 g) {
  u64 u = 1, v = 0, q = 0, r = 1;  // Two's complement, so wrapping is harmless.
  int i = 62;
  for (;;) {
    int zeros = __builtin_ctzll(g | (~u64{0} << i));
    g >>= zeros;
    u <<= zeros;
    v <<= zeros;
    eta -= zeros;
    i -= zeros;
    if (i == 0) break;
    if (eta < 0) {
      eta = -eta;
      u64 t = f;
      f = g;
      g = ~t + 1;
      t = u;
      u = q;
      q = ~t + 1;
      t = v;
      v = r;
      r = ~t + 1;
    }
    g += f;
    q += u;
    r += v;
  }
  return Transition{static_cast<int64_t>(u), static_cast<int64_t>(v), static_cast<int64_t>(q),
                    static_cast<int64_t>(r)};
}

// [x; y] = T·[x; y] / 2^62, after adding to each the multiple of n
// (mx, my in [0, 2^62)) that makes it divisible, if `modular`. False if a
// sum was not divisible, which only a bug would cause.
__extension__ typedef __int128 i128;
inline bool ApplyTransition(Signed62& x, Signed62& y, const Transition& t, bool modular) {
  static constexpr u64 kNInverse62 = (~kN.n0 + 1) & kMask62;  // n^-1 mod 2^62
  i128 cx = static_cast<i128>(t.u) * x.l[0] + static_cast<i128>(t.v) * y.l[0];
  i128 cy = static_cast<i128>(t.q) * x.l[0] + static_cast<i128>(t.r) * y.l[0];
  int64_t mx = 0, my = 0;
  if (modular) {
    mx = static_cast<int64_t>((~(static_cast<u64>(cx) * kNInverse62) + 1) & kMask62);
    my = static_cast<int64_t>((~(static_cast<u64>(cy) * kNInverse62) + 1) & kMask62);
    cx += static_cast<i128>(mx) * kN62.l[0];
    cy += static_cast<i128>(my) * kN62.l[0];
  }
  if ((static_cast<int64_t>(cx) & kMask62) != 0 || (static_cast<int64_t>(cy) & kMask62) != 0) {
    return false;
  }
  cx >>= 62;
  cy >>= 62;
  for (int i = 1; i < 5; ++i) {
    cx += static_cast<i128>(t.u) * x.l[i] + static_cast<i128>(t.v) * y.l[i] +
          static_cast<i128>(mx) * kN62.l[i];
    cy += static_cast<i128>(t.q) * x.l[i] + static_cast<i128>(t.r) * y.l[i] +
          static_cast<i128>(my) * kN62.l[i];
    x.l[i - 1] = static_cast<int64_t>(cx) & kMask62;
    y.l[i - 1] = static_cast<int64_t>(cy) & kMask62;
    cx >>= 62;
    cy >>= 62;
  }
  x.l[4] = static_cast<int64_t>(cx);
  y.l[4] = static_cast<int64_t>(cy);
  if (modular) {  // Each is in (-n, 2n): bring it into [0, n).
    for (Signed62* z : {&x, &y}) {
      if (z->l[4] < 0) {
        *z = AddSigned62(*z, kN62, 1);
      } else if (Signed62 less = AddSigned62(*z, kN62, -1); less.l[4] >= 0) {
        *z = less;
      }
    }
  }
  return true;
}

// a^-1 mod n for 0 < a < n; nullopt otherwise (or should a bug keep the
// divsteps from ending within their proven bound of 741 steps).
inline std::optional<U256> InverseModN(const U256& a) {
  if (IsZero(a) || GreaterOrEqual(a, kN.m)) return std::nullopt;
  Signed62 f = kN62, g = ToSigned62(a);
  Signed62 d{}, e{{1, 0, 0, 0, 0}};
  int64_t eta = -1;
  for (int batch = 0; !IsZero(g); ++batch) {
    if (batch == 12) return std::nullopt;  // 12·62 = 744 steps
    u64 f0 = static_cast<u64>(f.l[0]) | (static_cast<u64>(f.l[1]) << 62);
    u64 g0 = static_cast<u64>(g.l[0]) | (static_cast<u64>(g.l[1]) << 62);
    Transition t = Divsteps62(eta, f0, g0);
    if (!ApplyTransition(f, g, t, false) || !ApplyTransition(d, e, t, true)) return std::nullopt;
  }
  if (f.l[4] < 0) {  // f = -1: a^-1 = -d
    f = AddSigned62(Signed62{}, f, -1);
    d = AddSigned62(Signed62{}, d, -1);
    if (!IsZero(d)) d = AddSigned62(d, kN62, 1);
  }
  if (!(f.l[0] == 1 && (f.l[1] | f.l[2] | f.l[3] | f.l[4]) == 0)) return std::nullopt;
  return FromSigned62(d);
}

}  // namespace bulwark::crypto::internal::p256

#endif  // BULWARK_CRYPTO_P256_SCALAR_H_
