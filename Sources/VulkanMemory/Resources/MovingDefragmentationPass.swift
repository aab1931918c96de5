import CVulkan

/// An image a moving defragmentation pass may move: the image, the description it was
/// created from (to create it again on its new place) and the layout it will be in when
/// the pass's command buffer runs.
public struct MovableImage: Sendable, Hashable {
    /// The image and its memory.
    public var image: BoundImage
    /// What it was created from (`ImageDescription.exclusiveCreateInfo` and its sharing):
    /// the new image is created from it again.
    public var description: ImageDescription
    /// The layout every subresource is in when the copies run; the new image is left in
    /// it. Nil when it is not known: the pass creates the new image, but the copy is
    /// yours (``MovingDefragmentationPass/imagesToCopy``).
    public var layout: VkImageLayout?

    /// An image to move, in `layout` (nil: its copy is left to you).
    public init(_ image: BoundImage, description: ImageDescription, layout: VkImageLayout?) {
        self.image = image
        self.description = description
        self.layout = layout
    }

    /// Compares images, descriptions and layouts.
    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.image == rhs.image && lhs.description == rhs.description && lhs.layout?.rawValue == rhs.layout?.rawValue
    }

    /// Hashes the image.
    public func hash(into hasher: inout Hasher) { hasher.combine(image) }
}

/// An image a moving pass re-created but could not copy, because its layout was not
/// given, it or the new image lacks a transfer usage, or its format is multi-planar:
/// record the copy from `old` to `new` yourself, with your own barriers, in a command
/// buffer that completes no later than the pass's completion.
public struct ImageCopyLeftToYou: Sendable, Hashable {
    /// The image on its old place.
    public let old: MovableImage
    /// The image created on the new place, in `VK_IMAGE_LAYOUT_UNDEFINED` (or the
    /// description's initial layout).
    public let new: BoundImage
}

/// What a finished moving pass hands back: each moved resource's replacement, to use in
/// place of the old one from the pass's submission on.
public struct MovingDefragmentationResult: Sendable, Hashable {
    /// Each moved buffer (old) and the buffer made on its new place (new).
    public let buffers: [BoundBuffer: BoundBuffer]
    /// Each moved image (old) and the image made on its new place (new).
    public let images: [BoundImage: BoundImage]
    /// Bytes the pass's copies move (buffers and images, yours to copy included).
    public let bytesMoved: UInt64
    /// Pages that go back to the driver once the GPU is done.
    public let pagesToRelease: Int
}

/// A defragmentation pass that moves the data itself: its copies (`vkCmdCopyBuffer`,
/// `vkCmdCopyImage`) and the barriers around them (`vkCmdPipelineBarrier`) are already
/// in the command buffer you gave, and every moved resource already has its replacement,
/// bound to its new place. Submit that command buffer, then
/// ``finish(after:)`` with the fence or timeline value the submission signals: the old
/// resources and the emptied pages are released once the GPU is there
/// (``Allocator/releaseCompletedMoves()``, or the next pass's start).
///
/// ``cancel()`` (or dropping the pass) undoes it: the replacements are destroyed and
/// their memory freed. Only cancel before the command buffer is submitted (reset or
/// free it then): its copies write into that memory.
///
/// A pass is non-copyable and ends exactly once: ``finish(after:)`` and ``cancel()``
/// consume it, so the compiler refuses a second end. Move it between threads as any
/// value; from ``Allocator/beginMovingDefragmentation(buffers:images:recordingInto:in:maxBytesToMove:maxMoves:algorithm:)``
/// until the GPU reaches its completion no other defragmentation pass of the allocator
/// starts.
public struct MovingDefragmentationPass: ~Copyable, Sendable {
    /// Each moved buffer (old) and its replacement (new).
    public var buffers: [BoundBuffer: BoundBuffer] { state.buffers }
    /// Each moved image (old) and its replacement (new), copies left to you included.
    public var images: [BoundImage: BoundImage] { state.images }
    /// The images whose copy is yours to record.
    public var imagesToCopy: [ImageCopyLeftToYou] { state.imagesToCopy }
    /// Bytes the pass's copies move.
    public var bytesMoved: UInt64 { state.plan.bytesToMove }
    /// Pages released once the GPU is done.
    public var pagesToRelease: Int { state.plan.pagesToRelease }

    let state: MovingPassState

    init(state: MovingPassState) { self.state = state }

    /// Ends the pass once its command buffer is submitted: the old resources and the
    /// emptied pages are released when the GPU reaches `completion` (checked by
    /// ``Allocator/releaseCompletedMoves()`` and at the next pass's start, never waited
    /// on). Use the new resources from this submission on, and leave the old ones to the
    /// pass: it destroys them (`vkDestroyBuffer`/`vkDestroyImage`) with their memory.
    /// - Complexity: O(1).
    @discardableResult
    public consuming func finish(after completion: FrameCompletion) -> MovingDefragmentationResult {
        state.finish(after: completion)
    }

    /// Ends the pass without moving anything: the replacements are destroyed
    /// (`vkDestroyBuffer`/`vkDestroyImage`) and their memory freed, the pages that were to
    /// be emptied take allocations again. The command buffer must not be submitted.
    /// - Complexity: O(moves).
    public consuming func cancel() { state.cancel() }

    deinit { state.cancel() }
}

/// What a moving pass carries; a class so the pass's `deinit` finds whether it ended.
final class MovingPassState: Sendable {
    let allocator: Allocator
    let plan: DefragmentationPlan
    let buffers: [BoundBuffer: BoundBuffer]
    let images: [BoundImage: BoundImage]
    let imagesToCopy: [ImageCopyLeftToYou]
    /// Buffers made only to copy through (a moved buffer without a transfer usage): the
    /// same memory under another `VkBuffer`, destroyed with the old resources.
    let transients: [VkBufferHandle]
    private let ended = Locked(false)

    init(allocator: Allocator, plan: DefragmentationPlan, buffers: [BoundBuffer: BoundBuffer],
         images: [BoundImage: BoundImage], imagesToCopy: [ImageCopyLeftToYou], transients: [VkBufferHandle]) {
        self.allocator = allocator
        self.plan = plan
        self.buffers = buffers
        self.images = images
        self.imagesToCopy = imagesToCopy
        self.transients = transients
    }

    /// Ends once: true the first time.
    private func end() -> Bool {
        ended.withLock { ended in
            defer { ended = true }
            return !ended
        }
    }

    func finish(after completion: FrameCompletion) -> MovingDefragmentationResult {
        let result = MovingDefragmentationResult(buffers: buffers, images: images, bytesMoved: plan.bytesToMove,
                                                 pagesToRelease: plan.pagesToRelease)
        guard end() else { return result }
        // What the release needs, and not this state, which holds the allocator: the
        // allocator holds the closure until the GPU is done.
        let release: @Sendable (Allocator) -> DefragmentationResult = {
            [plan, buffers, images, transients] allocator in
            Self.releaseOld(allocator, plan: plan, buffers: buffers, images: images, transients: transients)
        }
        allocator.movesInFlight.withLock { $0 = MovesInFlight(completion: completion, release: release) }
        return result
    }

    func cancel() {
        guard end() else { return }
        let device = allocator.device
        // A replacement destroyed meanwhile (against the rules, with `destroyBuffer`) freed
        // its memory too: it is not destroyed twice.
        for new in buffers.values where allocator.liveness(new.allocation) == nil {
            device.deviceFunctions.destroyBuffer(device.device, new.buffer, nil)
        }
        for new in images.values where allocator.liveness(new.allocation) == nil {
            device.deviceFunctions.destroyImage(device.device, new.image, nil)
        }
        for transient in transients { device.deviceFunctions.destroyBuffer(device.device, transient.buffer, nil) }
        // The destinations go with the plan: freed while nothing else can have been placed there.
        plan.cancel()
    }

    /// After the GPU: the old handles first (their memory is the pass's sources), then
    /// the plan's commit frees the sources and releases the emptied pages.
    private static func releaseOld(_ allocator: Allocator, plan: DefragmentationPlan,
                                   buffers: [BoundBuffer: BoundBuffer], images: [BoundImage: BoundImage],
                                   transients: [VkBufferHandle]) -> DefragmentationResult {
        let device = allocator.device
        // One destroyed meanwhile (against the rules, with `destroyBuffer`) freed its
        // memory too: it is not destroyed twice.
        for old in buffers.keys where allocator.liveness(old.allocation) == nil {
            device.deviceFunctions.destroyBuffer(device.device, old.buffer, nil)
        }
        for old in images.keys where allocator.liveness(old.allocation) == nil {
            device.deviceFunctions.destroyImage(device.device, old.image, nil)
        }
        for transient in transients { device.deviceFunctions.destroyBuffer(device.device, transient.buffer, nil) }
        let result = plan.commit()
        // The commit keeps bound sources for a later destroy; these were destroyed above.
        let sources = Set(buffers.keys.map(\.allocation)).union(images.keys.map(\.allocation))
        allocator.movedSources.withLock { $0.subtract(sources) }
        return result
    }
}

/// A `VkBuffer` made by a pass for its copies alone.
/// `@unchecked` only for the handle, an opaque value never dereferenced here.
struct VkBufferHandle: @unchecked Sendable {
    let buffer: VkBuffer
}
