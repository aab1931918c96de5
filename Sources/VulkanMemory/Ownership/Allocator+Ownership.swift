import CVulkan

/// The owned forms' factories: the same calls as the plain ones, with the result wrapped
/// in a non-copyable owner that frees or destroys it at the end of its scope.
extension Allocator {
    /// `allocate(_:_:options:)` (VMA's `vmaAllocateMemory`), owned: the memory is freed
    /// when the result goes out of scope.
    /// - Throws: as `allocate(_:_:options:)`.
    public func allocateOwned(
        _ requirements: MemoryRequirements, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> OwnedAllocation {
        OwnedAllocation(try allocate(requirements, request, options: allocationOptions, fileID: fileID, line: line),
                        of: self)
    }

    /// `createBuffer(_:_:options:)` (VMA's `vmaCreateBuffer`), owned: the buffer is
    /// destroyed and its memory freed when the result goes out of scope.
    /// - Throws: as `createBuffer(_:_:options:)`.
    public func createOwnedBuffer(
        _ createInfo: VkBufferCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> OwnedBuffer {
        OwnedBuffer(try createBuffer(createInfo, request, options: allocationOptions, fileID: fileID, line: line),
                    of: self)
    }

    /// `createImage(_:_:options:)` (VMA's `vmaCreateImage`), owned: the image is destroyed
    /// and its memory freed when the result goes out of scope.
    /// - Throws: as `createImage(_:_:options:)`.
    public func createOwnedImage(
        _ createInfo: VkImageCreateInfo, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> OwnedImage {
        OwnedImage(try createImage(createInfo, request, options: allocationOptions, fileID: fileID, line: line),
                   of: self)
    }

    /// Takes over a live allocation of this allocator: the owner frees it at the end of
    /// its scope. Free it no other way after this (a copy freed elsewhere makes the
    /// owner's free fail, which `deinit` logs).
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` for an allocation not live here.
    public func own(_ allocation: Allocation) throws(AllocationError) -> OwnedAllocation {
        if let error = liveness(allocation) { throw error }
        return OwnedAllocation(allocation, of: self)
    }

    /// Takes over a live buffer of this allocator, as `own(_: Allocation)`: the owner
    /// destroys it at the end of its scope.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` when its memory is not live here.
    public func own(_ buffer: BoundBuffer) throws(AllocationError) -> OwnedBuffer {
        if let error = liveness(buffer.allocation) { throw error }
        return OwnedBuffer(buffer, of: self)
    }

    /// Takes over a live image of this allocator, as `own(_: Allocation)`: the owner
    /// destroys it at the end of its scope.
    /// - Throws: `.alreadyFreed` / `.unknownAllocation` when its memory is not live here.
    public func own(_ image: BoundImage) throws(AllocationError) -> OwnedImage {
        if let error = liveness(image.allocation) { throw error }
        return OwnedImage(image, of: self)
    }
}
