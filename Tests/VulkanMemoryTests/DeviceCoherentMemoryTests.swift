import Testing
@testable import VulkanMemory

/// `AllocatorOptions.deviceCoherentMemory` (VMA's
/// `VMA_ALLOCATOR_CREATE_AMD_DEVICE_COHERENT_MEMORY_BIT`): AMD's device-coherent types are
/// chosen only with it, only for requests that name them, and only on a device with the
/// `deviceCoherentMemory` feature.
@Suite("Device-coherent memory")
struct DeviceCoherentMemoryTests {
    static let amdFlags: MemoryPropertyFlags = [.deviceCoherentAMD, .deviceUncachedAMD]

    /// The fixture profiles with AMD device-coherent types: 7 AMD GPUs.
    static let amdProfiles = realProfiles.filter { profile in
        (try? profile.memoryProperties())?.types.contains { $0.flags.contains(.deviceCoherentAMD) } ?? false
    }

    @Test("without the opt-in no AMD device-coherent type is ever a candidate, even when asked for")
    func excludedWithoutOptIn() throws {
        #expect(Self.amdProfiles.count >= 5, "the fixtures should hold the AMD profiles")
        for profile in Self.amdProfiles {
            let selection = MemoryTypeSelection(properties: try profile.memoryProperties(), isDiscrete: profile.isDiscrete)
            let requests = MemoryUsage.allCases.map { MemoryRequest.usage($0) } + [
                MemoryRequest(required: [.deviceCoherentAMD]), MemoryRequest(preferred: Self.amdFlags),
            ]
            for request in requests {
                for index in selection.rankedTypes(for: request) {
                    #expect(selection.properties.types[index].flags.isDisjoint(with: Self.amdFlags),
                            "\(profile.name): type \(index) offered for \(request)")
                }
            }
        }
    }

    @Test("with the opt-in a coherent-and-uncached type serves a request naming DEVICE_COHERENT_AMD; intents are unchanged")
    func chosenWhenNamed() throws {
        for profile in Self.amdProfiles {
            let properties = try profile.memoryProperties()
            let plain = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
            let amd = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete,
                                          allowsDeviceCoherentMemory: true)
            // Every type of these GPUs that is DEVICE_COHERENT_AMD is DEVICE_UNCACHED_AMD too.
            for request in [MemoryRequest(required: [.deviceCoherentAMD]), MemoryRequest(preferred: [.deviceCoherentAMD]),
                            MemoryRequest(required: [.deviceCoherentAMD, .hostVisible])] {
                let best = try #require(amd.bestType(for: request), "\(profile.name): nothing for \(request)")
                #expect(properties.types[best].flags.isSuperset(of: Self.amdFlags), "\(profile.name): \(request)")
            }
            // Required flags are honoured among the AMD types too.
            let visible = try #require(amd.bestType(for: MemoryRequest(required: [.deviceCoherentAMD, .hostVisible])))
            #expect(properties.types[visible].flags.contains(.hostVisible))
            // Intents never land in AMD memory: the opt-in only makes it available.
            for usage in MemoryUsage.allCases {
                #expect(amd.rankedTypes(for: .usage(usage)) == plain.rankedTypes(for: .usage(usage)),
                        "\(profile.name): \(usage)")
            }
        }
    }

    @Test("an allocator asking for it on a device without the feature is refused with a typed error")
    func refusedWithoutFeature() throws {
        // lavapipe and NVIDIA lack VK_AMD_device_coherent_memory: asking for it enables nothing.
        try withTestDevice(capabilities: [.deviceCoherentMemory]) { context in
            #expect(!context.device.capabilities.contains(.deviceCoherentMemory))
            var options = AllocatorOptions()
            options.deviceCoherentMemory = true
            #expect(throws: AllocationError.memory(.capabilityNotEnabled(.deviceCoherentMemory,
                                                                          operation: "AllocatorOptions.deviceCoherentMemory"))) {
                _ = try Allocator(validating: options, device: context.device)
            }
            // The non-throwing initializer treats the option as off.
            let allocator = Allocator(device: context.device, options: options)
            #expect(!allocator.selection.allowsDeviceCoherentMemory)
            // Options asking nothing of the device pass.
            let checked = try Allocator(validating: AllocatorOptions(), device: context.device)
            #expect(checked.options.deviceCoherentMemory == false)
        }
    }

    @Test("on a profiled RX 6600 with the feature, a request naming DEVICE_COHERENT_AMD allocates that memory", needsLavapipe)
    func allocatesOnProfiledAMD() throws {
        let profile = try realProfile("AMD Radeon RX 6600")
        try withProfiledDevice(profile, heapSizeOverride: 64 << 20, presentedCapabilities: [.deviceCoherentMemory]) { device in
            var options = AllocatorOptions()
            options.deviceCoherentMemory = true
            let allocator = try Allocator(validating: options, device: device)
            let allocation = try allocator.allocate(MemoryRequirements(size: 4096), MemoryRequest(required: [.deviceCoherentAMD]))
            #expect(allocator.properties.types[allocation.memoryTypeIndex].flags.isSuperset(of: Self.amdFlags))
            // Ordinary intents stay out of it.
            let plain = try allocator.allocate(MemoryRequirements(size: 4096), usage: .gpuOnly)
            #expect(allocator.properties.types[plain.memoryTypeIndex].flags.isDisjoint(with: Self.amdFlags))
            // A custom pool of an AMD type can be made now.
            let type = try #require(allocator.properties.types.first { $0.flags.contains(.deviceCoherentAMD) })
            let pool = try allocator.makePool(PoolOptions(name: "markers", memoryTypeIndex: type.index, pageSize: 1 << 20))
            let marker = try allocator.allocate(MemoryRequirements(size: 256), in: pool)
            try allocator.free(marker)
            try allocator.destroyPool(pool)
            try allocator.free(plain)
            try allocator.free(allocation)

            // Without the opt-in, on the same device, the request finds no type.
            let refusing = Allocator(device: device)
            #expect(throws: AllocationError.self) {
                try refusing.free(try refusing.allocate(MemoryRequirements(size: 4096),
                                                        MemoryRequest(required: [.deviceCoherentAMD])))
            }
            #expect(throws: AllocationError.memory(.featureNotEnabled(typeIndex: type.index, flags: type.flags,
                                                                      feature: "deviceCoherentMemory"))) {
                try refusing.destroyPool(try refusing.makePool(PoolOptions(name: "markers", memoryTypeIndex: type.index,
                                                                           pageSize: 1 << 20)))
            }
        }
    }
}
