import CVulkan
import Logging

/// An allocation that frees itself: the non-copyable, owning form of `Allocation`, for
/// code that wants the compiler to free the memory when the owner's scope ends (as a
/// `vk::UniqueHandle` or a Rust `Drop` type would; VMA has no such form).
///
/// `deinit` frees the memory through its allocator (`Allocator.free`); an error there
/// cannot be thrown and is logged as an error through swift-log. `release()` frees it with
/// the error thrown instead, and `take()` gives the plain `Allocation` back with nothing
/// freed. The allocator is held strongly, so it outlives every owned allocation of it.
///
/// Make one with `Allocator.allocateOwned(_:_:options:)`, or take over a plain
/// allocation with `Allocator.own(_:)`.
public struct OwnedAllocation: ~Copyable, Sendable {
    /// The allocator, retained by hand: a stored class reference would keep `discard self`
    /// (which `take()` and `release()` need) from compiling, as it only takes types whose
    /// stored properties are trivially destroyed.
    private let owner: Unmanaged<Allocator>
    /// The allocation owned.
    public let allocation: Allocation

    /// Takes over `allocation`, retaining `allocator`; the caller has checked that the
    /// allocation is live and the allocator's.
    init(_ allocation: Allocation, of allocator: Allocator) {
        owner = .passRetained(allocator)
        self.allocation = allocation
    }

    /// The allocator that made the allocation and will free it.
    public var allocator: Allocator { owner.takeUnretainedValue() }

    /// The `VkDeviceMemory` that holds the range (`allocation.memory`).
    public var memory: VkDeviceMemory { allocation.memory }
    /// Where the range starts in `memory` (`allocation.offset`).
    public var offset: UInt64 { allocation.offset }
    /// The range's length (`allocation.size`).
    public var size: UInt64 { allocation.size }

    /// A bounds-checked view of the allocation's bytes (`Allocator.map(_:)`; VMA's
    /// `vmaMapMemory`).
    /// - Throws: `.memory(.notHostVisible)` for memory the host cannot map.
    public borrowing func map() throws(AllocationError) -> MappedMemory {
        try allocator.map(allocation)
    }

    /// Frees the allocation now (`Allocator.free`, VMA's `vmaFreeMemory`), with the error
    /// thrown rather than logged.
    /// - Throws: `.alreadyFreed` when the plain allocation was freed behind this owner's
    ///   back; the owner is consumed either way;
    ///   `.aliasesLive(count:)` when resources of `createAliasingBuffer`/`createAliasingImage`
    ///   still alias the memory: nothing is destroyed or freed then, and since the owner
    ///   is consumed, the allocation is the caller's again (read `allocation` before the call when
    ///   that may happen, destroy the aliases, then `Allocator.free` it or `own` it).
    public consuming func release() throws(AllocationError) {
        let allocation = allocation
        let owner = owner
        discard self
        defer { owner.release() }
        try owner.takeUnretainedValue().free(allocation)
    }

    /// Gives the plain allocation back without freeing it: freeing it is the caller's again.
    public consuming func take() -> Allocation {
        let allocation = allocation
        let owner = owner
        discard self
        owner.release()
        return allocation
    }

    deinit {
        let allocator = owner.takeUnretainedValue()
        do {
            try allocator.free(allocation)
        } catch {
            allocator.logger.error("OwnedAllocation could not free \(allocation) at the end of its life: \(error)")
        }
        owner.release()
    }
}
