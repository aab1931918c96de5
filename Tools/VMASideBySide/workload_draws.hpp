// The random draws of this project's benchmark workloads, bit for bit as
// Sources/Workloads (WyRand in VirtualWorkloads.swift, ResourceWorkload.draw()), for the
// VMA side-by-side program. Tests/WorkloadsTests/VMASideBySideDrawTests.swift compiles
// draws_check.cpp against this header and compares its output with the Swift side's.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace draws {

struct WyRand {
    uint64_t state;

    uint64_t next() {
        state += 0xA0761D6478BD642FULL;
        unsigned __int128 product = (unsigned __int128)state * (state ^ 0xE7037ED1A0B428DBULL);
        return (uint64_t)(product >> 64) ^ (uint64_t)product;
    }

    int below(int bound) { return (int)(next() % (uint64_t)bound); }

    // The Swift side's own exp2 (a 12-term series on the fraction), so sizes agree exactly.
    static double exp2Series(double x) {
        double whole = std::floor(x);
        double f = (x - whole) * 0.6931471805599453;
        double term = 1.0, sum = 1.0;
        for (int n = 1; n <= 12; n++) {
            term *= f / (double)n;
            sum += term;
        }
        return std::ldexp(sum, (int)whole);
    }

    uint64_t logUniform(uint64_t low, uint64_t high) {
        double lowBits = (double)(63 - __builtin_clzll(low));
        double highBits = (double)(63 - __builtin_clzll(high));
        double unit = (double)(next() >> 11) / (double)(1ULL << 53);
        double exponent = lowBits + unit * (highBits - lowBits);
        uint64_t value = (uint64_t)exp2Series(exponent);
        return std::min(high, std::max(low, value));
    }
};

// W3 (ResourceWorkload.draw()): initial sizes, then step sizes, then victims.
struct ResourceDraw {
    std::vector<uint64_t> initialSizes, stepSizes;
    std::vector<int> victims;
};

inline ResourceDraw drawResources(uint64_t seed, int live, int steps) {
    WyRand random{seed};
    ResourceDraw d{std::vector<uint64_t>(live), std::vector<uint64_t>(steps), std::vector<int>(steps)};
    for (auto& size : d.initialSizes) size = random.logUniform(4 << 10, 1 << 20);
    for (auto& size : d.stepSizes) size = random.logUniform(4 << 10, 1 << 20);
    for (auto& victim : d.victims) victim = random.below(live);
    return d;
}

// W1, W4, W5 (runSteady): the live set's sizes, then each step's size, then each victim.
struct SteadyDraw {
    std::vector<uint64_t> initial;
    std::vector<uint32_t> sizes, victims;
};

inline SteadyDraw drawSteady(uint64_t seed, int live, int steps) {
    WyRand rng{seed};
    SteadyDraw d{std::vector<uint64_t>(live), std::vector<uint32_t>(steps), std::vector<uint32_t>(steps)};
    for (auto& size : d.initial) size = rng.logUniform(256, 1 << 20);
    for (auto& size : d.sizes) size = (uint32_t)rng.logUniform(256, 1 << 20);
    for (auto& victim : d.victims) victim = (uint32_t)rng.below(live);
    return d;
}

// W2 (runFillThenDrain): the order of the frees, a Fisher-Yates shuffle from the end.
inline std::vector<int> drawFreeOrder(uint64_t seed, int count) {
    WyRand rng{seed};
    std::vector<int> order(count);
    for (int i = 0; i < count; i++) order[i] = i;
    for (int i = count - 1; i > 0; i--) std::swap(order[i], order[rng.below(i + 1)]);
    return order;
}

} // namespace draws
