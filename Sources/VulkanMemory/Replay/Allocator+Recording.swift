import CVulkan

/// The lines `CallRecorder` writes for the allocator's calls, in VMA 2.x's parameter
/// order for each function (what `VMARecording` reads back).
extension Allocator {
    /// `vmaAllocateMemory` (`…ForBuffer` for linear requirements, `…ForImage` for
    /// optimal ones): size, alignment, memoryTypeBits, [requires, prefers dedicated,]
    /// the allocation create-info, the handle and the user data.
    func recordAllocate(_ requirements: MemoryRequirements, _ request: MemoryRequest, _ options: AllocationOptions,
                        _ allocation: Allocation, to recorder: CallRecorder) {
        let (create, userData) = CallRecorder.allocationCreateInfo(request, options)
        var parameters = [String(requirements.size), String(requirements.alignment), String(requirements.memoryTypeBits)]
        let function: String
        switch requirements.kind {
        case .unknown:
            function = "vmaAllocateMemory"
        case .linear, .optimal:
            function = requirements.kind == .linear ? "vmaAllocateMemoryForBuffer" : "vmaAllocateMemoryForImage"
            parameters += [requirements.requiresDedicated ? "1" : "0", requirements.prefersDedicated ? "1" : "0"]
        }
        let handle = CallRecorder.handle(of: allocation)
        recorder.recordCreation(function, parameters + create + [handle, userData], handle: handle)
    }

    /// `vmaCreateBuffer`: flags, size, usage, sharingMode, the allocation create-info,
    /// the handle and the user data.
    func recordCreateBuffer(_ info: VkBufferCreateInfo, _ request: MemoryRequest, _ options: AllocationOptions,
                            _ allocation: Allocation, to recorder: CallRecorder) {
        let (create, userData) = CallRecorder.allocationCreateInfo(request, options)
        let buffer = [info.flags, UInt32(truncatingIfNeeded: info.usage), info.sharingMode.rawValue].map { String($0) }
        let handle = CallRecorder.handle(of: allocation)
        recorder.recordCreation("vmaCreateBuffer", [buffer[0], String(info.size), buffer[1], buffer[2]] + create
                                    + [handle, userData], handle: handle)
    }

    /// `vmaCreateImage`: flags, imageType, format, extent, mipLevels, arrayLayers,
    /// samples, tiling, usage, sharingMode, initialLayout, the allocation create-info,
    /// the handle and the user data.
    func recordCreateImage(_ info: VkImageCreateInfo, _ request: MemoryRequest, _ options: AllocationOptions,
                           _ allocation: Allocation, to recorder: CallRecorder) {
        let (create, userData) = CallRecorder.allocationCreateInfo(request, options)
        let image: [UInt32] = [info.flags, info.imageType.rawValue, info.format.rawValue, info.extent.width,
                               info.extent.height, info.extent.depth, info.mipLevels, info.arrayLayers,
                               info.samples.rawValue, info.tiling.rawValue, info.usage, info.sharingMode.rawValue,
                               info.initialLayout.rawValue]
        let handle = CallRecorder.handle(of: allocation)
        recorder.recordCreation("vmaCreateImage", image.map { String($0) } + create + [handle, userData], handle: handle)
    }
}
