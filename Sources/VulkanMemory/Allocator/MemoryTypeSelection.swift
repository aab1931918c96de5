/// Chooses memory types: a pure function of the memory properties and a request.
///
/// Each candidate type gets a cost: two for each preferred flag it lacks and each
/// not-preferred flag it has, one for each flag the intent only leans towards (coherence
/// for readback and dynamic data: automatic invalidate and flush make it a convenience,
/// while caching decides read-back speed). The lowest cost wins and ties go to the lower index, the order in which
/// Vulkan asks applications to look. Types that are `LAZILY_ALLOCATED`, `PROTECTED`,
/// `DEVICE_COHERENT_AMD` or `DEVICE_UNCACHED_AMD` are never candidates unless the request
/// names those flags: they are slower or unusable for ordinary resources. A request that
/// names either AMD flag accepts both, since AMD's device-coherent types are uncached too
/// (VMA lifts its avoidance of them the same way). The AMD types are never candidates at
/// all unless `allowsDeviceCoherentMemory` (VMA's
/// `VMA_ALLOCATOR_CREATE_AMD_DEVICE_COHERENT_MEMORY_BIT`): without the
/// `deviceCoherentMemory` feature, allocating them is invalid.
public struct MemoryTypeSelection: Sendable, Hashable {
    /// The device's memory layout.
    public let properties: MemoryProperties
    /// Whether the device is a discrete GPU, where host memory and VRAM are separate.
    public let isDiscrete: Bool
    /// Whether types with `DEVICE_COHERENT_AMD` or `DEVICE_UNCACHED_AMD` may be chosen
    /// (for a request that names one of them); false excludes them whatever is asked.
    public let allowsDeviceCoherentMemory: Bool

    /// Flags that exclude a type unless the request asks for them.
    public static let specialPurposeFlags: MemoryPropertyFlags = [
        .lazilyAllocated, .protected, .deviceCoherentAMD, .deviceUncachedAMD,
    ]

    /// The AMD flags that exclude a type unless the selector allows them, and a request
    /// names one of them.
    static let deviceCoherentFlags: MemoryPropertyFlags = [.deviceCoherentAMD, .deviceUncachedAMD]

    /// Creates a selector for a device.
    /// - Parameters:
    ///   - properties: the device's heaps and types.
    ///   - isDiscrete: whether the device is a discrete GPU.
    ///   - allowsDeviceCoherentMemory: whether `DEVICE_COHERENT_AMD` / `DEVICE_UNCACHED_AMD`
    ///     types may be chosen; true only where the device has the `deviceCoherentMemory`
    ///     feature enabled (`AllocatorOptions.deviceCoherentMemory`).
    public init(properties: MemoryProperties, isDiscrete: Bool, allowsDeviceCoherentMemory: Bool = false) {
        self.properties = properties
        self.isDiscrete = isDiscrete
        self.allowsDeviceCoherentMemory = allowsDeviceCoherentMemory
    }

    /// The effective flags of a request: required, preferred, not preferred, and leaned
    /// towards (half the weight of preferred).
    public func flags(for request: MemoryRequest) -> Weights {
        flags(for: request, hostAccess: .none)
    }

    /// The effective flags of a request whose mapping the host accesses as `hostAccess`
    /// says: VMA's rules for `VMA_MEMORY_USAGE_AUTO` with its host-access flags (see
    /// `HostAccess`) in place of the intent's own host-side flags.
    /// - Parameters:
    ///   - request: the intent and explicit flags; the explicit flags apply as for
    ///     `flags(for:)`.
    ///   - hostAccess: how the host touches the mapping; `.none` is `flags(for:)`.
    ///   - allowTransferInstead: whether a type the host cannot map may win on a discrete
    ///     GPU for memory the device uses.
    public func flags(for request: MemoryRequest, hostAccess: HostAccess,
                      allowTransferInstead: Bool = false) -> Weights {
        var required = request.required
        var preferred = request.preferred
        var notPreferred = request.notPreferred
        var leaning: MemoryPropertyFlags = []
        if hostAccess != .none {
            // A plain flag request (no intent) is taken as memory the device uses, VMA's
            // `deviceAccess` of any resource beyond a transfer buffer.
            let deviceAccess = request.usage?.deviceAccess ?? true
            let transferInstead = allowTransferInstead && isDiscrete && deviceAccess
            switch hostAccess {
            case .sequentialWrite:
                notPreferred.insert(.hostCached)
                if transferInstead {
                    preferred.formUnion([.deviceLocal, .hostVisible])
                } else {
                    required.insert(.hostVisible)
                    if deviceAccess { preferred.insert(.deviceLocal) } else { notPreferred.insert(.deviceLocal) }
                }
            case .random:
                preferred.insert(.hostCached)
                if transferInstead { preferred.insert(.deviceLocal) } else { required.insert(.hostVisible) }
            case .none:
                break
            }
            preferred.subtract(request.notPreferred)
            return Weights(required: required, preferred: preferred.subtracting(required),
                           notPreferred: notPreferred.subtracting(required).subtracting(request.preferred)
                               .subtracting(preferred),
                           leaning: [])
        }
        switch request.usage {
        case .gpuOnly?:
            preferred.insert(.deviceLocal)
            // Keeps the small host-visible VRAM window free for dynamic data.
            notPreferred.insert(.hostVisible)
        case .staging?:
            required.insert(.hostVisible)
            preferred.insert(.hostCoherent)
            // Write-combined memory is fastest for sequential writes; cached memory is not.
            notPreferred.insert(.hostCached)
            if isDiscrete { notPreferred.insert(.deviceLocal) }
        case .dynamic?:
            required.insert(.hostVisible)
            preferred.insert(.deviceLocal)
            leaning.insert(.hostCoherent)
            notPreferred.insert(.hostCached)
        case .readback?:
            required.insert(.hostVisible)
            preferred.insert(.hostCached)
            leaning.insert(.hostCoherent)
        case .transientAttachment?:
            // Preferring the flag, not requiring it, is what lets a desktop GPU (no lazily
            // allocated type) or a buffer (never offered one) fall back to device-local.
            preferred.formUnion([.lazilyAllocated, .deviceLocal])
            notPreferred.insert(.hostVisible)
        case nil:
            break
        }
        // The caller's explicit not-preferred flags override the intent's preferences.
        preferred.subtract(request.notPreferred)
        leaning.subtract(request.notPreferred)
        return Weights(required: required, preferred: preferred.subtracting(required),
                       notPreferred: notPreferred.subtracting(required).subtracting(request.preferred),
                       leaning: leaning.subtracting(required).subtracting(preferred))
    }

    /// The flags that decide a request's cost.
    public struct Weights: Sendable, Hashable {
        /// A type must have all of these.
        public var required: MemoryPropertyFlags
        /// Each one missing costs 2.
        public var preferred: MemoryPropertyFlags
        /// Each one present costs 2.
        public var notPreferred: MemoryPropertyFlags
        /// Each one missing costs 1.
        public var leaning: MemoryPropertyFlags
    }

    /// The cost of a type for a request, or nil when it is not a candidate.
    public func cost(of type: MemoryType, for request: MemoryRequest) -> Int? {
        cost(of: type, memoryTypeBits: request.memoryTypeBits, weights: flags(for: request))
    }

    private func cost(of type: MemoryType, memoryTypeBits: UInt32, weights: Weights) -> Int? {
        // A `MemoryType` made by hand may name any index or heap: such a type is no candidate.
        guard (0..<32).contains(type.index), properties.heaps.indices.contains(type.heapIndex),
              memoryTypeBits & (1 << UInt32(type.index)) != 0 else { return nil }
        guard type.flags.isSuperset(of: weights.required) else { return nil }
        let special = type.flags.intersection(Self.specialPurposeFlags)
        if !special.isEmpty {
            if !allowsDeviceCoherentMemory, !special.isDisjoint(with: Self.deviceCoherentFlags) { return nil }
            var asked = weights.required.union(weights.preferred)
            if !asked.isDisjoint(with: Self.deviceCoherentFlags) { asked.formUnion(Self.deviceCoherentFlags) }
            if !special.isSubset(of: asked) { return nil }
        }
        guard properties.heaps[type.heapIndex].size > 0 else { return nil }
        return 2 * weights.preferred.subtracting(type.flags).rawValue.nonzeroBitCount
            + 2 * weights.notPreferred.intersection(type.flags).rawValue.nonzeroBitCount
            + weights.leaning.subtracting(type.flags).rawValue.nonzeroBitCount
    }

    /// Every candidate type index, best first.
    ///
    /// - Complexity: O(t log t) for t memory types (at most 32).
    public func rankedTypes(for request: MemoryRequest) -> [Int] {
        rankedTypes(for: request, hostAccess: .none)
    }

    /// Every candidate type index for a request whose mapping the host accesses as
    /// `hostAccess` says, best first (see `flags(for:hostAccess:allowTransferInstead:)`).
    /// - Parameters:
    ///   - request: the intent, explicit flags and type bits.
    ///   - hostAccess: how the host touches the mapping.
    ///   - allowTransferInstead: whether a type the host cannot map may win.
    /// - Complexity: O(t log t) for t memory types (at most 32).
    public func rankedTypes(for request: MemoryRequest, hostAccess: HostAccess,
                            allowTransferInstead: Bool = false) -> [Int] {
        let weights = flags(for: request, hostAccess: hostAccess, allowTransferInstead: allowTransferInstead)
        return properties.types.compactMap { type in
            cost(of: type, memoryTypeBits: request.memoryTypeBits, weights: weights)
                .map { (type.index, $0) }
        }
        .sorted { ($0.1, $0.0) < ($1.1, $1.0) }
        .map(\.0)
    }

    /// The best type index for a request, or nil when no type qualifies.
    public func bestType(for request: MemoryRequest) -> Int? {
        rankedTypes(for: request).first
    }
}
