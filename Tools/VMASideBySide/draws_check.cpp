// Prints a digest of each workload's draws from workload_draws.hpp, for
// Tests/WorkloadsTests/VMASideBySideDrawTests.swift to compare with the Swift side's.
// Output: one line per draw, "name count fnv1a64", the values hashed as 64-bit words.
#include "workload_draws.hpp"

#include <cstdio>

namespace {

struct Digest {
    uint64_t hash = 0xcbf29ce484222325ULL;
    uint64_t count = 0;
    void add(uint64_t value) {
        for (int byte = 0; byte < 8; byte++) {
            hash ^= (value >> (8 * byte)) & 0xff;
            hash *= 0x100000001b3ULL;
        }
        count++;
    }
};

template <typename T> void print(const char* name, const std::vector<T>& values) {
    Digest d;
    for (T v : values) d.add((uint64_t)v);
    std::printf("%s %llu %016llx\n", name, (unsigned long long)d.count, (unsigned long long)d.hash);
}

} // namespace

int main() {
    auto w3 = draws::drawResources(3, 2000, 100000);
    print("w3.initialSizes", w3.initialSizes);
    print("w3.stepSizes", w3.stepSizes);
    print("w3.victims", w3.victims);
    auto w1 = draws::drawSteady(1, 10000, 1000000);
    print("w1.initial", w1.initial);
    print("w1.sizes", w1.sizes);
    print("w1.victims", w1.victims);
    print("w2.order", draws::drawFreeOrder(1, 100000));
    return 0;
}
