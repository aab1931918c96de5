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

/// How the host touches an allocation's mapping (VMA's `VMA_ALLOCATION_CREATE_HOST_ACCESS_*`
/// flags with `VMA_MEMORY_USAGE_AUTO`), given as `AllocationOptions.hostAccess`.
///
/// With anything but `.none` it decides the host-side flags by VMA's rules, and the
/// `MemoryUsage` intent only says whether the device reads or writes the memory itself
/// (every intent but `.staging` and `.readback`, which the device only copies to or from):
///
/// - `.sequentialWrite`: host-visible required, host-cached avoided (write-combined memory
///   takes `memcpy` fastest). Device-local preferred when the device uses the memory, so
///   a discrete GPU's BAR or ReBAR takes it where it exists; not preferred when the device
///   only copies from it.
/// - `.random`: host-visible required, host-cached preferred (reads from uncached memory
///   are an order of magnitude slower).
/// - with `AllocationOptions.allowTransferInstead`, on a discrete GPU, for memory the
///   device uses: host-visible is no longer required. `.sequentialWrite` prefers
///   device-local and host-visible alike (a BAR type has both; without one the first
///   of VRAM and system RAM in the device's order wins: VRAM on the profiled GeForce GPUs
///   without a BAR, system RAM under Mesa's Dozen); `.random` prefers device-local and
///   host-cached. The allocation may then not be
///   mappable: `Allocator.isHostVisible(_:)` says so, and the caller copies through a
///   staging buffer (`TransferQueue`).
public enum HostAccess: UInt8, Sendable, Hashable, CaseIterable {
    /// The intent alone chooses.
    case none
    /// Written in order, never read: `memcpy` or a loop that only stores
    /// (`VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT`). Reading it may work,
    /// but slowly; watch for `+=` on mapped memory.
    case sequentialWrite
    /// Read and written in any order (`VMA_ALLOCATION_CREATE_HOST_ACCESS_RANDOM_BIT`).
    case random
}

extension MemoryUsage {
    /// Whether the device itself reads or writes memory of this intent, rather than only
    /// copying to or from it (VMA's `deviceAccess` of a resource's usage beyond transfers).
    var deviceAccess: Bool {
        switch self {
        case .staging, .readback: false
        case .gpuOnly, .dynamic, .transientAttachment: true
        }
    }
}
