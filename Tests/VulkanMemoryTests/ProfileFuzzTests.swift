import Foundation
import Testing
@testable import VulkanMemory

/// Seeded mutations of the 46 real profiles: every one either loads into properties that
/// keep Vulkan's rules (at most 32 types and 16 heaps, every type's heap present) and
/// whose type choice only ever names a type the request accepts, or is refused with a
/// `DeviceProfile.LoadError`; never a crash. 2,000 iterations in `make test`;
/// `VKMEM_FUZZ_ITERATIONS` sets more (`make test-long`), `VKMEM_FUZZ_SEED` another seed.
@Suite("Profile fuzzing")
struct ProfileFuzzTests {
    static var iterations: Int {
        ProcessInfo.processInfo.environment["VKMEM_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 2_000
    }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["VKMEM_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED
    }

    /// Values chosen to hit edges: zero, one, powers of two and their neighbours, the top
    /// of each integer width, negatives.
    static var edgeNumbers: [Any] {
        [0, 1, -1, 2, 3, 31, 32, 33, 15, 16, 17, 255, 256, 4095, 4096,
         Int(Int32.max), Int(UInt32.max), Int.max, Int.min, 1.5, "1", NSNull()]
    }
    static let flagNames = ["DEVICE_LOCAL", "HOST_VISIBLE", "HOST_COHERENT", "HOST_CACHED", "LAZILY_ALLOCATED",
                            "PROTECTED", "DEVICE_COHERENT_AMD", "DEVICE_UNCACHED_AMD", "RDMA_CAPABLE_NV",
                            "MULTI_INSTANCE", "NOT_A_FLAG", ""]

    @Test func mutatedProfilesLoadSafelyOrAreRefused() throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: profilePath)))
        let profiles = try #require(original as? [[String: Any]])
        var generator = SplitMix64(seed: Self.seed)
        var loaded = 0, refused = 0
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vkmem-fuzz-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: url) }
        for iteration in 0..<Self.iterations {
            var profile = profiles[Int(generator.next() % UInt64(profiles.count))]
            for _ in 0...(generator.next() % 4) { Self.mutate(&profile, &generator) }
            var data = try JSONSerialization.data(withJSONObject: [profile])
            if generator.next() % 8 == 0 { Self.corrupt(&data, &generator) }
            try data.write(to: url)
            do {
                let properties = try DeviceProfile.load(path: url.path).first?.memoryProperties()
                guard let properties else { refused += 1; continue }
                loaded += 1
                try Self.check(properties, iteration: iteration)
            } catch let error as DeviceProfile.LoadError {
                #expect(!error.description.isEmpty)
                refused += 1
            }
        }
        // Both outcomes must occur, or the mutations are not reaching the checks.
        #expect(loaded > Self.iterations / 10 && refused > Self.iterations / 10, "loaded \(loaded), refused \(refused)")
    }

    /// Vulkan's rules for what loaded, and type choice over every intent and a few type
    /// masks.
    static func check(_ properties: MemoryProperties, iteration: Int) throws {
        #expect((1...MemoryProperties.maxMemoryTypes).contains(properties.types.count), "iteration \(iteration)")
        #expect((1...MemoryProperties.maxMemoryHeaps).contains(properties.heaps.count), "iteration \(iteration)")
        for type in properties.types { #expect(properties.heaps.indices.contains(type.heapIndex)) }
        for discrete in [false, true] {
            let selection = MemoryTypeSelection(properties: properties, isDiscrete: discrete)
            for usage in MemoryUsage.allCases {
                for bits: UInt32 in [.max, 1, 0b1010, 0] {
                    let request = MemoryRequest(usage: usage, memoryTypeBits: bits)
                    let ranked = selection.rankedTypes(for: request)
                    #expect(Set(ranked).count == ranked.count, "iteration \(iteration): a type ranked twice")
                    for index in ranked {
                        #expect(properties.types.indices.contains(index) && bits & (1 << index) != 0,
                                "iteration \(iteration): type \(index) ranked for bits \(bits)")
                    }
                    #expect(selection.bestType(for: request) == ranked.first)
                }
            }
        }
    }

    /// One structural change: a field set to an edge value, a flag added or removed, a heap
    /// or type duplicated or dropped, a heap index out of range.
    static func mutate(_ profile: inout [String: Any], _ generator: inout SplitMix64) {
        var heaps = profile["memoryHeaps"] as? [[String: Any]] ?? []
        var types = profile["memoryTypes"] as? [[String: Any]] ?? []
        func edge() -> Any { edgeNumbers[Int(generator.next() % UInt64(edgeNumbers.count))] }
        func flag() -> String { flagNames[Int(generator.next() % UInt64(flagNames.count))] }
        switch generator.next() % 10 {
        case 0 where !types.isEmpty:
            types[Int(generator.next() % UInt64(types.count))]["heapIndex"] = edge()
        case 1 where !heaps.isEmpty:
            heaps[Int(generator.next() % UInt64(heaps.count))]["size"] = edge()
        case 2 where !types.isEmpty:
            let index = Int(generator.next() % UInt64(types.count))
            var flags = types[index]["propertyFlags"] as? [String] ?? []
            if flags.isEmpty || generator.next() % 2 == 0 { flags.append(flag()) } else { flags.removeLast() }
            types[index]["propertyFlags"] = flags
        case 3:
            // Types past 32: copies of what is there.
            let extra = Int(generator.next() % 40)
            if let first = types.first { types += Array(repeating: first, count: extra) }
        case 4:
            let extra = Int(generator.next() % 20)
            if let first = heaps.first { heaps += Array(repeating: first, count: extra) }
        case 5 where !types.isEmpty: types.remove(at: Int(generator.next() % UInt64(types.count)))
        case 6 where !heaps.isEmpty: heaps.remove(at: Int(generator.next() % UInt64(heaps.count)))
        case 7:
            let keys = ["bufferImageGranularity", "nonCoherentAtomSize", "maxMemoryAllocationCount", "minMemoryMapAlignment",
                        "vendorID", "deviceType", "name", "memoryBudgetExtension"]
            profile[keys[Int(generator.next() % UInt64(keys.count))]] = edge()
        case 8 where !heaps.isEmpty:
            heaps[Int(generator.next() % UInt64(heaps.count))]["flags"] = [flag()]
        default:
            types.shuffle(using: &generator)
        }
        profile["memoryHeaps"] = heaps
        profile["memoryTypes"] = types
    }

    /// A few bytes of the encoded file flipped, dropped or cut off.
    static func corrupt(_ data: inout Data, _ generator: inout SplitMix64) {
        guard !data.isEmpty else { return }
        switch generator.next() % 3 {
        case 0: data[Int(generator.next() % UInt64(data.count))] ^= UInt8(truncatingIfNeeded: generator.next() | 1)
        case 1: data.remove(at: Int(generator.next() % UInt64(data.count)))
        default: data = data.prefix(Int(generator.next() % UInt64(data.count)))
        }
    }
}
