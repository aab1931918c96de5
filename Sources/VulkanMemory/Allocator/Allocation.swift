import CVulkan
@_exported import Suballocation

/// A range of device memory handed out by an `Allocator`: bind a buffer or image to
/// `memory` at `offset`.
///
/// A plain value with no reference counting, so copies are free; freeing one copy frees
/// the range, and freeing another copy afterwards is `AllocationError.alreadyFreed`.
///
/// An allocation belongs to at most one buffer or image: one made by `createBuffer`,
/// `createImage` or a batch is bound already, and one from `allocate` or
/// `allocateMemory(forBuffer:)` / `allocateMemory(forImage:)` takes a single
/// `createBuffer(_:boundTo:)` / `createImage(_:boundTo:)` / `bind(buffer:to:offset:)` /
/// `bind(image:tiling:to:offset:)`; a second bind is refused (`UnmetRequirement.alreadyBound`).
///
/// `OwnedAllocation` is its non-copyable form, freed when it goes out of scope.
public struct Allocation: Hashable, @unchecked Sendable, CustomStringConvertible {
    /// Where the allocation lives inside the allocator.
    enum Location: Hashable {
        /// A range of a shared page: the page's slot and generation, and the range's
        /// handle in the type's arena.
        case page(slot: UInt32, generation: UInt32, handle: VirtualAllocationHandle)
        /// A `VkDeviceMemory` of its own.
        case dedicated(slot: UInt32, generation: UInt32)
        /// One resource's part of a range shared by a group bound with `.contiguous`.
        case member(slot: UInt32, generation: UInt32, index: UInt32)
    }

    /// The `VkDeviceMemory` that holds the range.
    public let memory: VkDeviceMemory
    /// Where the range starts in `memory`.
    public let offset: UInt64
    /// The range's length: the size asked for (rounded up to `nonCoherentAtomSize` on
    /// non-coherent memory).
    public let size: UInt64
    /// The memory type.
    public let memoryTypeIndex: Int
    /// The host address of the range's first byte when the allocation was made mapped.
    ///
    /// A raw pointer with no check: it is valid until the allocation is freed, moved by a
    /// committed defragmentation pass, or its allocator deinitialized, and using it after
    /// that writes into memory another allocation may hold, or that is unmapped.
    /// ``Allocator/map(_:)-(Allocation)`` gives a view that throws ``MemoryError/viewEnded`` instead.
    public let mappedPointer: UnsafeMutableRawPointer?
    let location: Location
    /// Whether this allocation made its page: a call that fails after allocating releases
    /// that page again.
    var startedPage = false
    /// The drain this allocation's placement ended by taking its page's room back, with
    /// whether the page was to go back to the driver once empty: a call that fails after
    /// placing it starts the drain again (`Allocator.undoPlacement(of:)`).
    var endedDrain: EndedDrain?

    /// How a draining page was set before a placement took its room back.
    enum EndedDrain {
        case keptWhenEmpty
        case releasedWhenEmpty
    }

    /// Two values are the same allocation when they name the same range of the same
    /// memory through the same record; how they were obtained (mapped or not, by the
    /// call that made a page or not) does not matter.
    public static func == (lhs: Allocation, rhs: Allocation) -> Bool {
        lhs.memory == rhs.memory && lhs.offset == rhs.offset && lhs.size == rhs.size
            && lhs.memoryTypeIndex == rhs.memoryTypeIndex && lhs.location == rhs.location
    }

    /// Hashes what `==` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(memory)
        hasher.combine(offset)
        hasher.combine(location)
    }

    /// Whether the allocation has a `VkDeviceMemory` of its own.
    public var isDedicated: Bool {
        if case .dedicated = location { return true }
        return false
    }

    /// "type T, page P, offset O, size S" (or "dedicated memory D", "group G"): where the
    /// allocation is by the allocator's own numbers, never by the `VkDeviceMemory` handle,
    /// whose value is a heap address on some drivers and means nothing to a reader.
    public var description: String {
        let place: String
        switch location {
        case let .page(slot, _, _):
            let pool = Int(slot >> MemoryTypePool.slotTagShift)
            let owner = pool == 0 ? "" : pool >= LaneTable.firstTag ? "lane \(pool - LaneTable.firstTag + 1) "
                : "pool \(pool - 1) "
            place = owner + "page \(slot & MemoryTypePool.localSlotMask)"
        case let .dedicated(slot, _): place = "dedicated memory \(slot)"
        case let .member(slot, _, index): place = "group \(slot) member \(index)"
        }
        return "type \(memoryTypeIndex), \(place), offset \(offset), size \(size)"
    }
}

/// What a resource needs of its memory (`VkMemoryRequirements`, with
/// `VkMemoryDedicatedRequirements` and the resource's kind).
public struct MemoryRequirements: Hashable, Sendable {
    /// `size`.
    public var size: UInt64
    /// `alignment`, a power of two.
    public var alignment: UInt64
    /// `memoryTypeBits`.
    public var memoryTypeBits: UInt32
    /// `prefersDedicatedAllocation`.
    public var prefersDedicated: Bool
    /// `requiresDedicatedAllocation`.
    public var requiresDedicated: Bool
    /// Buffer or linear image (`.linear`), optimal-tiling image (`.optimal`), or unknown:
    /// decides which neighbours must be `bufferImageGranularity` apart.
    public var kind: SuballocationKind

    /// Creates requirements.
    public init(size: UInt64, alignment: UInt64 = 1, memoryTypeBits: UInt32 = .max,
                prefersDedicated: Bool = false, requiresDedicated: Bool = false,
                kind: SuballocationKind = .unknown) {
        self.size = size
        self.alignment = alignment
        self.memoryTypeBits = memoryTypeBits
        self.prefersDedicated = prefersDedicated
        self.requiresDedicated = requiresDedicated
        self.kind = kind
    }
}

/// Per-allocation choices.
///
/// Made at every call, so kept to six machine words: the flags and the priority in one
/// (`Flags`), the name, `userData`, and one reference to the rarely set fields (`Rare`,
/// nil while they keep their defaults). A larger struct with a reference-counted field
/// was copied at each call site through outlined value-witness calls, about 11 ns of a
/// W3 pair (pairbench, 2-core machine); at six words it is passed in place.
public struct AllocationOptions: Sendable, Hashable {
    /// When to give the allocation a `VkDeviceMemory` of its own.
    public enum DedicatedPolicy: UInt8, Sendable, Hashable {
        /// When the driver requires or prefers it, or when larger than half a page.
        case automatic
        /// Always.
        case always
        /// Only when the driver requires it.
        case never
    }

    /// The small fields, packed.
    @usableFromInline var flags: Flags
    /// A name for leak reports and statistics.
    public var name: String?
    /// A value kept for the caller.
    public var userData: UInt64
    /// `dedicatedTarget`, `exportHandleTypes`, `memoryAllocateNext` and a `minAlignment`
    /// that is not a power of two; nil while all keep their defaults.
    @usableFromInline var rare: Rare?

    /// When to use dedicated memory.
    @inlinable public var dedicated: DedicatedPolicy {
        get { flags.dedicated }
        set { flags.dedicated = newValue }
    }
    /// The allocation will have resources aliasing it (VMA's
    /// `VMA_ALLOCATION_CREATE_CAN_ALIAS_BIT`): dedicated memory is then made without
    /// `VkMemoryDedicatedAllocateInfo` (`dedicatedTarget` is ignored), since Vulkan binds
    /// nothing but the named resource to memory made with it. `createAliasingBuffer` and
    /// `createAliasingImage` take any allocation; on dedicated memory they need this.
    @inlinable public var canAlias: Bool {
        get { flags[Flags.canAlias] }
        set { flags[Flags.canAlias] = newValue }
    }
    /// Map the memory and return `Allocation.mappedPointer`. Ignored on a memory type that
    /// is not host-visible (`VMA_ALLOCATION_CREATE_MAPPED_BIT`'s rule): the type is chosen
    /// for the intent alone, never moved to a mappable one for this, and the allocation
    /// then has no pointer. Intents that need a pointer (`.staging`, `.readback`,
    /// `.dynamic`) only rank host-visible types.
    @inlinable public var mapped: Bool {
        get { flags[Flags.mapped] }
        set { flags[Flags.mapped] = newValue }
    }
    /// `VK_EXT_memory_priority` priority of dedicated memory, 0…1 (pages are shared and
    /// keep the default). Outside 0…1, or not a number, is `.invalidPriority` on every
    /// path, dedicated or not.
    @inlinable public var priority: Float? {
        get { flags.priority }
        set { flags.priority = newValue }
    }
    /// How the free ranges of a memory type's pages are searched.
    @inlinable public var strategy: AllocationStrategy {
        get { flags.strategy }
        set { flags.strategy = newValue }
    }
    /// The resource a dedicated allocation backs (`VkMemoryDedicatedAllocateInfo`).
    public var dedicatedTarget: DeviceMemory.DedicatedTarget? {
        get { rare?.dedicatedTarget }
        set { rare = Rare.make(rare, dedicatedTarget: newValue) }
    }
    /// Place the allocation on the upper stack of a linear pool of one page, growing down
    /// from the page's end (VMA's `VMA_ALLOCATION_CREATE_UPPER_ADDRESS_BIT`): the double
    /// stack. Anywhere else the request is refused with `.upperAddressUnavailable`.
    @inlinable public var upperAddress: Bool {
        get { flags[Flags.upperAddress] }
        set { flags[Flags.upperAddress] = newValue }
    }
    /// The least alignment of the allocation's offset, a power of two, applied as the
    /// larger of it and the requirements' alignment (VMA's `minAlignment` of
    /// `vmaCreateBufferWithAlignment`): for a buffer an API outside Vulkan reads at a
    /// stricter alignment than the driver reports. Dedicated memory starts at offset 0,
    /// which meets any alignment. Anything but a power of two is `.alignmentNotPowerOfTwo`.
    @inlinable public var minAlignment: UInt64 {
        get { rare?.minAlignment ?? flags.minAlignment }
        set {
            // A power of two fits the flags; anything else is kept as given, for the error.
            if newValue != 0, newValue & (newValue - 1) == 0 {
                flags.minAlignment = newValue
                if rare?.minAlignment != nil { rare = Rare.make(rare, minAlignment: nil) }
            } else {
                flags.minAlignment = 1
                rare = Rare.make(rare, minAlignment: newValue)
            }
        }
    }
    /// Place the allocation only in pages that exist already, the allocator's or the
    /// pool's (VMA's `VMA_ALLOCATION_CREATE_NEVER_ALLOCATE_BIT`): no new page, no
    /// dedicated memory, no `vkAllocateMemory`. When none has room the call fails with
    /// `.outOfMemory` saying so, and nothing changes.
    @inlinable public var neverAllocate: Bool {
        get { flags[Flags.neverAllocate] }
        set { flags[Flags.neverAllocate] = newValue }
    }
    /// Refuse a new page or dedicated memory for this allocation when it would take its
    /// heap past the budget (VMA's `VMA_ALLOCATION_CREATE_WITHIN_BUDGET_BIT`), as
    /// `AllocatorOptions.respectBudget` does for every allocation. The refusal is
    /// `.outOfMemory` naming the budget, and the next candidate memory type is tried.
    @inlinable public var withinBudget: Bool {
        get { flags[Flags.withinBudget] }
        set { flags[Flags.withinBudget] = newValue }
    }
    /// How the host will touch the memory through its mapping (VMA's
    /// `VMA_ALLOCATION_CREATE_HOST_ACCESS_SEQUENTIAL_WRITE_BIT` / `_RANDOM_BIT`); with
    /// anything but `.none` it decides the host-side flags of the type chosen, in place
    /// of the intent's (see `HostAccess`).
    @inlinable public var hostAccess: HostAccess {
        get { flags.hostAccess }
        set { flags.hostAccess = newValue }
    }
    /// With `hostAccess`, lets a faster memory type the host cannot map win on a discrete
    /// GPU (VMA's `VMA_ALLOCATION_CREATE_HOST_ACCESS_ALLOW_TRANSFER_INSTEAD_BIT`): check
    /// `Allocator.isHostVisible(_:)` and stage through a `TransferQueue` when it is not.
    @inlinable public var allowTransferInstead: Bool {
        get { flags[Flags.allowTransferInstead] }
        set { flags[Flags.allowTransferInstead] = newValue }
    }
    /// `VkExportMemoryAllocateInfo::handleTypes` of dedicated memory: how it may be
    /// exported (`Allocator.exportFileDescriptor(of:)`). Applies to dedicated memory only
    /// (a custom pool's pages are exported with `PoolOptions.exportHandleTypes`): the
    /// allocation is dedicated whatever `dedicated` says, in a custom pool too (of the
    /// pool's type), except with `.never` or `neverAllocate`, which are `.needsDedicatedMemory`.
    public var exportHandleTypes: ExternalMemoryHandleTypes {
        get { rare?.exportHandleTypes ?? [] }
        set { rare = Rare.make(rare, exportHandleTypes: newValue) }
    }
    /// A `pNext` chain of the caller's for the `VkMemoryAllocateInfo` of dedicated memory
    /// (VMA's `pMemoryAllocateNext`), linked after the structures the allocator adds.
    /// Applies to dedicated memory only, with the same rules as `exportHandleTypes`.
    public var memoryAllocateNext: DeviceMemory.NextChain? {
        get { rare?.memoryAllocateNext }
        set { rare = Rare.make(rare, memoryAllocateNext: newValue) }
    }

    /// Creates options; by default automatic dedication, unmapped, unnamed, best fit.
    /// Each parameter sets the property of the same name.
    ///
    /// Inlinable because programs make options at every call: called across modules, this
    /// initializer copied each of its fifteen arguments through the type's generic value
    /// witness, about a tenth of a W3 allocate-and-free pair. The rarely set fields are
    /// only looked at when given (`Rare.make` is out of line).
    @inlinable
    public init(dedicated: DedicatedPolicy = .automatic, mapped: Bool = false, name: String? = nil,
                userData: UInt64 = 0, priority: Float? = nil, strategy: AllocationStrategy = .bestFit,
                dedicatedTarget: DeviceMemory.DedicatedTarget? = nil, canAlias: Bool = false,
                minAlignment: UInt64 = 1, neverAllocate: Bool = false, withinBudget: Bool = false,
                hostAccess: HostAccess = .none, allowTransferInstead: Bool = false,
                exportHandleTypes: ExternalMemoryHandleTypes = [],
                memoryAllocateNext: DeviceMemory.NextChain? = nil) {
        flags = Flags()
        self.name = name
        self.userData = userData
        rare = nil
        flags.dedicated = dedicated
        flags[Flags.mapped] = mapped
        flags.priority = priority
        flags.strategy = strategy
        flags[Flags.canAlias] = canAlias
        flags[Flags.neverAllocate] = neverAllocate
        flags[Flags.withinBudget] = withinBudget
        flags.hostAccess = hostAccess
        flags[Flags.allowTransferInstead] = allowTransferInstead
        if minAlignment != 1 { self.minAlignment = minAlignment }
        if dedicatedTarget != nil || !exportHandleTypes.isEmpty || memoryAllocateNext != nil {
            rare = Rare.make(rare, dedicatedTarget: dedicatedTarget, exportHandleTypes: exportHandleTypes,
                             memoryAllocateNext: memoryAllocateNext)
        }
    }
}

/// A live allocation as a leak report or `allocations()` lists it.
public struct AllocationReport: Sendable, Hashable, CustomStringConvertible {
    /// Its name, if given.
    public let name: String?
    /// Its size in bytes.
    public let size: UInt64
    /// Its offset in its memory.
    public let offset: UInt64
    /// The memory type.
    public let memoryTypeIndex: Int
    /// Whether it has its own `VkDeviceMemory`.
    public let isDedicated: Bool
    /// The user data given at allocation.
    public let userData: UInt64
    /// `#fileID` of the allocating call.
    public let fileID: String
    /// `#line` of the allocating call.
    public let line: Int
    /// Resources aliasing the allocation (`Allocator.createAliasingBuffer`,
    /// `createAliasingImage`): a leak report shows them, as they must go before it.
    public internal(set) var aliasCount = 0

    /// "'name' S bytes in type T at file:line", the name with control characters escaped
    /// (`\u{A}` for a line feed) so a report is always one line.
    public var description: String {
        "\(name.map { "'\($0.escapingControlCharacters)'" } ?? "unnamed") \(size) bytes in memory type \(memoryTypeIndex)"
            + (isDedicated ? " (dedicated)" : "") + ", allocated at \(fileID):\(line)"
            + (aliasCount > 0 ? ", aliased by \(aliasCount) resource(s)" : "")
    }
}
