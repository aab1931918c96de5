/// A small, fast deterministic generator (SplitMix64), so a failing seed replays exactly.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in `0..<bound` (bound > 0); the modulo bias does not matter for tests.
    mutating func below(_ bound: UInt64) -> UInt64 { next() % bound }

    /// Uniform in `range`.
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(below(UInt64(range.upperBound - range.lowerBound + 1)))
    }

    /// True with probability `percent`/100.
    mutating func chance(_ percent: UInt64) -> Bool { below(100) < percent }

    /// Log-uniform in `1...max`: every power of two is about as likely, as real sizes are.
    mutating func logUniform(max: UInt64) -> UInt64 {
        let bits = UInt64(64 - max.leadingZeroBitCount)
        let e = below(bits)
        return Swift.min(max, (1 << e) + below(1 << e))
    }

    /// One element of a non-empty array.
    mutating func pick<T>(_ items: [T]) -> T { items[Int(below(UInt64(items.count)))] }
}
