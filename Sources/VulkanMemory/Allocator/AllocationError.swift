/// Why an allocator call failed. After any of these the allocator is exactly as before.
public enum AllocationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A size of 0 bytes was asked for.
    case zeroSize
    /// The alignment is not a power of two.
    case alignmentNotPowerOfTwo(UInt64)
    /// Size plus alignment overflows 64 bits.
    case sizeOverflow(size: UInt64, alignment: UInt64)
    /// A memory priority outside 0…1 (or not a number) was asked for
    /// (`VkMemoryPriorityAllocateInfoEXT::priority`).
    case invalidPriority(Float)
    /// No memory type has the required flags among those the resource accepts.
    case noSuitableMemoryType(required: MemoryPropertyFlags, memoryTypeBits: UInt32, usage: MemoryUsage?)
    /// A heap cannot hold the request: its size limit, budget, or the driver said no.
    case outOfMemory(size: UInt64, typeIndex: Int, heapIndex: Int, available: UInt64, reason: String)
    /// The device already has `maxMemoryAllocationCount` memory objects.
    case tooManyAllocations(limit: UInt32)
    /// The allocation was not made by this allocator, or its memory is gone.
    case unknownAllocation
    /// The allocation was already freed.
    case alreadyFreed
    /// A `.contiguous` group is larger than any page of its memory type can be.
    case groupTooLarge(size: UInt64, typeIndex: Int, maximum: UInt64)
    /// The same resource was listed twice in one call.
    case duplicateResource
    /// Another defragmentation pass of this allocator is still open.
    case defragmentationPassOpen
    /// A name that cannot be kept as given: `reason` says why.
    case invalidName(String, reason: String)
    /// The allocator already holds `limit` custom pools, as many as it can tell apart;
    /// destroy one before making another.
    case tooManyPools(limit: Int)
    /// A custom pool cannot be destroyed while it holds live allocations.
    case poolNotEmpty(name: String, allocations: Int)
    /// `AllocationOptions.upperAddress` asked of memory that has no upper stack: only a
    /// linear pool of one page (`PoolAlgorithm.linear`, `maxPages: 1`) has one. `pool` is
    /// the custom pool's name, nil for the allocator's own pages.
    case upperAddressUnavailable(pool: String?)
    /// The operation does not apply to a linear pool (`PoolAlgorithm.linear`): `operation`
    /// says which.
    case unsupportedForLinearPool(pool: String, operation: String)
    /// A resource's requirements are not met by the allocation it was to be bound to
    /// (described in `allocation`): `reason` says which.
    case requirementsNotMet(allocation: String, reason: UnmetRequirement)
    /// The allocation still has `count` aliasing resources (`Allocator.createAliasingBuffer`,
    /// `createAliasingImage`): destroy them before freeing it. Nothing was freed.
    case aliasesLive(count: Int)
    /// `Allocator.checkCorruption(memoryTypeBits:)` was asked about memory types none of
    /// which has margins to check (VMA's `VK_ERROR_FEATURE_NOT_PRESENT`): corruption
    /// detection is off (`AllocatorOptions.detectCorruption`), or none of them is host-visible.
    case corruptionDetectionNotEnabled(memoryTypeBits: UInt32)
    /// A buffer's or image's create-info breaks a rule of Vulkan or a limit of the device
    /// (`CreateInfoError` names the field, its value and the limit); refused before any
    /// Vulkan call.
    case invalidCreateInfo(CreateInfoError)
    /// `option` of `AllocationOptions` (`exportHandleTypes`, `memoryAllocateNext`) applies
    /// to dedicated memory only, and `reason` rules dedicated memory out.
    case needsDedicatedMemory(option: String, reason: String)
    /// Allocation `index` (from 0) of `count` asked for together failed with `error`
    /// (`Allocator.allocate(many:_:options:fileID:line:)`): the ones made before it were freed,
    /// with any page made for them, so none of the `count` exists.
    indirect case manyFailed(index: Int, count: Int, error: AllocationError)
    /// A negative number of allocations was asked for, or (past 65,536) more than all the
    /// heaps could hold at their size.
    case invalidCount(Int)
    /// The buffer was not created with `usage`, which `operation` needs.
    case bufferUsageMissing(BufferUsage, operation: String)
    /// `operation` applies to memory an allocation has to itself, and this one shares a
    /// page's `VkDeviceMemory` with others (`Allocator.setPriority(_:of:)`): allocate it
    /// dedicated, or act on its pool's pages.
    case sharedMemory(operation: String)
    /// A raw memory operation failed (mapping, flushing…).
    case memory(MemoryError)
    /// A Vulkan call failed.
    case vulkan(VulkanError)

    /// What failed and why.
    public var description: String {
        switch self {
        case .zeroSize:
            return "a size of 0 bytes was requested; sizes must be at least 1"
        case .alignmentNotPowerOfTwo(let alignment):
            return "alignment \(alignment) is not a power of two"
        case let .sizeOverflow(size, alignment):
            return "size \(size) with alignment \(alignment) overflows 64 bits"
        case let .invalidPriority(priority):
            return "memory priority \(priority) is outside 0...1"
        case let .noSuitableMemoryType(required, bits, usage):
            let bitList = (0..<32).filter { bits & (1 << $0) != 0 }.map(String.init).joined(separator: ",")
            return "no memory type among those the resource accepts (types \(bitList.isEmpty ? "none" : bitList)) "
                + "has the required flags \(required)" + (usage.map { " for usage \($0)" } ?? "")
        case let .outOfMemory(size, type, heap, available, reason):
            return "out of memory: \(size) bytes from memory type \(type) (heap \(heap)); "
                + "\(available) bytes available there; \(reason)"
        case let .tooManyAllocations(limit):
            return "the device already holds maxMemoryAllocationCount (\(limit)) memory objects"
        case .unknownAllocation:
            return "the allocation does not belong to this allocator (or its page was already released)"
        case .alreadyFreed:
            return "the allocation was already freed"
        case let .groupTooLarge(size, type, maximum):
            return "a contiguous group of \(size) bytes does not fit one page of memory type \(type) "
                + "(at most \(maximum) bytes); bind it with .scatter or .dedicated"
        case .duplicateResource:
            return "the same resource was listed more than once"
        case let .requirementsNotMet(allocation, reason):
            return "cannot bind the resource to \(allocation): \(reason)"
        case let .invalidName(name, reason):
            return "the name '\(name.escapingControlCharacters)' cannot be used: \(reason)"
        case let .tooManyPools(limit):
            return "the allocator already holds \(limit) custom pools, the most it can hold at once; "
                + "destroy a pool before making another"
        case let .poolNotEmpty(name, allocations):
            return "pool '\(name.escapingControlCharacters)' still holds \(allocations) live allocation(s); free them before destroying it"
        case let .upperAddressUnavailable(pool):
            return "upperAddress places an allocation on the upper stack of a linear pool of one page, but "
                + (pool.map { "pool '\($0.escapingControlCharacters)' is not one" } ?? "the allocator's own pages have none")
                + "; make the pool with algorithm: .linear and maxPages: 1, or leave upperAddress false"
        case let .unsupportedForLinearPool(pool, operation):
            return "\(operation) does not apply to linear pool '\(pool.escapingControlCharacters)': its ranges are "
                + "placed in order and never moved"
        case .defragmentationPassOpen:
            return "another defragmentation pass of this allocator is open; commit or cancel it first"
        case let .aliasesLive(count):
            return "the allocation still has \(count) aliasing resource(s); destroy them "
                + "(destroyAliasingBuffer, destroyAliasingImage) before freeing it"
        case let .corruptionDetectionNotEnabled(bits):
            let bitList = (0..<32).filter { bits & (1 << $0) != 0 }.map(String.init).joined(separator: ",")
            return "no memory type among \(bitList.isEmpty ? "none" : bitList) has margins to check: "
                + "set AllocatorOptions.detectCorruption (host-visible types only)"
        case let .needsDedicatedMemory(option, reason):
            return "AllocationOptions.\(option) applies to dedicated memory only, and \(reason); "
                + "allow dedicated memory (dedicated: .automatic or .always, without neverAllocate), "
                + "or give a custom pool export options for its pages (PoolOptions.exportHandleTypes)"
        case let .manyFailed(index, count, error):
            return "allocation \(index) of \(count) (counting from 0) failed, so none of them was made: \(error)"
        case let .invalidCount(count):
            return count < 0 ? "\(count) allocations were asked for; ask for 0 or more"
                : "\(count) allocations were asked for: more than all the device's heaps could hold at that size"
        case let .bufferUsageMissing(usage, operation):
            return "\(operation) needs a buffer created with the usage bits 0x" + String(usage.rawValue, radix: 16)
                + " (VkBufferUsageFlags), which it lacks; create the buffer with them"
        case let .sharedMemory(operation):
            return "\(operation) needs an allocation with memory of its own, and this one shares a page with others; "
                + "allocate it with AllocationOptions.dedicated = .always, or change its pool's pages "
                + "(Allocator.setPriority(_:of:) with the MemoryPool)"
        case .invalidCreateInfo(let error):
            return error.description
        case .memory(let error):
            return error.description
        case .vulkan(let error):
            return error.description
        }
    }
}

/// Which of a resource's requirements an allocation does not meet
/// (`AllocationError.requirementsNotMet`). Small on purpose: every typed-throwing call
/// reserves room for the largest `AllocationError`.
public enum UnmetRequirement: Sendable, Equatable, CustomStringConvertible {
    /// The resource needs `needed` bytes; the allocation has `available`.
    case size(needed: UInt64, available: UInt64)
    /// The allocation's offset is not a multiple of the resource's alignment.
    case alignment(needed: UInt64, offset: UInt64)
    /// The allocation's memory type is not in the resource's `memoryTypeBits`.
    case memoryType(index: Int, allowed: UInt32)
    /// The driver requires memory of the resource's own (`requiresDedicatedAllocation`).
    case requiresDedicatedMemory
    /// The memory was allocated for another resource (`VkMemoryDedicatedAllocateInfo`).
    case dedicatedToAnotherResource
    /// Another buffer or image is bound to the allocation already: an allocation belongs
    /// to one resource (make aliasing resources with memory of their own instead).
    case alreadyBound
    /// An aliasing resource of `size` bytes at `offset` into the allocation runs past
    /// its `available` bytes (or the sum overflows).
    case range(offset: UInt64, size: UInt64, available: UInt64)
    /// The range was placed for a resource of another kind; `bufferImageGranularity`
    /// keeps linear and optimal-tiling resources apart.
    case kind(placed: SuballocationKind, needed: SuballocationKind)
    /// Memory allocated for one resource (`VkMemoryDedicatedAllocateInfo`) takes it at its
    /// start only; this bind asked for the given local offset.
    case offsetInDedicatedMemory(UInt64)

    /// The requirement, in words.
    public var description: String {
        switch self {
        case let .size(needed, available):
            return "it needs \(needed) bytes and the allocation has \(available)"
        case let .alignment(needed, offset):
            return "offset \(offset) is not a multiple of its alignment \(needed)"
        case let .memoryType(index, allowed):
            return "memory type \(index) is not among the types it may use ("
                + "\((0..<32).filter { allowed & (1 << $0) != 0 }.map(String.init).joined(separator: ",")))"
        case .requiresDedicatedMemory:
            return "the driver requires memory of its own for it"
        case .dedicatedToAnotherResource:
            return "the memory was allocated for another resource with VkMemoryDedicatedAllocateInfo"
        case .alreadyBound:
            return "another buffer or image is bound to the allocation already"
        case let .range(offset, size, available):
            return "\(size) bytes at offset \(offset) run past the allocation's \(available) bytes"
        case let .kind(placed, needed):
            return "the range was placed for a \(placed) resource and this one is \(needed); "
                + "bufferImageGranularity keeps the two apart"
        case let .offsetInDedicatedMemory(offset):
            return "the memory was allocated for this resource and takes it at offset 0, not \(offset)"
        }
    }
}
