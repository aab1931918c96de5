/// Many allocations in one call, all or nothing (VMA's `vmaAllocateMemoryPages`): each
/// goes down the one request pipeline (`PlacementRequest`, `place`) as a single
/// `allocate` would; when one fails, those made before it are freed and the pages made
/// for them released, so the allocator is exactly as before and the error names the one
/// that failed (`.manyFailed`).
///
/// Observers see each allocation only once all were made.
extension Allocator {
    /// Allocates memory for each of `requirements`, all with one request and options, or
    /// none of them; `free(_:)` frees each.
    ///
    /// Useful for many small uniform or staging ranges made at once (VMA's
    /// `vmaAllocateMemoryPages`); for buffers and images to create and bind together,
    /// see `ResourceBatch`.
    /// - Parameters:
    ///   - requirements: what each allocation needs, in order.
    ///   - request: the intent and/or flags the memory type is chosen by, for all of them.
    ///   - allocationOptions: the options of every allocation (each gets the same name).
    ///   - fileID: where the call is, for leak reports; leave it to its default.
    ///   - line: the call's line, for leak reports; leave it to its default.
    /// - Returns: the allocations, in the order of `requirements`.
    /// - Throws: `.manyFailed(index:count:error:)` with the first allocation that failed
    ///   and why; none of the allocations exists then, and no page made for them.
    /// - Complexity: O(n) placements for n requirements, each as `allocate(_:_:options:)`.
    public func allocate(
        many requirements: [MemoryRequirements], _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> [Allocation] {
        let made = try allocateAll(requirements.count) { (index) throws(AllocationError) -> Allocation in
            let placement = try PlacementRequest(requirements[index], allocationOptions, fileID: fileID, line: line)
            return try place(placement, request, name: allocationOptions.name)
        }
        for (allocation, needs) in zip(made, requirements) {
            reportAllocated(allocation, needs, request: request, options: allocationOptions, pool: nil,
                            resource: nil, fileID: fileID, line: line)
        }
        return made
    }

    /// Allocates `count` allocations of the same requirements, or none of them (VMA's
    /// `vmaAllocateMemoryPages` with one `VkMemoryRequirements`).
    /// - Parameters:
    ///   - requirements: what each allocation needs.
    ///   - count: how many to make; 0 makes none.
    ///   - request: the intent and/or flags the memory type is chosen by.
    ///   - allocationOptions: the options of every allocation.
    ///   - fileID: where the call is, for leak reports; leave it to its default.
    ///   - line: the call's line, for leak reports; leave it to its default.
    /// - Throws: `.invalidCount` for a negative count, or one over 65,536 that is larger
    ///   than all the device's heaps together could hold at this size; otherwise as
    ///   `allocate(many:_:options:fileID:line:)` (a count the heaps cannot hold is
    ///   `.manyFailed` with the first allocation that found no room).
    /// - Complexity: O(count) placements.
    public func allocate(
        _ requirements: MemoryRequirements, count: Int, _ request: MemoryRequest,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> [Allocation] {
        // A count no device could hold is refused before anything is made, rather than
        // spent on a table of that many results; counts that fit the usual table (as
        // `allocateAll` reserves it) meet the heaps' limits one allocation at a time, with
        // the error a single allocation gets.
        guard count >= 0 else { throw .invalidCount(count) }
        if count > Self.manyReservedCount {
            let heapBytes = properties.heaps.reduce(UInt64(0)) { total, heap in
                let (sum, overflow) = total.addingReportingOverflow(heap.size)
                return overflow ? .max : sum
            }
            guard UInt64(count) <= heapBytes / max(requirements.size, 1) else { throw .invalidCount(count) }
        }
        let made = try allocateAll(count) { (_) throws(AllocationError) -> Allocation in
            let placement = try PlacementRequest(requirements, allocationOptions, fileID: fileID, line: line)
            return try place(placement, request, name: allocationOptions.name)
        }
        for allocation in made {
            reportAllocated(allocation, requirements, request: request, options: allocationOptions, pool: nil,
                            resource: nil, fileID: fileID, line: line)
        }
        return made
    }

    /// Allocates in a custom pool for each of `requirements`, or none of them.
    /// - Parameters:
    ///   - requirements: what each allocation needs, in order.
    ///   - pool: the pool whose pages hold them.
    ///   - allocationOptions: the options of every allocation.
    ///   - fileID: where the call is, for leak reports; leave it to its default.
    ///   - line: the call's line, for leak reports; leave it to its default.
    /// - Throws: `.manyFailed(index:count:error:)` as `allocate(many:_:options:fileID:line:)`; a pool that
    ///   is not this allocator's is `.unknownAllocation`.
    /// - Complexity: O(n) placements.
    public func allocate(
        many requirements: [MemoryRequirements], in pool: MemoryPool,
        options allocationOptions: AllocationOptions = AllocationOptions(),
        fileID: StaticString = #fileID, line: UInt = #line
    ) throws(AllocationError) -> [Allocation] {
        let pages = try poolPages(pool)
        let made = try allocateAll(requirements.count) { (index) throws(AllocationError) -> Allocation in
            let placement = try PlacementRequest(requirements[index], allocationOptions, fileID: fileID, line: line)
            return try place(placement, inPool: pages, name: allocationOptions.name)
        }
        for (allocation, needs) in zip(made, requirements) {
            reportAllocated(allocation, needs, request: nil, options: allocationOptions, pool: pool.name,
                            resource: nil, fileID: fileID, line: line)
        }
        return made
    }

    /// Runs `make` for 0..<count; when one throws, frees what the others made (keeping no
    /// empty page they started) and throws `.manyFailed` naming it.
    /// The most results `allocateAll` reserves room for at once.
    static let manyReservedCount = 1 << 16

    private func allocateAll(_ count: Int,
                             _ make: (Int) throws(AllocationError) -> Allocation) throws(AllocationError) -> [Allocation] {
        var made: [Allocation] = []
        // Room for the usual counts at once; a larger one grows as it goes.
        made.reserveCapacity(min(count, Self.manyReservedCount))
        for index in 0..<count {
            do throws(AllocationError) {
                made.append(try make(index))
            } catch {
                // Every page kept while freeing, then the ones these allocations started
                // released: a page an earlier one started may hold a later one.
                for allocation in made.reversed() { try? free(allocation, keepEmpty: .max) }
                for allocation in made { undoPlacement(of: allocation) }
                throw .manyFailed(index: index, count: count, error: error)
            }
        }
        return made
    }
}
