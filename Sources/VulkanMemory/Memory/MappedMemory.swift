/// A bounds-checked host view of a mapped range of device memory.
///
/// Typed access works on any `BitwiseCopyable` value, at any byte offset (unaligned access
/// is allowed). On memory that is not `HOST_COHERENT`, `write` flushes and `read`
/// invalidates the bytes it touches; after writing through raw pointers call `flush()`.
/// These are nobs-vkmem's `host_to_device` / `device_to_host`, by their Swift names.
///
/// Thread safety: a view may be used from any thread; concurrent writes to overlapping
/// bytes are the caller's race, as with any memory. A view of a `DeviceMemory` is valid
/// until the matching `unmap()` or `free()`; a view from an `Allocator` until the
/// allocation is freed.
public struct MappedMemory: @unchecked Sendable {
    /// The memory this view belongs to. Not public: for an allocator's view it is a page
    /// shared with other allocations, which a caller must not unmap or free.
    let memory: DeviceMemory
    /// The host address of the view's first byte.
    public let baseAddress: UnsafeMutableRawPointer
    /// Where the view starts within `memory`.
    public let offset: UInt64
    /// The view's length in bytes.
    public let size: UInt64

    init(memory: DeviceMemory, baseAddress: UnsafeMutableRawPointer, offset: UInt64, size: UInt64) {
        self.memory = memory
        self.baseAddress = baseAddress
        self.offset = offset
        self.size = size
    }

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
    public func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: baseAddress, count: Int(size)))
    }

    /// Calls `body` with the view's bytes, read-only. Invalidate first if the memory is not
    /// coherent and the device wrote it.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: baseAddress, count: Int(size)))
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

    private func check(_ byteOffset: UInt64, _ length: UInt64) throws(MemoryError) {
        guard byteOffset <= size, length <= size - byteOffset else {
            throw .rangeOutOfBounds(offset: byteOffset, size: length, limit: size)
        }
    }
}
