import CVulkan

/// One large `VkBuffer` that a ``BufferArena`` or ``FrameRing`` cuts into slices: an
/// ordinary buffer of the allocator (so budget, statistics, pools and leak reports see
/// it), mapped once when its memory is host-visible.
struct ArenaBuffer: Sendable {
    let bound: BoundBuffer
    /// The whole buffer's view; nil when the memory cannot be mapped.
    let view: MappedMemory?
    /// What slice offsets and sizes are rounded to on top of the usage's alignment:
    /// `nonCoherentAtomSize` on host-visible memory that is not coherent, so that flushing
    /// one slice never touches another's bytes; 1 otherwise.
    let granule: UInt64

    /// Creates, binds and (where host-visible) maps a buffer of `size` bytes through
    /// ``Allocator/createBuffer(_:_:options:fileID:line:)`` (or its pool overload).
    /// - Throws: `.allocation` with the allocator's error; nothing is left behind then.
    init(allocator: Allocator, size: UInt64, usage: BufferUsage, memoryUsage: MemoryUsage, pool: MemoryPool?,
         name: String?) throws(BufferArenaError) {
        let info = BufferDescription(size: size, usage: usage).exclusiveCreateInfo
        let options = AllocationOptions(name: name)
        do throws(AllocationError) {
            let bound = if let pool {
                try allocator.createBuffer(info, in: pool, options: options)
            } else {
                try allocator.createBuffer(info, .usage(memoryUsage), options: options)
            }
            guard allocator.isHostVisible(bound.allocation) else {
                self.init(bound: bound, view: nil, granule: 1)
                return
            }
            let view: MappedMemory
            do throws(AllocationError) {
                view = try allocator.map(bound.allocation)
            } catch {
                allocator.undoBuffer(bound)
                throw error
            }
            let coherent = allocator.properties.types[bound.allocation.memoryTypeIndex].flags.contains(.hostCoherent)
            self.init(bound: bound, view: view,
                      granule: coherent ? 1 : max(allocator.device.rawLimits.nonCoherentAtomSize, 1))
        } catch {
            throw .allocation(error)
        }
    }

    private init(bound: BoundBuffer, view: MappedMemory?, granule: UInt64) {
        self.bound = bound
        self.view = view
        self.granule = granule
    }

    /// A view of `size` bytes at `offset` of the buffer that ends with `lifetime`.
    func view(offset: UInt64, size: UInt64, lifetime: ViewLifetime) throws(BufferArenaError) -> MappedMemory {
        guard let view else { throw .notHostVisible(memoryTypeIndex: bound.allocation.memoryTypeIndex) }
        return MappedMemory(memory: view.memory, lifetime: lifetime, baseAddress: view.baseAddress + Int(offset),
                            offset: view.offset + offset, size: size)
    }

    /// The device address of the byte at `offset` (`vkGetBufferDeviceAddress` plus the offset).
    func deviceAddress(offset: UInt64, allocator: Allocator) throws(BufferArenaError) -> UInt64 {
        do throws(AllocationError) {
            return try allocator.deviceAddress(of: bound) + offset
        } catch {
            throw .allocation(error)
        }
    }
}
