/// A live slice of a ``BufferArena`` inside its arena buffer's allocation, in a
/// ``Statistics`` made by ``Allocator/statistics(showingSlicesOf:)``.
public struct SliceStatistics: Codable, Sendable, Equatable {
    /// The name given at ``BufferArena/allocate(size:alignment:name:)``.
    public let name: String?
    /// Where the slice starts, in bytes from the allocation's start (the arena buffer's
    /// first byte).
    public let offset: UInt64
    /// Bytes the slice takes in its buffer.
    public let size: UInt64

    /// A slice's figures.
    public init(name: String?, offset: UInt64, size: UInt64) {
        self.name = name
        self.offset = offset
        self.size = size
    }
}

/// Names an allocation in a page: its memory and its offset there.
struct AllocationPlace: Hashable {
    let memory: UInt
    let offset: UInt64
}

extension BufferArena {
    /// The live slices of every arena buffer, by the place of the buffer's allocation.
    /// Only buffers in shared pages are listed: the memory map draws slices inside page rows.
    /// - Complexity: O(live slices).
    func slicesByPlace() -> [AllocationPlace: [SliceStatistics]] {
        state.withLock { state in
            var places: [AllocationPlace: [SliceStatistics]] = [:]
            for case let block? in state.blocks where !block.buffer.bound.allocation.isDedicated {
                let allocation = block.buffer.bound.allocation
                places[AllocationPlace(memory: UInt(bitPattern: allocation.memory), offset: allocation.offset)] =
                    block.ranges.allocations.filter { !block.recycled.contains($0.handle) }.map { range in
                        SliceStatistics(name: (try? block.ranges.name(of: range.handle)) ?? nil,
                                        offset: range.offset, size: range.size)
                    }
            }
            return places
        }
    }
}
