/// A bounds-checked host view of a mapped range of device memory.
///
/// Typed access works on any `BitwiseCopyable` value, at any byte offset (unaligned access
/// is allowed). On memory that is not `HOST_COHERENT`, `write` flushes and `read`
/// invalidates the bytes it touches; after writing through raw pointers call `flush()`.
/// These are nobs-vkmem's `host_to_device` / `device_to_host`, by their Swift names.
///
/// ## Lifetime
/// A view of a `DeviceMemory` lasts while the memory stays mapped: until the `unmap()`
/// that ends the mapping (the last one, as maps are counted) or `free()`. A view from
/// ``Allocator/map(_:)-(Allocation)`` lasts until the allocation is freed, moved by a defragmentation
/// pass, or its allocator is deinitialized. After that every method throws
/// ``MemoryError/viewEnded`` (one atomic load per call): a stale view never writes into
/// memory that another allocation has taken, nor into memory the driver has unmapped.
///
/// ``baseAddress`` and the pointers `withUnsafeMutableBytes` lends are raw: they carry no
/// such check, and must not be used past the view's lifetime (``isValid`` tells).
///
/// Thread safety: a view may be used from any thread; concurrent writes to overlapping
/// bytes are the caller's race, as with any memory, and so is freeing the memory while
/// another thread uses a view of it.
public struct MappedMemory: @unchecked Sendable {
    /// The memory this view belongs to. Not public: for an allocator's view it is a page
    /// shared with other allocations, which a caller must not unmap or free.
    let memory: DeviceMemory
    /// Ends when the memory is unmapped or freed, or the allocation freed.
    let lifetime: ViewLifetime
    /// The host address of the view's first byte: a raw pointer, valid only while
    /// ``isValid`` is true.
    public let baseAddress: UnsafeMutableRawPointer
    /// Where the view starts within `memory`.
    public let offset: UInt64
    /// The view's length in bytes.
    public let size: UInt64

    init(memory: DeviceMemory, lifetime: ViewLifetime, baseAddress: UnsafeMutableRawPointer,
         offset: UInt64, size: UInt64) {
        self.memory = memory
        self.lifetime = lifetime
        self.baseAddress = baseAddress
        self.offset = offset
        self.size = size
    }

    /// Whether the view may still be used: false once its memory was unmapped or freed,
    /// or its allocation freed or moved.
    public var isValid: Bool { !lifetime.isEnded }

    /// Whether reads and writes need invalidate and flush.
    public var needsSynchronization: Bool { !memory.flags.contains(.hostCoherent) }

    /// Writes one value at `byteOffset` and flushes it on non-coherent memory.
    ///
    /// - Throws: `MemoryError.rangeOutOfBounds` when the value does not fit in the view.
    public func write<T: BitwiseCopyable>(_ value: T, at byteOffset: UInt64 = 0) throws(MemoryError) {
        let length = UInt64(MemoryLayout<T>.size)
        try check(byteOffset, length)
        baseAddress.storeBytes(of: value, toByteOffset: Int(byteOffset), as: T.self)
        if needsSynchronization { try memory.flush(offset: offset + byteOffset, size: length) }
    }

    /// Writes the elements of an array back to back from `byteOffset`, with their stride,
    /// and flushes them on non-coherent memory.
    ///
    /// - Throws: `MemoryError.rangeOutOfBounds` when they do not all fit in the view.
    public func write<T: BitwiseCopyable>(contentsOf values: [T], at byteOffset: UInt64 = 0) throws(MemoryError) {
        let length = UInt64(MemoryLayout<T>.stride * values.count)
        guard length > 0 else { return }
        try check(byteOffset, length)
        values.withUnsafeBytes { bytes in
            (baseAddress + Int(byteOffset)).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        }
        if needsSynchronization { try memory.flush(offset: offset + byteOffset, size: length) }
    }

    /// Reads one value at `byteOffset`, invalidating it first on non-coherent memory.
    ///
    /// - Throws: `MemoryError.rangeOutOfBounds` when the value does not fit in the view.
    public func read<T: BitwiseCopyable>(_ type: T.Type, at byteOffset: UInt64 = 0) throws(MemoryError) -> T {
        let length = UInt64(MemoryLayout<T>.size)
        try check(byteOffset, length)
        if needsSynchronization { try memory.invalidate(offset: offset + byteOffset, size: length) }
        return baseAddress.loadUnaligned(fromByteOffset: Int(byteOffset), as: T.self)
    }

    /// Reads `count` values laid out with their stride from `byteOffset`.
    ///
    /// - Throws: `MemoryError.rangeOutOfBounds` when they do not all fit in the view.
    public func read<T: BitwiseCopyable>(_ type: T.Type, count: Int, at byteOffset: UInt64 = 0) throws(MemoryError) -> [T] {
        guard count > 0 else { return [] }
        let (length, overflow) = UInt64(MemoryLayout<T>.stride).multipliedReportingOverflow(by: UInt64(count))
        guard !overflow else { throw .rangeOutOfBounds(offset: byteOffset, size: .max, limit: size) }
        try check(byteOffset, length)
        if needsSynchronization { try memory.invalidate(offset: offset + byteOffset, size: length) }
        return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            UnsafeMutableRawBufferPointer(buffer).copyMemory(
                from: UnsafeRawBufferPointer(start: baseAddress + Int(byteOffset), count: Int(length)))
            initialized = count
        }
    }

    /// Calls `body` with the view's bytes. Flush afterwards if the memory is not coherent.
    ///
    /// The buffer must not escape `body`.
    /// - Throws: ``MemoryError/viewEnded`` (before `body` runs) when the view outlived its
    ///   memory; whatever `body` throws.
    public func withUnsafeMutableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws(MemoryError) -> R
    ) throws(MemoryError) -> R {
        guard !lifetime.isEnded else { throw .viewEnded }
        return try body(UnsafeMutableRawBufferPointer(start: baseAddress, count: Int(size)))
    }

    /// Calls `body` with the view's bytes, read-only. Invalidate first if the memory is not
    /// coherent and the device wrote it.
    ///
    /// The buffer must not escape `body`.
    /// - Throws: ``MemoryError/viewEnded`` (before `body` runs) when the view outlived its
    ///   memory; whatever `body` throws.
    public func withUnsafeBytes<R>(
        _ body: (UnsafeRawBufferPointer) throws(MemoryError) -> R
    ) throws(MemoryError) -> R {
        guard !lifetime.isEnded else { throw .viewEnded }
        return try body(UnsafeRawBufferPointer(start: baseAddress, count: Int(size)))
    }

    /// Flushes a range of the view (all of it by default); see `DeviceMemory.flush`.
    public func flush(at byteOffset: UInt64 = 0, size: UInt64? = nil) throws(MemoryError) {
        let length = size ?? (self.size >= byteOffset ? self.size - byteOffset : 0)
        try check(byteOffset, length)
        try memory.flush(offset: offset + byteOffset, size: length)
    }

    /// Invalidates a range of the view (all of it by default); see `DeviceMemory.invalidate`.
    public func invalidate(at byteOffset: UInt64 = 0, size: UInt64? = nil) throws(MemoryError) {
        let length = size ?? (self.size >= byteOffset ? self.size - byteOffset : 0)
        try check(byteOffset, length)
        try memory.invalidate(offset: offset + byteOffset, size: length)
    }

    @inline(__always)
    private func check(_ byteOffset: UInt64, _ length: UInt64) throws(MemoryError) {
        guard !lifetime.isEnded else { throw .viewEnded }
        guard byteOffset <= size, length <= size - byteOffset else {
            throw .rangeOutOfBounds(offset: byteOffset, size: length, limit: size)
        }
    }
}
