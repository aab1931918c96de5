import CVulkan

/// Moves bytes between the host and an allocator's buffers and images: the upload and
/// download every engine writes by hand, with one-time-submit command buffers.
///
/// Each call records one command buffer (`VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT`),
/// submits it with a fence (`vkQueueSubmit`) and waits for the fence
/// (`vkWaitForFences`) before it returns, so what it copied is in place, and the staging
/// buffer it used is gone, when it returns. Memory the host can see is written and read
/// through the allocator's mapping instead (`Allocator.copyMemory`), unless `staging` is
/// `.always`; everything else goes through a staging buffer the allocator places
/// (`.staging` to upload, `.readback` to download) and destroys on every path, error or
/// not. Buffers need `VK_BUFFER_USAGE_TRANSFER_DST_BIT` to be uploaded to and
/// `VK_BUFFER_USAGE_TRANSFER_SRC_BIT` to be downloaded from when the copy is staged;
/// images always need the matching `VK_IMAGE_USAGE_TRANSFER_*` bit.
///
/// Synchronization: each command buffer starts with a barrier that waits for earlier work
/// on the queue that wrote memory (so results of a compute dispatch submitted before are
/// what is downloaded), and ends with one that makes the copy visible to later work on
/// the queue and, for downloads, to the host. Work on other queues is the caller's to
/// order (semaphores). A destination the host writes directly must not be in use by
/// submitted work, as with any mapping.
///
/// Thread safety: every method may be called from any thread; calls are serialized by a
/// lock, since Vulkan requires a queue and a command pool to be used by one thread at a
/// time. The caller must not submit to the same `VkQueue` elsewhere while a call runs.
public final class TransferQueue: Sendable {
    /// When to copy through a staging buffer.
    public enum Staging: Sendable, Hashable {
        /// Only when the buffer's memory is not `HOST_VISIBLE`; host-visible buffers are
        /// written and read through the mapping. Images are always staged (an
        /// optimal-tiling image has no linear layout to write into).
        case whenNotHostVisible
        /// Always, so a copy goes through the queue as it would on a discrete GPU's
        /// device-local memory (and for host-visible memory the host should not read,
        /// such as write-combined BAR memory).
        case always
    }

    /// The allocator buffers and images come from; staging buffers are placed with it.
    public let allocator: Allocator
    /// The family of the queue, and of the command pool made for it.
    public let queueFamilyIndex: UInt32
    /// When copies are staged.
    public let staging: Staging
    /// The queue and the command pool: both need external synchronization in Vulkan, so
    /// both live behind the one lock that serializes the helper's submissions.
    let submission: Locked<Submission>

    struct Submission {
        let queue: VkQueue
        let pool: VkCommandPool
    }

    /// The name of every staging buffer in the allocator's reports and statistics.
    public static let stagingBufferName = "TransferQueue staging"

    /// A helper for a queue of `allocator.device`: creates its command pool
    /// (`vkCreateCommandPool`, `VK_COMMAND_POOL_CREATE_TRANSIENT_BIT`).
    ///
    /// - Parameters:
    ///   - allocator: the allocator whose buffers and images are copied, and which places
    ///     the staging buffers.
    ///   - queue: a queue the device was created with, from `queueFamilyIndex`; it must
    ///     support transfers (every graphics or compute queue does).
    ///   - queueFamilyIndex: the family `queue` belongs to; the command pool is made for it.
    ///   - staging: when copies go through a staging buffer.
    /// - Throws: `.invalidQueueFamily` for an index past the device's families;
    ///   `TransferError.vulkan` when `vkCreateCommandPool` fails.
    public init(allocator: Allocator, queue: VkQueue, queueFamilyIndex: UInt32,
                staging: Staging = .whenNotHostVisible) throws(TransferError) {
        let families = allocator.device.resourceLimits.queueFamilyCount
        guard queueFamilyIndex < families else {
            throw .invalidQueueFamily(operation: "create the transfer queue's command pool", index: queueFamilyIndex,
                                      count: families)
        }
        let pool: VkCommandPool
        do throws(VulkanError) {
            pool = try allocator.device.createCommandPool(family: queueFamilyIndex, flags: VK_COMMAND_POOL_CREATE_TRANSIENT_BIT)
        } catch {
            throw .vulkan(operation: "create the transfer queue's command pool", error)
        }
        self.allocator = allocator
        self.queueFamilyIndex = queueFamilyIndex
        self.staging = staging
        self.submission = Locked(Submission(queue: queue, pool: pool))
    }

    /// A helper for the queue a `VulkanContext` created (`context.queue`).
    ///
    /// - Throws: `TransferError.deviceMismatch` when `allocator` was made for another
    ///   device than `context.device`; `.vulkan` when `vkCreateCommandPool` fails.
    public convenience init(context: VulkanContext, allocator: Allocator,
                            staging: Staging = .whenNotHostVisible) throws(TransferError) {
        guard context.device === allocator.device else { throw .deviceMismatch(operation: "creating a transfer queue") }
        try self.init(allocator: allocator, queue: context.queue.handle, queueFamilyIndex: context.queueFamilyIndex,
                      staging: staging)
    }

    deinit {
        let pool = submission.withLock { $0.pool }
        // Every command buffer was freed when its call returned; destroying the pool is all.
        allocator.device.commandFunctions.destroyCommandPool(allocator.device.device, pool, nil)
    }

    /// Records commands of your own into a one-time-submit command buffer
    /// (`vkAllocateCommandBuffers`, `vkBeginCommandBuffer`, `vkEndCommandBuffer`), submits
    /// it with a fence (`vkQueueSubmit`), waits for it (`vkWaitForFences`) and frees the
    /// command buffer and fence, also when a call fails.
    ///
    /// Use it for a compute dispatch or a clear between uploads: `record` gets the
    /// command buffer in the recording state. It runs under the helper's lock, so it must
    /// not call the helper again.
    /// - Returns: what `record` returns.
    /// - Throws: `TransferError.vulkan` naming the call that failed.
    @discardableResult
    public func submit<R>(_ record: (VkCommandBuffer) -> R) throws(TransferError) -> R {
        try oneTimeSubmit("submit", record)
    }

    /// The one-time submit behind every copy; `operation` names the call in errors.
    func oneTimeSubmit<R>(_ operation: String, _ record: (VkCommandBuffer) -> R) throws(TransferError) -> R {
        let device = allocator.device.device
        let functions = allocator.device.commandFunctions
        return try submission.withLock { (state: inout Submission) throws(TransferError) -> R in
            let pool = state.pool
            let commandBuffer: VkCommandBuffer
            let fence: VkFence
            do throws(VulkanError) { commandBuffer = try allocator.device.allocateCommandBuffer(from: pool) } catch {
                throw .vulkan(operation: operation, error)
            }
            var allocated: VkCommandBuffer? = commandBuffer
            defer { functions.freeCommandBuffers(device, pool, 1, &allocated) }
            do throws(VulkanError) { fence = try allocator.device.createFence() } catch {
                throw .vulkan(operation: operation, error)
            }
            defer { functions.destroyFence(device, fence, nil) }

            let value: R
            do throws(VulkanError) {
                try allocator.device.beginOneTimeSubmit(commandBuffer)
                value = record(commandBuffer)
                try allocator.device.end(commandBuffer)
            } catch {
                throw .vulkan(operation: operation, error)
            }
            do throws(VulkanError) {
                try allocator.device.submit(commandBuffer, to: state.queue, signalling: fence)
                // Waited for even if it fails: freeing a command buffer the device may still run
                // is not allowed, and after VK_ERROR_DEVICE_LOST nothing runs any more.
                try allocator.device.wait(for: fence)
            } catch {
                throw .vulkan(operation: operation, error)
            }
            return value
        }
    }

    /// Whether host access to memory of type `typeIndex` goes through the mapping.
    func accessesDirectly(_ allocation: Allocation) -> Bool {
        // An index past this device's types (an allocation of another device's allocator)
        // is no host-visible type here.
        let types = allocator.properties.types
        return staging == .whenNotHostVisible && types.indices.contains(allocation.memoryTypeIndex)
            && types[allocation.memoryTypeIndex].isHostVisible
    }

    /// Creates a staging buffer of `size` bytes, runs `body` with it and destroys it
    /// afterwards, whether `body` throws or not. When it throws, the page the staging
    /// buffer made (if any) goes too, so a failed transfer leaves the allocator as it was;
    /// after a transfer that worked the empty-page policy decides, as for any buffer.
    func withStagingBuffer<R>(_ operation: String, size: UInt64, upload: Bool,
                              _ body: (BoundBuffer) throws(TransferError) -> R) throws(TransferError) -> R {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = size
        info.usage = VkBufferUsageFlags(upload ? VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
                                               : VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let stagingBuffer: BoundBuffer
        do throws(AllocationError) {
            stagingBuffer = try allocator.createBuffer(info, .usage(upload ? .staging : .readback),
                                                       options: AllocationOptions(name: Self.stagingBufferName))
        } catch {
            throw .allocation(operation: operation, error)
        }
        let result: R
        do throws(TransferError) {
            result = try body(stagingBuffer)
        } catch {
            allocator.undoBuffer(stagingBuffer)
            throw error
        }
        do throws(AllocationError) { try allocator.destroyBuffer(stagingBuffer) } catch {
            // Made by this call and destroyed once: only a bug in the allocator gets here.
            assertionFailure("destroying the staging buffer failed: \(error)")
        }
        return result
    }
}

/// Pipeline barriers as the helper records them (`vkCmdPipelineBarrier`).
extension TransferQueue {
    static let allCommands = VkPipelineStageFlags(VK_PIPELINE_STAGE_ALL_COMMANDS_BIT.rawValue)
    static let transferStage = VkPipelineStageFlags(VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue)
    static let hostStage = VkPipelineStageFlags(VK_PIPELINE_STAGE_HOST_BIT.rawValue)
    static let memoryRead = VkAccessFlags(VK_ACCESS_MEMORY_READ_BIT.rawValue)
    static let memoryWrite = VkAccessFlags(VK_ACCESS_MEMORY_WRITE_BIT.rawValue)
    static let transferRead = VkAccessFlags(VK_ACCESS_TRANSFER_READ_BIT.rawValue)
    static let transferWrite = VkAccessFlags(VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
    static let hostRead = VkAccessFlags(VK_ACCESS_HOST_READ_BIT.rawValue)

    /// A global memory barrier.
    func memoryBarrier(_ commandBuffer: VkCommandBuffer,
                       from sourceStage: VkPipelineStageFlags, _ sourceAccess: VkAccessFlags,
                       to destinationStage: VkPipelineStageFlags, _ destinationAccess: VkAccessFlags) {
        var barrier = VkMemoryBarrier()
        barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        barrier.srcAccessMask = sourceAccess
        barrier.dstAccessMask = destinationAccess
        allocator.device.commandFunctions.cmdPipelineBarrier(
            commandBuffer, sourceStage, destinationStage, 0, 1, &barrier, 0, nil, 0, nil)
    }

    /// An image memory barrier with a layout transition, within one queue family.
    func imageBarrier(_ commandBuffer: VkCommandBuffer, _ image: VkImage, _ range: VkImageSubresourceRange,
                      _ oldLayout: VkImageLayout, _ newLayout: VkImageLayout,
                      from sourceStage: VkPipelineStageFlags, _ sourceAccess: VkAccessFlags,
                      to destinationStage: VkPipelineStageFlags, _ destinationAccess: VkAccessFlags) {
        var barrier = VkImageMemoryBarrier.transition(image, range, oldLayout, newLayout, sourceAccess, destinationAccess)
        allocator.device.commandFunctions.cmdPipelineBarrier(
            commandBuffer, sourceStage, destinationStage, 0, 0, nil, 0, nil, 1, &barrier)
    }
}
