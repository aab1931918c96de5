import CVulkan

extension Allocator {
    /// Plans a defragmentation pass, as
    /// ``beginDefragmentation(in:maxBytesToMove:maxMoves:algorithm:shouldStop:)``, over the
    /// resources you list, and does the moving too: each moved buffer and image is created
    /// again on its new place (`vkCreateBuffer`/`vkCreateImage`, `vkBindBufferMemory`/
    /// `vkBindImageMemory`, with the size and usage it was made with, or the image's
    /// description), and its copy is recorded into `commandBuffer` (`vkCmdCopyBuffer`,
    /// `vkCmdCopyImage`) between two barriers (`vkCmdPipelineBarrier`): one before, that
    /// waits for all earlier commands and makes their writes visible to the copies; one
    /// after, that makes the copies visible to all later commands and moves each new image
    /// to its image's layout.
    ///
    /// Only allocations bound to a listed resource move; pages holding anything else are
    /// not emptied (other allocations may still move up to fuller pages under `.full`).
    /// Buffers are created again exclusive and without create flags: leave out buffers
    /// made with `VK_SHARING_MODE_CONCURRENT` or flags. A buffer without
    /// `VK_BUFFER_USAGE_TRANSFER_SRC_BIT` (or its replacement without `_DST_BIT`) is copied
    /// through a second `VkBuffer` made on the same memory for the copy alone.
    ///
    /// Starts by releasing a previous pass the GPU has finished
    /// (``releaseCompletedMoves()``). The command buffer must be in the recording state,
    /// of a queue family with transfer support; Vulkan has no query for a command
    /// buffer's state, so the validation layer is what catches one that is not.
    /// - Parameters:
    ///   - buffers: the buffers that may move.
    ///   - images: the images that may move, each with its description and layout.
    ///   - commandBuffer: where the barriers and copies are recorded.
    ///   - pool: the custom pool to defragment; nil for the allocator's own pages.
    ///   - maxBytesToMove: the most bytes the pass copies.
    ///   - maxMoves: the most resources the pass moves.
    ///   - algorithm: how moves are chosen (``DefragmentationAlgorithm``).
    /// - Throws: `.movesInFlight` while the previous pass's completion is not reached;
    ///   `.allocation` when planning fails (`.defragmentationPassOpen`, …), a resource is
    ///   listed twice (`.duplicateResource`), or creating a replacement fails. Nothing is
    ///   recorded and nothing is left behind then (a previous pass the GPU had finished is
    ///   released all the same: that release stands on its own).
    /// - Complexity: O(resources) to index them, the plan's cost (see
    ///   ``DefragmentationAlgorithm``), and O(1) Vulkan calls per move.
    public func beginMovingDefragmentation(
        buffers: [BoundBuffer], images: [MovableImage] = [], recordingInto commandBuffer: VkCommandBuffer,
        in pool: MemoryPool? = nil, maxBytesToMove: UInt64 = .max, maxMoves: Int = .max,
        algorithm: DefragmentationAlgorithm = .balanced
    ) throws(MovingDefragmentationError) -> MovingDefragmentationPass {
        try beginMoving(buffers: buffers, images: images, recordingInto: commandBuffer, in: pool,
                        maxBytesToMove: maxBytesToMove, maxMoves: maxMoves, algorithm: algorithm, drain: false)
    }

    /// The moving pass; `drain` makes the first page the plan cannot empty drain until a
    /// later pass can (``IncrementalDefragmentation``).
    func beginMoving(buffers: [BoundBuffer], images: [MovableImage], recordingInto commandBuffer: VkCommandBuffer,
                     in pool: MemoryPool?, maxBytesToMove: UInt64, maxMoves: Int, algorithm: DefragmentationAlgorithm,
                     drain: Bool) throws(MovingDefragmentationError) -> MovingDefragmentationPass {
        do throws(AllocationError) {
            try releaseCompletedMoves()
        } catch {
            throw .allocation(error)
        }
        guard !hasMovesInFlight else { throw .movesInFlight }
        var resources: [Allocation: MovableResource] = [:]
        for buffer in buffers where resources.updateValue(.buffer(buffer), forKey: buffer.allocation) != nil {
            throw .allocation(.duplicateResource)
        }
        for image in images where resources.updateValue(.image(image), forKey: image.image.allocation) != nil {
            throw .allocation(.duplicateResource)
        }
        let plan: DefragmentationPlan
        do throws(AllocationError) {
            plan = try planDefragmentation(in: pool, maxBytesToMove: maxBytesToMove, maxMoves: maxMoves,
                                           algorithm: algorithm, canMove: { resources[$0] != nil }, drain: drain,
                                           shouldStop: { false })
        } catch {
            throw .allocation(error)
        }
        var made = MadeReplacements()
        do throws(AllocationError) {
            for move in plan.moves {
                guard let resource = resources[move.source] else { preconditionFailure("planned a move nobody listed") }
                try made.replace(resource, move, on: self)
            }
        } catch {
            made.destroy(on: device)
            plan.cancel()
            throw .allocation(error)
        }
        recordMoves(made, into: commandBuffer)
        return MovingDefragmentationPass(state: MovingPassState(
            allocator: self, plan: plan, buffers: made.bufferMap, images: made.imageMap,
            imagesToCopy: made.imagesToCopy, transients: made.transients.map(VkBufferHandle.init)))
    }
}

/// A resource a moving pass was given.
enum MovableResource {
    case buffer(BoundBuffer)
    case image(MovableImage)
}

/// What a moving pass made before recording: the replacements, the copies to record and
/// the buffers made only to copy through.
struct MadeReplacements {
    /// A buffer copy: from, to, bytes.
    var bufferCopies: [(source: VkBuffer, destination: VkBuffer, size: UInt64)] = []
    /// An image copy: the old image, its replacement, its description and layout.
    var imageCopies: [(old: VkImage, new: VkImage, description: ImageDescription, layout: VkImageLayout)] = []
    var bufferMap: [BoundBuffer: BoundBuffer] = [:]
    var imageMap: [BoundImage: BoundImage] = [:]
    var imagesToCopy: [ImageCopyLeftToYou] = []
    var transients: [VkBuffer] = []

    /// Creates the replacement of one resource on `move.destination`, and what its copy
    /// needs.
    mutating func replace(_ resource: MovableResource, _ move: DefragmentationMove,
                          on allocator: Allocator) throws(AllocationError) {
        switch resource {
        case .buffer(let old):
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = old.size
            info.usage = VkBufferUsageFlags(old.usage.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            let new = try allocator.createBuffer(info, boundTo: move.destination)
            bufferMap[old] = new
            let source = old.usage.contains(.transferSource) ? old.buffer
                : try transient(on: old.allocation, size: old.size, usage: .transferSource, allocator)
            let destination = new.usage.contains(.transferDestination) ? new.buffer
                : try transient(on: new.allocation, size: new.size, usage: .transferDestination, allocator)
            bufferCopies.append((source, destination, old.size))
        case .image(let old):
            guard let object = try allocator.makeImage(old.description, create: true) else {
                preconditionFailure("makeImage(create: true) made no image")
            }
            try allocator.bind(object, toExisting: move.destination)
            let new = BoundImage(image: object.image, allocation: move.destination)
            imageMap[old.image] = new
            let usage = old.description.usage
            // A new image cannot be left UNDEFINED or PREINITIALIZED by a barrier, so those
            // layouts say as little as none.
            if let layout = old.layout, layout != VK_IMAGE_LAYOUT_UNDEFINED, layout != VK_IMAGE_LAYOUT_PREINITIALIZED,
               usage.contains(.transferSource), usage.contains(.transferDestination),
               ImageAspects(old.description.format) != nil {
                imageCopies.append((old.image.image, new.image, old.description, layout))
            } else {
                imagesToCopy.append(ImageCopyLeftToYou(old: old, new: new))
            }
        }
    }

    /// A `VkBuffer` of `size` bytes with `usage` alone, bound to `allocation`'s memory, for
    /// a copy through memory a resource without that usage holds.
    private mutating func transient(on allocation: Allocation, size: UInt64, usage: BufferUsage,
                                    _ allocator: Allocator) throws(AllocationError) -> VkBuffer {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(usage.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let object = try ResourceObject.create(info, on: allocator.device)
        let needs = object.requirements(on: allocator.device)
        let mismatch: UnmetRequirement? =
            needs.memoryTypeBits & (1 << UInt32(allocation.memoryTypeIndex)) == 0
                ? .memoryType(index: allocation.memoryTypeIndex, allowed: needs.memoryTypeBits)
            : needs.size > allocation.size ? .size(needed: needs.size, available: allocation.size)
            : allocation.offset % max(needs.alignment, 1) != 0
                ? .alignment(needed: needs.alignment, offset: allocation.offset) : nil
        if let mismatch {
            object.destroy(on: allocator.device)
            throw .requirementsNotMet(allocation: allocation.description, reason: mismatch)
        }
        do throws(AllocationError) {
            try object.bind(to: allocation, on: allocator.device)
        } catch {
            object.destroy(on: allocator.device)
            throw error
        }
        transients.append(object.buffer)
        return object.buffer
    }

    /// Destroys everything made so far (the replacements' memory goes with the plan).
    func destroy(on device: VulkanDevice) {
        let functions = device.deviceFunctions
        for new in bufferMap.values { functions.destroyBuffer(device.device, new.buffer, nil) }
        for new in imageMap.values { functions.destroyImage(device.device, new.image, nil) }
        for transient in transients { functions.destroyBuffer(device.device, transient, nil) }
    }
}
