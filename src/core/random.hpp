// The project's random numbers: xoshiro256** streams keyed by (seed, item),
// so that per-cell results never depend on thread count or processing order.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace c2s {

inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  // A stream determined by (seed, stream) only, e.g. (user seed, cell index).
  Rng(std::uint64_t seed, std::uint64_t stream = 0) {
    std::uint64_t sm = seed ^ (stream * 0xD1B54A32D192ED03ull + 0x8CB92BA72F3D8DD7ull);
    for (auto& w : s_) w = splitmix64(sm);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform integer in [0, n) without modulo bias (Lemire's method).
  std::uint64_t below(std::uint64_t n) {
    unsigned __int128 m = (unsigned __int128)next() * n;
    std::uint64_t low = std::uint64_t(m);
    if (low < n) {
      const std::uint64_t threshold = -n % n;
      while (low < threshold) {
        m = (unsigned __int128)next() * n;
        low = std::uint64_t(m);
      }
    }
    return std::uint64_t(m >> 64);
  }

  // Uniform integer in [0, n) for n < 2^32 from half a 64-bit draw
  // (Lemire's method, exact): twice as many draws per generator step.
  std::uint32_t below32(std::uint32_t n) {
    std::uint64_t m = std::uint64_t(next32()) * n;
    std::uint32_t low = std::uint32_t(m);
    if (low < n) {
      const std::uint32_t threshold = std::uint32_t(-n) % n;
      while (low < threshold) {
        m = std::uint64_t(next32()) * n;
        low = std::uint32_t(m);
      }
    }
    return std::uint32_t(m >> 32);
  }

  // Uniform double in [0, 1).
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint32_t next32() {
    if (has_half_) {
      has_half_ = false;
      return half_;
    }
    std::uint64_t x = next();
    half_ = std::uint32_t(x >> 32);
    has_half_ = true;
    return std::uint32_t(x);
  }
  std::uint64_t s_[4];
  std::uint32_t half_ = 0;
  bool has_half_ = false;
};

// Fisher-Yates shuffle of `v`, one rng.below() draw per step from the end:
// the order follows from the stream alone.
template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

}  // namespace c2s
