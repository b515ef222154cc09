// A small seeded PRNG (mulberry32) for the differential tests, so that a
// failure can be replayed from its seed.
export function seededRandom(seed) {
  let state = Number(seed) >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(random() * n);
  return { random, int, pick: (xs) => xs[int(xs.length)], chance: (p) => random() < p };
}
