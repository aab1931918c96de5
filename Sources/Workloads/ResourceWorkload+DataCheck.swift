import CVulkan
import VulkanMemory

/// The bytes of W3's buffers under incremental defragmentation: each buffer is filled on
/// the GPU with a word of its own (`vkCmdFillBuffer`) before any pass may move it, and at
/// the end every live buffer is read back through a `TRANSFER_SRC` buffer aliasing its
/// memory (W3's buffers have no such usage) and compared word by word: a move that lost
/// or mixed data shows as a mismatch.
struct BufferPatterns {
    let allocator: Allocator
    let transfer: TransferQueue
    /// Each slot's word.
    var words: [UInt32]
    /// Whether each slot's buffer has been filled yet.
    var filled: [Bool]
    /// Creations so far: each one's word differs from its slot's previous ones.
    private var serial: UInt32 = 0

    init(allocator: Allocator, queue: VkQueue, queueFamilyIndex: UInt32, slots: Int) throws(AllocationError) {
        self.allocator = allocator
        do throws(TransferError) {
            transfer = try TransferQueue(allocator: allocator, queue: queue, queueFamilyIndex: queueFamilyIndex)
        } catch {
            throw Self.allocationError(error)
        }
        words = [UInt32](repeating: 0, count: slots)
        filled = [Bool](repeating: false, count: slots)
    }

    /// Slot `slot` holds a new buffer: it gets a new word, written at the next `fill`.
    mutating func created(_ slot: Int) {
        serial &+= 1
        // Odd multiples of a large odd constant: no two creations in 2^32 share a word.
        words[slot] = serial &* 0x9E37_79B1 | 1
        filled[slot] = false
    }

    /// Fills every buffer not filled yet with its word, in one submission waited for.
    mutating func fill(_ buffers: [BoundBuffer]) throws(AllocationError) {
        let pending = buffers.indices.filter { !filled[$0] }
        guard !pending.isEmpty else { return }
        let functions = allocator.device.commandFunctions
        let words = words
        do throws(TransferError) {
            try transfer.submit { commandBuffer in
                for slot in pending {
                    functions.cmdFillBuffer(commandBuffer, buffers[slot].buffer, 0, VK_WHOLE_SIZE, words[slot])
                }
            }
        } catch {
            throw Self.allocationError(error)
        }
        for slot in pending { filled[slot] = true }
    }

    /// Reads every buffer back and counts the buffers whose words differ from the ones
    /// written (the whole words of each buffer: `VK_WHOLE_SIZE` fills no partial word).
    /// - Returns: the buffers checked and the ones that differ.
    func check(_ buffers: [BoundBuffer]) throws(AllocationError) -> (checked: Int, mismatched: Int) {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        let largest = buffers.map(\.size).max() ?? 0
        guard largest >= 4 else { return (0, 0) }
        var readbackInfo = info
        readbackInfo.size = largest / 4 * 4
        readbackInfo.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        let readback = try allocator.createBuffer(readbackInfo, .usage(.readback))
        defer { try? allocator.destroyBuffer(readback) }
        let functions = allocator.device.commandFunctions
        var mismatched = 0
        var checked = 0
        var read = [UInt32](repeating: 0, count: Int(largest / 4))
        for (slot, buffer) in buffers.enumerated() where buffer.size >= 4 {
            let bytes = buffer.size / 4 * 4
            info.size = bytes
            let alias = try allocator.createAliasingBuffer(info, aliasing: buffer.allocation)
            defer { try? allocator.destroyAliasingBuffer(alias) }
            do throws(TransferError) {
                try transfer.submit { commandBuffer in
                    var region = VkBufferCopy(srcOffset: 0, dstOffset: 0, size: bytes)
                    functions.cmdCopyBuffer(commandBuffer, alias.buffer, readback.buffer, 1, &region)
                    var barrier = VkMemoryBarrier()
                    barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
                    barrier.srcAccessMask = VkAccessFlags(VK_ACCESS_TRANSFER_WRITE_BIT.rawValue)
                    barrier.dstAccessMask = VkAccessFlags(VK_ACCESS_HOST_READ_BIT.rawValue)
                    functions.cmdPipelineBarrier(commandBuffer, VkPipelineStageFlags(VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue),
                                                 VkPipelineStageFlags(VK_PIPELINE_STAGE_HOST_BIT.rawValue), 0,
                                                 1, &barrier, 0, nil, 0, nil)
                }
            } catch {
                throw Self.allocationError(error)
            }
            let count = Int(bytes / 4)
            var failure: AllocationError?
            read.withUnsafeMutableBytes { raw in
                do throws(AllocationError) {
                    try allocator.copyMemory(from: readback.allocation,
                                             into: UnsafeMutableRawBufferPointer(rebasing: raw[..<(count * 4)]))
                } catch {
                    failure = error
                }
            }
            if let failure { throw failure }
            let word = words[slot]
            if read[..<count].contains(where: { $0 != word }) { mismatched += 1 }
            checked += 1
        }
        return (checked, mismatched)
    }

    /// A transfer's failure as the workload's error.
    static func allocationError(_ error: TransferError) -> AllocationError {
        switch error {
        case .allocation(_, let error): error
        case .vulkan(_, let error): .vulkan(error)
        default: .vulkan(.callFailed(function: "\(error)", result: VulkanResult(VK_ERROR_UNKNOWN)))
        }
    }
}
