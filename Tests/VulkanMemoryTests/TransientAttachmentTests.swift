import Testing
@testable import VulkanMemory

/// `MemoryUsage.transientAttachment` on the 46 real devices' memory tables: lazily
/// allocated memory where the device has it (tile-based GPUs), device-local elsewhere.
@Suite("Transient attachments on tile-based and desktop GPUs")
struct TransientAttachmentTests {
    typealias Flags = MemoryPropertyFlags

    /// The profiles whose memory tables list a `LAZILY_ALLOCATED` type: exactly the
    /// tile-based GPUs with one in the fixture. The fixture's Adreno 540 and PowerVR Rogue
    /// GE8300 dumps list none (the PowerVR has a single type), so on them the intent must
    /// fall back like any desktop GPU's.
    static let lazilyAllocating = ["Mali-T760", "Apple M1", "Apple M2", "Apple M3 Max"]

    @Test("picks lazily allocated memory where it exists, device-local elsewhere", arguments: ProfileCase.all)
    func choiceOn(_ profileCase: ProfileCase) throws {
        let profile = profileCase.profile
        let properties = try profile.memoryProperties()
        let types = properties.types
        let selection = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
        let best = try #require(selection.bestType(for: .usage(.transientAttachment)), "\(profile.name): no type")
        let flags = types[best].flags
        let context = "\(profile.name): type \(best) \(flags)"
        let lazyTypes = types.filter { $0.flags.contains(.lazilyAllocated) }
        if lazyTypes.isEmpty {
            #expect(flags.contains(.deviceLocal), "\(context)")
            // The host-visible window of VRAM is kept for data the host writes.
            if types.contains(where: { $0.flags.contains(.deviceLocal) && !$0.flags.contains(.hostVisible)
                                        && $0.flags.isDisjoint(with: MemoryTypeSelection.specialPurposeFlags) }) {
                #expect(!flags.contains(.hostVisible), "\(context)")
            }
            #expect(!Self.lazilyAllocating.contains(profile.name), "\(context): the fixture lists a lazy type here")
        } else {
            #expect(flags.isSuperset(of: [.lazilyAllocated, .deviceLocal]), "\(context)")
            #expect(Self.lazilyAllocating.contains(profile.name), "\(context): a new profile with lazy memory")
        }
        // A resource that does not accept lazily allocated memory (a buffer, an image
        // without TRANSIENT_ATTACHMENT usage) falls back to device-local memory, not fails.
        let withoutLazy = types.filter { !$0.flags.contains(.lazilyAllocated) }
            .reduce(UInt32(0)) { $0 | 1 << UInt32($1.index) }
        let fallback = try #require(selection.bestType(for: .usage(.transientAttachment, memoryTypeBits: withoutLazy)),
                                    "\(profile.name): no fallback")
        #expect(types[fallback].flags.contains(.deviceLocal), "\(profile.name): fallback type \(fallback)")
        #expect(!types[fallback].flags.contains(.lazilyAllocated))
    }

    @Test("the fixture's mobile, Apple and desktop families")
    func families() throws {
        func bestFlags(_ profile: DeviceProfile) throws -> Flags {
            let properties = try profile.memoryProperties()
            let selection = MemoryTypeSelection(properties: properties, isDiscrete: profile.isDiscrete)
            return properties.types[try #require(selection.bestType(for: .usage(.transientAttachment)))].flags
        }
        // Tile-based GPUs whose drivers offer lazily allocated memory (Mali, Apple's
        // memoryless storage through MoltenVK) get it.
        for profile in realProfiles(matching: ["Mali", "Apple"]) {
            #expect(try bestFlags(profile).contains(.lazilyAllocated), "\(profile.name)")
        }
        // The fixture's Adreno and PowerVR list no lazily allocated type: device-local.
        for profile in realProfiles(matching: ["Adreno", "PowerVR"]) {
            let flags = try bestFlags(profile)
            #expect(flags.contains(.deviceLocal) && !flags.contains(.lazilyAllocated), "\(profile.name): \(flags)")
        }
        // Desktop GPUs: device-local VRAM that is not host-visible where there is any.
        let desktop = realProfiles.filter { $0.deviceType == "DISCRETE_GPU" && !$0.name.contains("PowerVR") }
        #expect(desktop.count > 20)
        for profile in desktop {
            let flags = try bestFlags(profile)
            #expect(flags.contains(.deviceLocal) && !flags.contains(.lazilyAllocated), "\(profile.name): \(flags)")
        }
        #expect(Set(realProfiles.filter { (try? bestFlags($0).contains(.lazilyAllocated)) == true }.map(\.name))
                == Set(Self.lazilyAllocating))
    }

    /// Real transient images and buffers through the allocator on profiled devices: the
    /// image lands in the lazily allocated type where there is one, the buffer (which never
    /// accepts one) in device-local memory, and the validation layer sees valid binds.
    @Test("transient images and buffers on profiled devices", needsLavapipe,
          arguments: [ProfileCase.named("Mali-T760"), .named("Apple M1"), .named("NVIDIA GeForce RTX 4070"),
                      .named("Adreno (TM) 540"), .named("PowerVR Rogue GE8300")])
    func onProfiledDevice(_ profileCase: ProfileCase) throws {
        let profile = profileCase.profile
        let hasLazy = profile.memoryTypes.contains { $0.propertyFlags.contains("LAZILY_ALLOCATED") }
        try withProfiledDevice(profile) { device in
            let allocator = Allocator(device: device)
            let description = ImageDescription(width: 256, height: 256, usage: [.colorAttachment, .transientAttachment],
                                               memory: .usage(.transientAttachment), name: "transient color")
            let image = try allocator.createImage(description.exclusiveCreateInfo, description.memory,
                                                  options: AllocationOptions(name: description.name))
            let imageFlags = allocator.properties.types[image.allocation.memoryTypeIndex].flags
            #expect(imageFlags.contains(.lazilyAllocated) == hasLazy, "\(profile.name): image in \(imageFlags)")
            #expect(imageFlags.contains(.deviceLocal), "\(profile.name): image in \(imageFlags)")
            let buffer = try allocator.createBuffer(
                BufferDescription(size: 1 << 16, usage: .storageBuffer).exclusiveCreateInfo, .usage(.transientAttachment))
            let bufferFlags = allocator.properties.types[buffer.allocation.memoryTypeIndex].flags
            #expect(bufferFlags.contains(.deviceLocal) && !bufferFlags.contains(.lazilyAllocated),
                    "\(profile.name): buffer in \(bufferFlags)")
            try allocator.destroyImage(image)
            try allocator.destroyBuffer(buffer)
        }
    }
}
