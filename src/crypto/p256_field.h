// Arithmetic for P-256 (FIPS 186-5): 256-bit integers, Montgomery
// multiplication modulo the field prime p and the group order n, and the
// curve's constants. Internal to crypto/p256.cc. All of it is variable-time:
// it serves signature verification, whose inputs are public.
#ifndef BULWARK_CRYPTO_P256_FIELD_H_
#define BULWARK_CRYPTO_P256_FIELD_H_

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

namespace bulwark::crypto::internal::p256 {

using u64 = uint64_t;
__extension__ using u128 = unsigned __int128;  // GCC and Clang on 64-bit targets.

// a + b + carry: the sum's low limb into *r, its carry returned. Intrinsics
// where there are any: GCC 12 spills 128-bit sums to the stack.
inline unsigned char AddCarry(unsigned char carry, u64 a, u64 b, u64* r) {
#if defined(__x86_64__)
  unsigned long long out;
  carry = _addcarry_u64(carry, a, b, &out);
  *r = out;
  return carry;
#else
  u128 t = static_cast<u128>(a) + b + carry;
  *r = static_cast<u64>(t);
  return static_cast<unsigned char>(t >> 64);
#endif
}

// a - b - borrow: the low limb into *r, the borrow returned.
inline unsigned char SubBorrow(unsigned char borrow, u64 a, u64 b, u64* r) {
#if defined(__x86_64__)
  unsigned long long out;
  borrow = _subborrow_u64(borrow, a, b, &out);
  *r = out;
  return borrow;
#else
  u128 t = static_cast<u128>(a) - b - borrow;
  *r = static_cast<u64>(t);
  return static_cast<unsigned char>((t >> 64) & 1);
#endif
}

// 256-bit integers as four little-endian 64-bit limbs.
struct U256 {
  u64 v[4];
  friend constexpr bool operator==(const U256&, const U256&) = default;
};

inline constexpr bool IsZero(const U256& a) { return (a.v[0] | a.v[1] | a.v[2] | a.v[3]) == 0; }

inline constexpr bool GreaterOrEqual(const U256& a, const U256& b) {
  for (int i = 3; i >= 0; --i) {
    if (a.v[i] != b.v[i]) return a.v[i] > b.v[i];
  }
  return true;
}

// r = a + b; returns the carry out.
inline constexpr u64 Add(U256& r, const U256& a, const U256& b) {
  if
    consteval {
      u64 carry = 0;
      for (int i = 0; i < 4; ++i) {
        u128 t = static_cast<u128>(a.v[i]) + b.v[i] + carry;
        r.v[i] = static_cast<u64>(t);
        carry = static_cast<u64>(t >> 64);
      }
      return carry;
    }
  else {
    unsigned char c = AddCarry(0, a.v[0], b.v[0], &r.v[0]);
    c = AddCarry(c, a.v[1], b.v[1], &r.v[1]);
    c = AddCarry(c, a.v[2], b.v[2], &r.v[2]);
    return AddCarry(c, a.v[3], b.v[3], &r.v[3]);
  }
}

// r = a - b; returns the borrow out.
inline constexpr u64 Sub(U256& r, const U256& a, const U256& b) {
  if
    consteval {
      u64 borrow = 0;
      for (int i = 0; i < 4; ++i) {
        u128 t = static_cast<u128>(a.v[i]) - b.v[i] - borrow;
        r.v[i] = static_cast<u64>(t);
        borrow = static_cast<u64>(t >> 64) & 1;
      }
      return borrow;
    }
  else {
    unsigned char borrow = SubBorrow(0, a.v[0], b.v[0], &r.v[0]);
    borrow = SubBorrow(borrow, a.v[1], b.v[1], &r.v[1]);
    borrow = SubBorrow(borrow, a.v[2], b.v[2], &r.v[2]);
    return SubBorrow(borrow, a.v[3], b.v[3], &r.v[3]);
  }
}

inline constexpr U256 FromHex(std::string_view hex) {
  U256 r{};
  for (char c : hex) {
    u64 d = c <= '9' ? static_cast<u64>(c - '0') : static_cast<u64>(c - 'A' + 10);
    for (int i = 3; i > 0; --i) r.v[i] = (r.v[i] << 4) | (r.v[i - 1] >> 60);
    r.v[0] = (r.v[0] << 4) | d;
  }
  return r;
}

inline U256 FromBytes(const uint8_t* be) {
  U256 r;
  for (int i = 0; i < 4; ++i) {
    u64 limb = 0;
    for (int j = 0; j < 8; ++j) limb = (limb << 8) | be[(3 - i) * 8 + j];
    r.v[i] = limb;
  }
  return r;
}

// Arithmetic modulo an odd 256-bit m > 2^255, in Montgomery form (R = 2^256).
struct Modulus {
  U256 m;
  u64 n0;       // -m^-1 mod 2^64
  U256 r_mod;   // R mod m: 1 in Montgomery form
  U256 r2_mod;  // R^2 mod m: converts into Montgomery form

  constexpr explicit Modulus(const U256& modulus) : m(modulus), n0(0), r_mod{}, r2_mod{} {
    u64 inv = 1;  // Newton's iteration doubles the correct low bits each step.
    for (int i = 0; i < 6; ++i) inv *= 2 - m.v[0] * inv;
    n0 = ~inv + 1;
    U256 zero{};
    Sub(r_mod, zero, m);  // 2^256 - m, which is below m since m > 2^255.
    r2_mod = r_mod;
    for (int i = 0; i < 256; ++i) r2_mod = AddMod(r2_mod, r2_mod);
  }

  constexpr U256 AddMod(const U256& a, const U256& b) const {
    U256 r{};
    u64 carry = Add(r, a, b);
    if (carry != 0 || GreaterOrEqual(r, m)) Sub(r, r, m);
    return r;
  }

  constexpr U256 SubMod(const U256& a, const U256& b) const {
    U256 r{};
    if (Sub(r, a, b) != 0) Add(r, r, m);
    return r;
  }
};

// Curve parameters of P-256 (FIPS 186-5 / SEC 2), checked against OpenSSL's
// by P256Test: a wrong constant fails every signature OpenSSL makes.
inline constexpr Modulus kP(
    FromHex("FFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF"));
inline constexpr Modulus kN(
    FromHex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551"));
inline constexpr U256 kB =
    FromHex("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B");
inline constexpr U256 kGx =
    FromHex("6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296");
inline constexpr U256 kGy =
    FromHex("4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5");

// t + a·b + carry into t; returns the new carry. (a·b + t + carry never
// exceeds 2^128 - 1.) 128-bit integers hold products only.
inline u64 MulAdd(u64& t, u64 a, u64 b, u64 carry) {
  u128 product = static_cast<u128>(a) * b;
  u64 lo = static_cast<u64>(product);
  u64 hi = static_cast<u64>(product >> 64);
  hi += AddCarry(0, lo, t, &lo);
  hi += AddCarry(0, lo, carry, &t);
  return hi;
}

// a + b into a; returns the carry.
inline u64 AddTo(u64& a, u64 b) { return AddCarry(0, a, b, &a); }

// a·b·R^-1 mod M.m for a, b < M.m (coarsely integrated operand scanning).
// M is a template argument so that its limbs are constants.
template <const Modulus& M>
U256 MontMul(const U256& a, const U256& b) {
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    u64 bi = b.v[i];
    u64 c = MulAdd(t0, a.v[0], bi, 0);
    c = MulAdd(t1, a.v[1], bi, c);
    c = MulAdd(t2, a.v[2], bi, c);
    c = MulAdd(t3, a.v[3], bi, c);
    t5 = AddTo(t4, c);
    // Add q·m, which makes the low limb zero, and drop that limb.
    u64 q = t0 * M.n0;
    if constexpr (M.m.v[0] == ~u64{0} && M.m.v[1] == 0xFFFFFFFF && M.m.v[2] == 0) {
      // p-256: n0 is 1, so q = t0; q·(2^64 - 1) + t0 = q·2^64 and the next
      // limb gains q·(2^32 - 1) + q = q·2^32; the third limb of p is 0.
      unsigned char k = AddCarry(0, t1, q << 32, &t0);
      k = AddCarry(k, t2, q >> 32, &t1);
      t2 = t3;
      c = MulAdd(t2, q, M.m.v[3], k);
    } else {
      c = MulAdd(t0, q, M.m.v[0], 0);
      c = MulAdd(t1, q, M.m.v[1], c);
      t0 = t1;
      c = MulAdd(t2, q, M.m.v[2], c);
      t1 = t2;
      c = MulAdd(t3, q, M.m.v[3], c);
      t2 = t3;
    }
    t3 = t4;
    t4 = t5 + AddTo(t3, c);
  }
  U256 r{{t0, t1, t2, t3}};
  if (t4 != 0 || GreaterOrEqual(r, M.m)) Sub(r, r, M.m);
  return r;
}

template <const Modulus& M>
U256 ToMont(const U256& a) {
  return MontMul<M>(a, M.r2_mod);
}

// a^e for a in Montgomery form (fixed 4-bit windows; e is public).
template <const Modulus& M>
U256 MontPow(const U256& a, const U256& e) {
  std::array<U256, 16> powers;
  powers[0] = M.r_mod;
  for (int i = 1; i < 16; ++i) powers[i] = MontMul<M>(powers[i - 1], a);
  U256 r = M.r_mod;
  for (int nibble = 63; nibble >= 0; --nibble) {
    for (int k = 0; k < 4; ++k) r = MontMul<M>(r, r);
    unsigned d = static_cast<unsigned>(e.v[nibble / 16] >> (4 * (nibble % 16))) & 15;
    if (d != 0) r = MontMul<M>(r, powers[d]);
  }
  return r;
}

// a^-1 (Montgomery form in and out) by Fermat's little theorem; M.m is prime.
template <const Modulus& M>
U256 MontInverse(const U256& a) {
  U256 e{};
  Sub(e, M.m, U256{{2, 0, 0, 0}});
  return MontPow<M>(a, e);
}

// Field elements are in Montgomery form modulo p throughout.
#if defined(__x86_64__) && defined(__GNUC__)
// One step of MontMul<kP> in x86-64 assembly (baseline instructions only):
// t += a·bi, then t += q·p with q = t0, as in the portable code. The caller
// drops t0, which is now zero. This is where verification spends its time,
// and GCC's code for the portable version is three times as long.
inline void MulStepP256(u64& t0, u64& t1, u64& t2, u64& t3, u64& t4, u64& t5, const U256& a,
                        u64 bi) {
  u64 c;
  asm("movq %[a0], %%rax\n\t"
      "mulq %[bi]\n\t"
      "addq %%rax, %[t0]\n\t"
      "adcq $0, %%rdx\n\t"
      "movq %%rdx, %[c]\n\t"
      "movq %[a1], %%rax\n\t"
      "mulq %[bi]\n\t"
      "addq %[c], %%rax\n\t"
      "adcq $0, %%rdx\n\t"
      "addq %%rax, %[t1]\n\t"
      "adcq $0, %%rdx\n\t"
      "movq %%rdx, %[c]\n\t"
      "movq %[a2], %%rax\n\t"
      "mulq %[bi]\n\t"
      "addq %[c], %%rax\n\t"
      "adcq $0, %%rdx\n\t"
      "addq %%rax, %[t2]\n\t"
      "adcq $0, %%rdx\n\t"
      "movq %%rdx, %[c]\n\t"
      "movq %[a3], %%rax\n\t"
      "mulq %[bi]\n\t"
      "addq %[c], %%rax\n\t"
      "adcq $0, %%rdx\n\t"
      "addq %%rax, %[t3]\n\t"
      "adcq $0, %%rdx\n\t"
      "xorl %k[t5], %k[t5]\n\t"
      "addq %%rdx, %[t4]\n\t"
      "adcq $0, %[t5]\n\t"
      // q·p = q·2^256 - q·2^224 + q·2^192 + q·2^96 - q. With t0 = q, t + q·p
      // adds q·2^32 at limb 1 (its low half there, its high half at limb 2)
      // and q·p[3] at limb 3, in one carry chain; limb 0 becomes zero.
      "movabsq $0xFFFFFFFF00000001, %%rax\n\t"
      "mulq %[t0]\n\t"
      "movq %[t0], %[c]\n\t"
      "shlq $32, %[c]\n\t"
      "shrq $32, %[t0]\n\t"
      "addq %[c], %[t1]\n\t"
      "adcq %[t0], %[t2]\n\t"
      "adcq %%rax, %[t3]\n\t"
      "adcq %%rdx, %[t4]\n\t"
      "adcq $0, %[t5]"
      : [t0] "+r"(t0), [t1] "+r"(t1), [t2] "+r"(t2), [t3] "+r"(t3), [t4] "+r"(t4), [t5] "=&r"(t5),
        [c] "=&r"(c)
      : [a0] "m"(a.v[0]), [a1] "m"(a.v[1]), [a2] "m"(a.v[2]), [a3] "m"(a.v[3]), [bi] "r"(bi)
      : "rax", "rdx", "cc");
}

// The same step with BMI2's mulx and ADX's two carry chains (adcx for the
// products' low halves, adox for their high halves): about a third fewer
// instructions. Only where the CPU has both; see FMul.
inline void MulStepP256Adx(u64& t0, u64& t1, u64& t2, u64& t3, u64& t4, u64& t5, const U256& a,
                           u64 bi) {
  static constexpr u64 kP3 = 0xFFFFFFFF00000001;
  u64 lo, hi;
  asm("xorl %k[t5], %k[t5]\n\t"  // also clears CF and OF
      "movq %[bi], %%rdx\n\t"
      "mulxq %[a0], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t0]\n\t"
      "adoxq %[hi], %[t1]\n\t"
      "mulxq %[a1], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t1]\n\t"
      "adoxq %[hi], %[t2]\n\t"
      "mulxq %[a2], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t2]\n\t"
      "adoxq %[hi], %[t3]\n\t"
      "mulxq %[a3], %[lo], %[hi]\n\t"
      "adcxq %[lo], %[t3]\n\t"
      "adoxq %[hi], %[t4]\n\t"
      "adcxq %[t5], %[t4]\n\t"  // t5 is still 0
      "movl $0, %k[lo]\n\t"
      "adcxq %[lo], %[t5]\n\t"
      "adoxq %[lo], %[t5]\n\t"
      // The reduction, as in MulStepP256.
      "movq %[t0], %%rdx\n\t"
      "mulxq %[p3], %[lo], %[hi]\n\t"
      "shlq $32, %%rdx\n\t"
      "shrq $32, %[t0]\n\t"
      "addq %%rdx, %[t1]\n\t"
      "adcq %[t0], %[t2]\n\t"
      "adcq %[lo], %[t3]\n\t"
      "adcq %[hi], %[t4]\n\t"
      "adcq $0, %[t5]"
      : [t0] "+r"(t0), [t1] "+r"(t1), [t2] "+r"(t2), [t3] "+r"(t3), [t4] "+r"(t4), [t5] "=&r"(t5),
        [lo] "=&r"(lo), [hi] "=&r"(hi)
      : [a0] "m"(a.v[0]), [a1] "m"(a.v[1]), [a2] "m"(a.v[2]), [a3] "m"(a.v[3]), [bi] "r"(bi),
        [p3] "m"(kP3)
      : "rdx", "cc");
}

inline bool CpuHasMulxAdx() {
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ebx & (1u << 8)) != 0 && (ebx & (1u << 19)) != 0;  // BMI2, ADX
}

inline const bool kHasMulxAdx = CpuHasMulxAdx();

template <bool kAdx>
U256 FMulWith(const U256& a, const U256& b) {
  static_assert(kP.m.v[3] == 0xFFFFFFFF00000001 && kP.n0 == 1);
  u64 t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, t5 = 0;
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    if constexpr (kAdx) {
      MulStepP256Adx(t0, t1, t2, t3, t4, t5, a, b.v[i]);
    } else {
      MulStepP256(t0, t1, t2, t3, t4, t5, a, b.v[i]);
    }
    t0 = t1;
    t1 = t2;
    t2 = t3;
    t3 = t4;
    t4 = t5;
  }
  U256 r{{t0, t1, t2, t3}};
  if (t4 != 0 || GreaterOrEqual(r, kP.m)) Sub(r, r, kP.m);
  return r;
}

// a·b·R^-1 mod p.
inline U256 FMul(const U256& a, const U256& b) {
  return kHasMulxAdx ? FMulWith<true>(a, b) : FMulWith<false>(a, b);
}
#else
inline U256 FMul(const U256& a, const U256& b) { return MontMul<kP>(a, b); }
#endif
inline U256 FSqr(const U256& a) { return FMul(a, a); }
inline U256 FAdd(const U256& a, const U256& b) { return kP.AddMod(a, b); }
inline U256 FSub(const U256& a, const U256& b) { return kP.SubMod(a, b); }

}  // namespace bulwark::crypto::internal::p256

#endif  // BULWARK_CRYPTO_P256_FIELD_H_
