import Testing
@testable import VulkanMemory

/// `AllocationOptions.hostAccess` and `allowTransferInstead` (VMA's host-access flags with
/// `VMA_MEMORY_USAGE_AUTO`) on real GPUs' memory tables: the type chosen by the pure
/// selection, and allocations made on those layouts over lavapipe under the validation
/// layer, mappable or saying they are not.
@Suite("Host-access intents on real layouts", needsLavapipe)
struct HostAccessTests {
    /// One expectation: on `device`, `usage` with `access` (and transfer allowed or not)
    /// chooses type `type`.
    struct Case: CustomTestStringConvertible, Sendable {
        let device: String
        let usage: MemoryUsage
        let access: HostAccess
        let transferInstead: Bool
        let type: Int
        var testDescription: String {
            "\(device): \(usage) \(access)\(transferInstead ? " transfer instead" : "") → type \(type)"
        }
    }

    static let cases: [Case] = [
        // Discrete with a 256 MiB BAR (type 5: DEVICE_LOCAL | HOST_VISIBLE | HOST_COHERENT).
        Case(device: "NVIDIA GeForce RTX 3090", usage: .dynamic, access: .sequentialWrite, transferInstead: false, type: 5),
        Case(device: "NVIDIA GeForce RTX 3090", usage: .staging, access: .sequentialWrite, transferInstead: true, type: 3),
        Case(device: "NVIDIA GeForce RTX 3090", usage: .readback, access: .random, transferInstead: false, type: 4),
        Case(device: "NVIDIA GeForce RTX 3090", usage: .gpuOnly, access: .sequentialWrite, transferInstead: true, type: 5),
        // Random access with transfer allowed: VRAM (type 1) ties with cached system RAM
        // and comes first.
        Case(device: "NVIDIA GeForce RTX 3090", usage: .gpuOnly, access: .random, transferInstead: true, type: 1),
        // Discrete without a BAR: write-combined system RAM, or VRAM when transfer is allowed.
        Case(device: "GeForce GTX 950", usage: .dynamic, access: .sequentialWrite, transferInstead: false, type: 9),
        Case(device: "GeForce GTX 950", usage: .dynamic, access: .sequentialWrite, transferInstead: true, type: 7),
        Case(device: "GeForce GTX 950", usage: .readback, access: .random, transferInstead: true, type: 10),
        // ReBAR: all of VRAM host-visible (type 4 on heap 0).
        Case(device: "NVIDIA GeForce RTX 4060", usage: .dynamic, access: .sequentialWrite, transferInstead: true, type: 4),
        Case(device: "NVIDIA GeForce RTX 4060", usage: .staging, access: .sequentialWrite, transferInstead: false, type: 2),
        // AMD with its BAR at type 2; its DEVICE_UNCACHED_AMD types are never chosen.
        Case(device: "AMD Radeon RX 6600", usage: .dynamic, access: .sequentialWrite, transferInstead: false, type: 2),
        Case(device: "AMD Radeon RX 6600", usage: .gpuOnly, access: .random, transferInstead: false, type: 3),
        Case(device: "AMD Radeon RX 6600", usage: .gpuOnly, access: .random, transferInstead: true, type: 0),
        // Integrated: transfer instead changes nothing, everything stays mappable.
        Case(device: "Intel(R) Graphics (ADL GT2)", usage: .dynamic, access: .sequentialWrite, transferInstead: true, type: 1),
        Case(device: "Intel(R) Graphics (ADL GT2)", usage: .gpuOnly, access: .random, transferInstead: true, type: 2),
        Case(device: "Apple M1", usage: .dynamic, access: .sequentialWrite, transferInstead: true, type: 1),
        Case(device: "Apple M1", usage: .readback, access: .random, transferInstead: false, type: 1),
        Case(device: "Adreno (TM) 540", usage: .readback, access: .random, transferInstead: false, type: 1),
    ]

    /// The pure choice: VMA's rules give the expected type on each profiled device.
    @Test(arguments: cases)
    func selectionFollowsVMAsRules(_ expected: Case) throws {
        let profile = try realProfile(expected.device)
        let selection = MemoryTypeSelection(properties: try profile.memoryProperties(), isDiscrete: profile.isDiscrete)
        let ranked = selection.rankedTypes(for: .usage(expected.usage), hostAccess: expected.access,
                                           allowTransferInstead: expected.transferInstead)
        #expect(ranked.first == expected.type, "ranked \(ranked)")
    }

    /// Without transfer instead every host access lands in host-visible memory on every
    /// profiled device, whatever the intent.
    @Test func hostAccessAlwaysMeansMappableWithoutTransfer() throws {
        for profile in realProfiles {
            let properties = try profile.memoryProperties()
            let selection = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
            for usage in MemoryUsage.allCases {
                for access in [HostAccess.sequentialWrite, .random] {
                    let ranked = selection.rankedTypes(for: .usage(usage), hostAccess: access)
                    #expect(ranked.allSatisfy { properties.types[$0].isHostVisible }, "\(profile.name) \(usage) \(access)")
                    #expect(!ranked.isEmpty, "\(profile.name) \(usage) \(access)")
                }
            }
        }
    }

    /// Through the allocator (pages and dedicated memory, under the validation layer): a
    /// BAR takes sequential writes mapped; without one, transfer instead gives VRAM that
    /// `isHostVisible` says cannot be mapped, with no pointer; an integrated GPU stays
    /// mappable.
    @Test(arguments: [("NVIDIA GeForce RTX 3090", true), ("GeForce GTX 950", false), ("Apple M1", true)])
    func allocationsSayWhetherTheyCanBeMapped(_ device: String, mappable: Bool) throws {
        try withProfiledDevice(try realProfile(device)) { device in
            let allocator = Allocator(device: device)
            let requirements = MemoryRequirements(size: 64 << 10, alignment: 256, kind: .linear)
            for dedicated in [AllocationOptions.DedicatedPolicy.never, .always] {
                let options = AllocationOptions(dedicated: dedicated, mapped: true, hostAccess: .sequentialWrite,
                                                allowTransferInstead: true)
                let allocation = try allocator.allocate(requirements, usage: .gpuOnly, options: options)
                #expect(allocator.isHostVisible(allocation) == mappable)
                #expect((allocation.mappedPointer != nil) == mappable)
                if mappable { try allocator.map(allocation).write(UInt32(7)) }
                // Without transfer instead the same request is always mappable.
                let direct = try allocator.allocate(requirements, usage: .gpuOnly, options: AllocationOptions(
                    dedicated: dedicated, mapped: true, hostAccess: .sequentialWrite))
                #expect(allocator.isHostVisible(direct) && direct.mappedPointer != nil)
                try allocator.free(allocation)
                try allocator.free(direct)
            }
        }
    }
}
