import CVulkan

/// Uploads into and downloads from buffers.
extension TransferQueue {
    /// Copies bytes into a buffer at `offset`: through the mapping when the buffer's memory
    /// is host-visible (and `staging` allows), else through a staging buffer and
    /// `vkCmdCopyBuffer`. When it returns the bytes are in the buffer and visible to work
    /// submitted to the queue later.
    ///
    /// - Throws: `.emptyTransfer` for no bytes; `.outOfRange` when they do not fit in the
    ///   buffer (`BoundBuffer.size`); `.allocation` when a copy through staging meets a
    ///   buffer without `.transferDestination` usage (`.bufferUsageMissing`;
    ///   `.transferSource` for a download), or when the staging buffer cannot be made or
    ///   the memory mapped; `.vulkan` naming a failed call. Nothing is left behind. The
    ///   buffer may be another allocator's of the same device; that it is not destroyed
    ///   is the caller's to ensure.
    public func upload(_ bytes: UnsafeRawBufferPointer, to buffer: BoundBuffer, at offset: UInt64 = 0) throws(TransferError) {
        let operation = "upload to buffer"
        let size = try checkedRange(operation, offset: offset, count: bytes.count, in: buffer)
        if accessesDirectly(buffer.allocation) {
            do throws(AllocationError) { try allocator.copyMemory(bytes, to: buffer.allocation, at: offset) } catch {
                throw .allocation(operation: operation, error)
            }
            return
        }
        try checkCopyUsage(operation, buffer, .transferDestination)
        try withStagingBuffer(operation, size: size, upload: true) { (staging) throws(TransferError) in
            do throws(AllocationError) { try allocator.copyMemory(bytes, to: staging.allocation) } catch {
                throw .allocation(operation: operation, error)
            }
            try oneTimeSubmit(operation) { commandBuffer in
                // Earlier work on the queue may still read or write the range.
                memoryBarrier(commandBuffer, from: Self.allCommands, Self.memoryWrite,
                              to: Self.transferStage, Self.transferWrite)
                var region = VkBufferCopy(srcOffset: 0, dstOffset: offset, size: size)
                allocator.device.commandFunctions.cmdCopyBuffer(commandBuffer, staging.buffer, buffer.buffer, 1, &region)
                memoryBarrier(commandBuffer, from: Self.transferStage, Self.transferWrite,
                              to: Self.allCommands, Self.memoryRead | Self.memoryWrite)
            }
        }
    }

    /// Copies values into a buffer at `offset`, back to back with their stride
    /// (`MemoryLayout<T>.stride`), as `upload(_:to:at:)` copies bytes.
    public func upload<T: BitwiseCopyable>(_ values: [T], to buffer: BoundBuffer, at offset: UInt64 = 0) throws(TransferError) {
        var failure: TransferError?
        values.withUnsafeBytes { bytes in
            do throws(TransferError) { try upload(bytes, to: buffer, at: offset) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Copies `destination.count` bytes of a buffer from `offset` to the host: through the
    /// mapping when the memory is host-visible (after a barrier that makes the device's
    /// writes available to the host), else through a staging buffer and `vkCmdCopyBuffer`.
    /// Work submitted to the queue before, such as a compute dispatch, has finished
    /// writing when the bytes are read.
    ///
    /// - Throws: as `upload(_:to:at:)`; `destination` is untouched then.
    public func download(from buffer: BoundBuffer, at offset: UInt64 = 0,
                         into destination: UnsafeMutableRawBufferPointer) throws(TransferError) {
        let operation = "download from buffer"
        let size = try checkedRange(operation, offset: offset, count: destination.count, in: buffer)
        if accessesDirectly(buffer.allocation) {
            // The device's writes reach the host only through a barrier to the host stage.
            try oneTimeSubmit(operation) { commandBuffer in
                memoryBarrier(commandBuffer, from: Self.allCommands, Self.memoryWrite, to: Self.hostStage, Self.hostRead)
            }
            do throws(AllocationError) { try allocator.copyMemory(from: buffer.allocation, at: offset, into: destination) } catch {
                throw .allocation(operation: operation, error)
            }
            return
        }
        try checkCopyUsage(operation, buffer, .transferSource)
        try withStagingBuffer(operation, size: size, upload: false) { (staging) throws(TransferError) in
            try oneTimeSubmit(operation) { commandBuffer in
                memoryBarrier(commandBuffer, from: Self.allCommands, Self.memoryWrite,
                              to: Self.transferStage, Self.transferRead)
                var region = VkBufferCopy(srcOffset: offset, dstOffset: 0, size: size)
                allocator.device.commandFunctions.cmdCopyBuffer(commandBuffer, buffer.buffer, staging.buffer, 1, &region)
                memoryBarrier(commandBuffer, from: Self.transferStage, Self.transferWrite, to: Self.hostStage, Self.hostRead)
            }
            do throws(AllocationError) { try allocator.copyMemory(from: staging.allocation, into: destination) } catch {
                throw .allocation(operation: operation, error)
            }
        }
    }

    /// Reads `count` values laid out with their stride from a buffer at `offset`, as
    /// `download(from:at:into:)` reads bytes.
    /// - Throws: `.emptyTransfer` for a count of 0, else as `download(from:at:into:)`.
    public func download<T: BitwiseCopyable>(_ type: T.Type, count: Int, from buffer: BoundBuffer,
                                             at offset: UInt64 = 0) throws(TransferError) -> [T] {
        let operation = "download from buffer"
        guard count > 0, MemoryLayout<T>.stride > 0 else { throw .emptyTransfer(operation: operation) }
        let (bytes, overflow) = MemoryLayout<T>.stride.multipliedReportingOverflow(by: count)
        guard !overflow else { throw .outOfRange(operation: operation, offset: offset, size: .max, limit: buffer.size) }
        _ = try checkedRange(operation, offset: offset, count: bytes, in: buffer)
        var failure: TransferError?
        let values = [T](unsafeUninitializedCapacity: count) { storage, initialized in
            do throws(TransferError) {
                try download(from: buffer, at: offset, into: UnsafeMutableRawBufferPointer(storage))
                initialized = count
            } catch {
                failure = error
                initialized = 0
            }
        }
        if let failure { throw failure }
        return values
    }

    /// `count` bytes at `offset` as a checked size: not empty, and inside the buffer.
    private func checkedRange(_ operation: String, offset: UInt64, count: Int,
                              in buffer: BoundBuffer) throws(TransferError) -> UInt64 {
        guard count > 0 else { throw .emptyTransfer(operation: operation) }
        let size = UInt64(count)
        guard offset <= buffer.size, size <= buffer.size - offset else {
            throw .outOfRange(operation: operation, offset: offset, size: size, limit: buffer.size)
        }
        return size
    }

    /// A staged copy's `vkCmdCopyBuffer` needs the buffer's transfer usage. A buffer of
    /// your own bound by `bind(_:to:)` carries no usage (`[]`, unknown): not checked.
    private func checkCopyUsage(_ operation: String, _ buffer: BoundBuffer,
                                _ needed: BufferUsage) throws(TransferError) {
        guard buffer.usage.isEmpty || buffer.usage.contains(needed) else {
            throw .allocation(operation: operation, .bufferUsageMissing(needed, operation: "vkCmdCopyBuffer"))
        }
    }
}
