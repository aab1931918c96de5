/// What memory is for: the intent from which the allocator chooses a memory type.
///
/// The names match the common cases of VMA's `VMA_MEMORY_USAGE_AUTO` with host-access
/// flags, gpu-allocator's `MemoryLocation` and gpu-alloc's `UsageFlags`.
public enum MemoryUsage: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Only the device reads and writes it: render targets, textures, vertex buffers filled
    /// by copies. Device-local; host-visible VRAM (the BAR) is left free when a plain
    /// device-local type exists.
    case gpuOnly
    /// The host writes it once, sequentially, then a copy moves it to the device.
    /// Host-visible; coherent and uncached preferred; not device-local on a discrete GPU.
    case staging
    /// The host writes it, the device reads it directly, every frame (uniforms, dynamic
    /// vertices). Host-visible; device-local preferred, cached avoided, coherent leaned to.
    case dynamic
    /// The device writes it, the host reads it back. Host-visible; cached preferred,
    /// coherent leaned to.
    case readback
    /// An attachment that lives only within a render pass on a tile-based GPU (Mali,
    /// Apple, some Adreno and PowerVR drivers): an image made with
    /// `VK_IMAGE_USAGE_TRANSIENT_ATTACHMENT_BIT` whose contents never leave tile memory.
    /// `VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT` preferred, which such drivers may never
    /// back with real memory (Metal's memoryless storage under MoltenVK); plain device-local
    /// memory where the device has no lazily allocated type or the resource does not
    /// accept it (only transient-attachment images do). Never host-visible by choice:
    /// lazily allocated memory cannot be mapped. VMA's `VMA_MEMORY_USAGE_GPU_LAZILY_ALLOCATED`,
    /// which requires the type instead of preferring it.
    case transientAttachment

    /// The name used by `vkmem types --json`.
    public var description: String { rawValue }
}

/// A memory-type request: an intent and/or explicit flags, restricted to the types a
/// resource accepts.
///
/// The cost of a type grows with the `preferred` flags it lacks and the `notPreferred`
/// flags it has (see `MemoryTypeSelection`); types without all `required` flags, or outside
/// `memoryTypeBits`, are not candidates.
public struct MemoryRequest: Sendable, Hashable {
    /// The intent, which adds its own required, preferred and not-preferred flags.
    public var usage: MemoryUsage?
    /// Flags a type must have.
    public var required: MemoryPropertyFlags
    /// Flags a type should have.
    public var preferred: MemoryPropertyFlags
    /// Flags a type should not have.
    public var notPreferred: MemoryPropertyFlags
    /// `VkMemoryRequirements::memoryTypeBits`: bit i set means type i is acceptable.
    public var memoryTypeBits: UInt32

    /// Creates a request.
    public init(usage: MemoryUsage? = nil, required: MemoryPropertyFlags = [],
                preferred: MemoryPropertyFlags = [], notPreferred: MemoryPropertyFlags = [],
                memoryTypeBits: UInt32 = .max) {
        self.usage = usage
        self.required = required
        self.preferred = preferred
        self.notPreferred = notPreferred
        self.memoryTypeBits = memoryTypeBits
    }

    /// A request for one intent.
    public static func usage(_ usage: MemoryUsage, memoryTypeBits: UInt32 = .max) -> MemoryRequest {
        MemoryRequest(usage: usage, memoryTypeBits: memoryTypeBits)
    }
}
