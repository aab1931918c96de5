import CVulkan
import Logging

/// A buffer with its memory that destroys itself: the non-copyable, owning form of
/// `BoundBuffer` (VMA's `vmaCreateBuffer` result, with `vmaDestroyBuffer` run for you).
///
/// `deinit` destroys the buffer and frees its memory (`Allocator.destroyBuffer`); an error
/// there is logged through swift-log, not thrown. `release()` does the same with the error
/// thrown, and `take()` gives the plain `BoundBuffer` back with nothing destroyed. The
/// allocator is held strongly, so it outlives the buffer.
///
/// Make one with `Allocator.createOwnedBuffer(_:_:options:)`, or take over a bound buffer
/// with `Allocator.own(_:)`.
public struct OwnedBuffer: ~Copyable, Sendable {
    /// The allocator, retained by hand so that `discard self` compiles (see
    /// `OwnedAllocation`).
    private let owner: Unmanaged<Allocator>
    /// The buffer and its memory.
    public let bound: BoundBuffer

    /// Takes over `bound`, retaining `allocator`.
    init(_ bound: BoundBuffer, of allocator: Allocator) {
        owner = .passRetained(allocator)
        self.bound = bound
    }

    /// The allocator that made the buffer's memory and will free it.
    public var allocator: Allocator { owner.takeUnretainedValue() }
    /// The `VkBuffer`.
    public var buffer: VkBuffer { bound.buffer }
    /// Its memory.
    public var allocation: Allocation { bound.allocation }
    /// The buffer's size as created (`VkBufferCreateInfo::size`).
    public var size: UInt64 { bound.size }

    /// A bounds-checked view of the buffer's bytes, ending at the buffer's size
    /// (`Allocator.map(_: Resource)`; VMA's `vmaMapMemory`).
    /// - Throws: `.memory(.notHostVisible)` for memory the host cannot map.
    public borrowing func map() throws(AllocationError) -> MappedMemory {
        try allocator.map(.buffer(bound))
    }

    /// Destroys the buffer and frees its memory now (`Allocator.destroyBuffer`), with the
    /// error thrown rather than logged.
    /// - Throws: `.alreadyFreed` when its memory was freed behind this owner's back (the
    ///   buffer is then left alone); the owner is consumed either way;
    ///   `.aliasesLive(count:)` when resources of `createAliasingBuffer`/`createAliasingImage`
    ///   still alias the memory: nothing is destroyed or freed then, and since the owner
    ///   is consumed, the buffer is the caller's again (read `bound` before the call when
    ///   that may happen, destroy the aliases, then `Allocator.destroyBuffer` it or `own` it).
    public consuming func release() throws(AllocationError) {
        let bound = bound
        let owner = owner
        discard self
        defer { owner.release() }
        try owner.takeUnretainedValue().destroyBuffer(bound)
    }

    /// Gives the plain bound buffer back without destroying it: destroying it is the
    /// caller's again.
    public consuming func take() -> BoundBuffer {
        let bound = bound
        let owner = owner
        discard self
        owner.release()
        return bound
    }

    deinit {
        let allocator = owner.takeUnretainedValue()
        do {
            try allocator.destroyBuffer(bound)
        } catch {
            allocator.logger.error("OwnedBuffer could not destroy its buffer (\(bound.allocation)) at the end of its life: \(error)")
        }
        owner.release()
    }
}
