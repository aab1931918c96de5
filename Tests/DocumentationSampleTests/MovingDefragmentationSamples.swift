import Testing
import VulkanMemory

// The samples of the DocC article "Defragmenting memory" on moving passes and the
// incremental policy.

/// One moving pass over `buffers`: the copies go with the frame's command buffer, the old
/// buffers and the emptied pages once its fence is signalled. Returns the buffers in
/// their new places.
func moveBuffers(_ allocator: Allocator, _ frame: CommandSubmission, buffers: [BoundBuffer]) throws -> [BoundBuffer] {
    // Sample: moving-defragmentation
    try frame.begin()                                      // the frame's command buffer, recording
    let pass = try allocator.beginMovingDefragmentation(buffers: buffers, recordingInto: frame.commandBuffer)
    let moved = pass.finish(after: .fence(frame.fence))    // copies and barriers recorded, new buffers made
    try frame.submit()                                     // the copies run with the frame's work
    let current = buffers.map { moved.buffers[$0] ?? $0 }  // the new buffers, from this submission on
    try frame.wait()                                       // later: once the GPU is past the fence,
    try allocator.releaseCompletedMoves()                  // old buffers destroyed, emptied pages freed
    // Sample: end
    return current
}

/// A frame loop with a moving pass of at most 8 MiB per frame; `churn` is the frame's
/// own creating and destroying.
func frameLoop(_ allocator: Allocator, _ frame: CommandSubmission, buffers: inout [BoundBuffer], frames: Int,
               churn: (inout [BoundBuffer]) throws -> Void) throws {
    // Sample: incremental-defragmentation
    let policy = IncrementalDefragmentation(maxBytesPerStep: 8 << 20)
    for _ in 0..<frames {
        try churn(&buffers)                                // the frame makes and drops what it needs
        try frame.begin()
        if let pass = try policy.step(allocator, buffers: buffers, recordingInto: frame.commandBuffer) {
            let moved = pass.finish(after: .fence(frame.fence))
            buffers = buffers.map { moved.buffers[$0] ?? $0 }
        }
        try frame.submit()                                 // the frame's work and the moves' copies
        try frame.wait()                                   // a real loop waits a frame or two later
    }
    // Sample: end
}

@Suite struct MovingDefragmentationSamples {
    /// 96 buffers of 64 KiB in 4 MiB pages, each holding its index, two of every three
    /// destroyed.
    static func fragmented(_ allocator: Allocator, _ transfer: TransferQueue) throws -> [BoundBuffer] {
        let createInfo = BufferDescription(size: 64 << 10, usage: [.storageBuffer, .transferSource, .transferDestination])
            .exclusiveCreateInfo
        var buffers: [BoundBuffer] = []
        for index in 0..<96 {
            let buffer = try allocator.createBuffer(createInfo, .usage(.gpuOnly))
            if index % 3 == 0 {
                try transfer.upload([UInt32](repeating: UInt32(index), count: 16), to: buffer)
                buffers.append(buffer)
            } else {
                try allocator.destroyBuffer(buffer)
            }
        }
        return buffers
    }

    /// An allocator of 4 MiB pages holding `fragmented` buffers, a transfer helper whose
    /// staging buffers come from an allocator of their own (out of the pages measured),
    /// and a frame's command buffer and fence.
    static func setUp(_ context: VulkanContext) throws
        -> (Allocator, TransferQueue, CommandSubmission, [BoundBuffer], before: AllocatorUsage) {
        var options = AllocatorOptions()
        options.deviceLocalPageSize = 4 << 20
        options.hostPageSize = 4 << 20
        let allocator = Allocator(device: context.device, options: options)
        let transfer = try TransferQueue(context: context, allocator: Allocator(device: context.device), staging: .always)
        let buffers = try fragmented(allocator, transfer)
        return (allocator, transfer, try CommandSubmission(context: context), buffers, allocator.usage)
    }

    @Test func aMovingPassKeepsContentsAndGivesPagesBack() throws {
        try withSampleDevice { context in
            let (allocator, transfer, frame, buffers, before) = try Self.setUp(context)
            let moved = try moveBuffers(allocator, frame, buffers: buffers)
            #expect(moved != buffers)
            #expect(allocator.usage.committedBytes < before.committedBytes)
            for (slot, buffer) in moved.enumerated() {
                #expect(try transfer.download(UInt32.self, count: 16, from: buffer) == [UInt32](repeating: UInt32(slot * 3), count: 16))
                try allocator.destroyBuffer(buffer)
            }
        }
    }

    @Test func aFrameLoopKeepsContents() throws {
        try withSampleDevice { context in
            let (allocator, transfer, frame, initial, before) = try Self.setUp(context)
            var buffers = initial
            var frameIndex = 0
            // Each frame drops its first buffer and puts it back, contents and all, at the end.
            try frameLoop(allocator, frame, buffers: &buffers, frames: 8) { buffers in
                frameIndex += 1
                let first = buffers.removeFirst()
                let values = try transfer.download(UInt32.self, count: 16, from: first)
                try allocator.destroyBuffer(first)
                let again = try allocator.createBuffer(BufferDescription(
                    size: 64 << 10, usage: [.storageBuffer, .transferSource, .transferDestination]).exclusiveCreateInfo,
                    .usage(.gpuOnly))
                try transfer.upload(values, to: again)
                buffers.append(again)
            }
            try allocator.releaseCompletedMoves()
            #expect(frameIndex == 8)
            #expect(allocator.usage.committedBytes < before.committedBytes)
            let values = try buffers.map { try transfer.download(UInt32.self, count: 16, from: $0)[0] }
            #expect(Set(values) == Set((0..<32).map { UInt32($0 * 3) }))
            for buffer in buffers { try allocator.destroyBuffer(buffer) }
        }
    }
}
