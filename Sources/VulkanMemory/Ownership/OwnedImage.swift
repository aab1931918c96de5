import CVulkan
import Logging

/// An image with its memory that destroys itself: the non-copyable, owning form of
/// `BoundImage` (VMA's `vmaCreateImage` result, with `vmaDestroyImage` run for you), as
/// `OwnedBuffer` is of a buffer.
///
/// `deinit` destroys the image and frees its memory (`Allocator.destroyImage`), logging an
/// error rather than throwing it; `release()` throws it; `take()` gives the plain
/// `BoundImage` back. The allocator is held strongly.
///
/// Make one with `Allocator.createOwnedImage(_:_:options:)`, or take over a bound image
/// with `Allocator.own(_:)`.
public struct OwnedImage: ~Copyable, Sendable {
    /// The allocator, retained by hand so that `discard self` compiles (see
    /// `OwnedAllocation`).
    private let owner: Unmanaged<Allocator>
    /// The image and its memory.
    public let bound: BoundImage

    /// Takes over `bound`, retaining `allocator`.
    init(_ bound: BoundImage, of allocator: Allocator) {
        owner = .passRetained(allocator)
        self.bound = bound
    }

    /// The allocator that made the image's memory and will free it.
    public var allocator: Allocator { owner.takeUnretainedValue() }
    /// The `VkImage`.
    public var image: VkImage { bound.image }
    /// Its memory.
    public var allocation: Allocation { bound.allocation }

    /// Destroys the image and frees its memory now (`Allocator.destroyImage`), with the
    /// error thrown rather than logged.
    /// - Throws: `.alreadyFreed` when its memory was freed behind this owner's back (the
    ///   image is then left alone); the owner is consumed either way;
    ///   `.aliasesLive(count:)` when resources of `createAliasingBuffer`/`createAliasingImage`
    ///   still alias the memory: nothing is destroyed or freed then, and since the owner
    ///   is consumed, the image is the caller's again (read `bound` before the call when
    ///   that may happen, destroy the aliases, then `Allocator.destroyImage` it or `own` it).
    public consuming func release() throws(AllocationError) {
        let bound = bound
        let owner = owner
        discard self
        defer { owner.release() }
        try owner.takeUnretainedValue().destroyImage(bound)
    }

    /// Gives the plain bound image back without destroying it: destroying it is the
    /// caller's again.
    public consuming func take() -> BoundImage {
        let bound = bound
        let owner = owner
        discard self
        owner.release()
        return bound
    }

    deinit {
        let allocator = owner.takeUnretainedValue()
        do {
            try allocator.destroyImage(bound)
        } catch {
            allocator.logger.error("OwnedImage could not destroy its image (\(bound.allocation)) at the end of its life: \(error)")
        }
        owner.release()
    }
}
