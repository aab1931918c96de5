import CVulkan

/// The recorder is an observer like any other: it turns the events of the allocator it
/// records into the lines of VMA 2.x's call recording, in VMA's parameter order for each
/// function (what `VMARecording` reads back).
extension CallRecorder: AllocationObserver {
    /// Writes the line an event stands for, if it is of the allocator this recorder
    /// records (the first that began with it) and VMA recorded such a call: allocations in
    /// custom pools, resources bound to held allocations and defragmentation moves have no
    /// VMA 2.x line and are left out. A name or user data changed is
    /// `vmaSetAllocationUserData`.
    public func observe(_ event: AllocationEvent, from allocator: UInt64) {
        if case let .began(device, properties) = event {
            _ = begin(allocator: allocator, device: device, properties: properties)
            return
        }
        guard records(allocator) else { return }
        switch event {
        case .allocated(let allocated) where allocated.pool == nil:
            recordAllocated(allocated)
        case .freed(let freed):
            let handle = CallRecorder.handle(of: freed.allocation)
            switch freed.cause {
            case .free: recordRelease("vmaFreeMemory", handle: handle)
            case .destroyBuffer: recordRelease("vmaDestroyBuffer", handle: handle)
            case .destroyImage: recordRelease("vmaDestroyImage", handle: handle)
            case .defragmentation: recordReleaseAsCreated(handle: handle)
            }
        case .mapped(let allocation):
            recordUse("vmaMapMemory", handle: CallRecorder.handle(of: allocation))
        case .labelChanged(let label):
            // VMA 2.x records a new name (a copied string) and new user data alike.
            recordUse("vmaSetAllocationUserData", handle: CallRecorder.handle(of: label.allocation),
                      [CallRecorder.userDataField(name: label.name, userData: label.userData)])
        case .ended:
            record("vmaDestroyAllocator")
        case .allocated, .began, .moved, .deviceMemoryAllocated, .deviceMemoryFreed, .refused:
            break
        }
    }

    /// `vmaAllocateMemory` (`…ForBuffer` for linear requirements, `…ForImage` for optimal
    /// ones: size, alignment, memoryTypeBits, [requires, prefers dedicated,]), or
    /// `vmaCreateBuffer` (flags, size, usage, sharingMode) / `vmaCreateImage` (the image's
    /// create-info fields); then the allocation create-info, the handle and the user data.
    private func recordAllocated(_ event: AllocatedEvent) {
        guard let request = event.request else { return }
        let (create, userData) = CallRecorder.allocationCreateInfo(request, event.options)
        let handle = CallRecorder.handle(of: event.allocation)
        switch event.resource {
        case let .buffer(flags, size, usage, sharingMode)?:
            recordCreation("vmaCreateBuffer", [String(flags), String(size), String(usage), String(sharingMode)] + create
                               + [handle, userData], handle: handle)
        case let .image(image)?:
            recordCreation("vmaCreateImage", image.fields.map { String($0) } + create + [handle, userData], handle: handle)
        case nil:
            let requirements = event.requirements
            var parameters = [String(requirements.size), String(requirements.alignment),
                              String(requirements.memoryTypeBits)]
            let function: String
            switch requirements.kind {
            case .unknown:
                function = "vmaAllocateMemory"
            case .linear, .optimal:
                function = requirements.kind == .linear ? "vmaAllocateMemoryForBuffer" : "vmaAllocateMemoryForImage"
                parameters += [requirements.requiresDedicated ? "1" : "0", requirements.prefersDedicated ? "1" : "0"]
            }
            recordCreation(function, parameters + create + [handle, userData], handle: handle)
        }
    }
}
