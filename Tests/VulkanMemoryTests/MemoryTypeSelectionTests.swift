import Testing
@testable import VulkanMemory

/// The type-choice rules, checked on every real device profile.
@Suite("Memory type selection on 46 real devices")
struct MemoryTypeSelectionTests {
    typealias Flags = MemoryPropertyFlags

    static var devices: [DeviceProfile] { realProfiles }

    @Test(arguments: devices)
    func rulesHoldOn(_ profile: DeviceProfile) throws {
        let properties = try profile.memoryProperties()
        let selection = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
        let types = properties.types
        let special = MemoryTypeSelection.specialPurposeFlags
        func ordinary(_ t: MemoryType) -> Bool {
            t.flags.isDisjoint(with: special) && properties.heaps[t.heapIndex].size > 0
        }
        func exists(_ has: Flags, without: Flags = []) -> Bool {
            types.contains { ordinary($0) && $0.flags.isSuperset(of: has) && $0.flags.isDisjoint(with: without) }
        }

        for usage in MemoryUsage.allCases {
            let ranked = selection.rankedTypes(for: .usage(usage))
            let context = "\(profile.name) \(usage): \(ranked)"
            #expect(!ranked.isEmpty, "\(context)")
            #expect(Set(ranked).count == ranked.count, "\(context)")
            // Never a protected or AMD special-purpose type; lazily allocated only for
            // transient attachments, the one intent that asks for it.
            let allowed: Flags = usage == .transientAttachment ? .lazilyAllocated : []
            let excluded = special.subtracting(allowed)
            #expect(ranked.allSatisfy { types[$0].flags.isDisjoint(with: excluded) }, "\(context)")
            // Ranked by cost, ties by index.
            let costs = ranked.map { selection.cost(of: types[$0], for: .usage(usage))! }
            for i in costs.indices.dropFirst() {
                #expect(costs[i - 1] < costs[i] || (costs[i - 1] == costs[i] && ranked[i - 1] < ranked[i]), "\(context)")
            }
            // Every ordinary type satisfying the intent's requirement is a candidate.
            let required: Flags = usage == .gpuOnly || usage == .transientAttachment ? [] : .hostVisible
            let candidates = types.filter {
                $0.flags.isDisjoint(with: excluded) && properties.heaps[$0.heapIndex].size > 0
                    && $0.flags.isSuperset(of: required)
            }
            #expect(Set(ranked) == Set(candidates.map(\.index)), "\(context)")
            guard let best = ranked.first.map({ types[$0].flags }) else { continue }
            switch usage {
            case .gpuOnly:
                if exists(.deviceLocal, without: .hostVisible) {
                    #expect(best.contains(.deviceLocal) && !best.contains(.hostVisible), "\(context)")
                } else if exists(.deviceLocal) {
                    #expect(best.contains(.deviceLocal), "\(context)")
                }
            case .staging:
                #expect(best.contains(.hostVisible), "\(context)")
                let ideal: Flags = profile.isDiscrete ? [.deviceLocal, .hostCached] : .hostCached
                if exists([.hostVisible, .hostCoherent], without: ideal) {
                    #expect(best.contains(.hostCoherent) && best.isDisjoint(with: ideal), "\(context)")
                }
            case .dynamic:
                #expect(best.contains(.hostVisible), "\(context)")
                if exists([.hostVisible, .deviceLocal]) {
                    #expect(best.contains(.deviceLocal), "\(context)")
                }
            case .readback:
                #expect(best.contains(.hostVisible), "\(context)")
                if exists([.hostVisible, .hostCached]) {
                    #expect(best.contains(.hostCached), "\(context)")
                }
            case .transientAttachment:
                if types.contains(where: { $0.flags.contains(.lazilyAllocated) && $0.flags.isDisjoint(with: excluded) }) {
                    #expect(best.contains(.lazilyAllocated), "\(context)")
                } else if exists(.deviceLocal, without: .hostVisible) {
                    #expect(best.contains(.deviceLocal) && !best.contains(.hostVisible), "\(context)")
                } else if exists(.deviceLocal) {
                    #expect(best.contains(.deviceLocal), "\(context)")
                }
            }
        }
    }

    @Test func h100ChoicesAreTheExpectedTypes() throws {
        let h100 = try #require(realProfiles.first { $0.name.contains("H100") })
        let selection = MemoryTypeSelection(properties: try h100.memoryProperties(), isDiscrete: true)
        #expect(selection.bestType(for: .usage(.gpuOnly)) == 1)
        #expect(selection.bestType(for: .usage(.staging)) == 2)
        #expect(selection.bestType(for: .usage(.dynamic)) == 4)
        #expect(selection.bestType(for: .usage(.readback)) == 3)
        // The resource accepts only types 2 and 3: gpuOnly falls back to host memory.
        #expect(selection.rankedTypes(for: .usage(.gpuOnly, memoryTypeBits: 0b1100)) == [2, 3])
        #expect(selection.bestType(for: .usage(.gpuOnly, memoryTypeBits: 0)) == nil)
    }

    @Test func specialTypesOnlyWhenAskedFor() throws {
        let mali = try #require(realProfiles.first { profile in
            (try? profile.memoryProperties())?.types.contains { $0.isLazilyAllocated } == true
        })
        let properties = try mali.memoryProperties()
        let selection = MemoryTypeSelection(properties: properties, isDiscrete: mali.isDiscrete)
        let lazy = try #require(properties.types.first { $0.isLazilyAllocated })
        #expect(!selection.rankedTypes(for: .usage(.gpuOnly)).contains(lazy.index))
        let asked = MemoryRequest(required: [.deviceLocal, .lazilyAllocated])
        #expect(selection.bestType(for: asked) == lazy.index)
    }

    @Test func explicitFlagsCombineWithIntent() throws {
        let h100 = try #require(realProfiles.first { $0.name.contains("H100") })
        let selection = MemoryTypeSelection(properties: try h100.memoryProperties(), isDiscrete: true)
        // Readback that must also be device-local: only the BAR type qualifies.
        #expect(selection.rankedTypes(for: MemoryRequest(usage: .readback, required: .deviceLocal)) == [4])
        // No intent, plain flags.
        #expect(selection.bestType(for: MemoryRequest(required: [.hostVisible], preferred: .hostCached)) == 3)
        #expect(selection.bestType(for: MemoryRequest(required: [.protected])) == nil)
    }
}

extension DeviceProfile: CustomTestStringConvertible {
    public var testDescription: String { name }
}
