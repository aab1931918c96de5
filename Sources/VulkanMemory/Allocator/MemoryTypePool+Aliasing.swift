import CVulkan

/// One resource aliasing an allocation (`Allocator.createAliasingBuffer`,
/// `createAliasingImage`): kept beside the allocation's record, so a free can refuse while
/// it lives and statistics can show what aliases what.
struct AliasRecord: Hashable, CustomStringConvertible {
    /// The `VkBuffer` or `VkImage` handle's bits.
    let resource: UInt64
    let isImage: Bool
    /// Where the resource starts, in bytes from the allocation's start.
    let offset: UInt64
    /// The resource's memory requirement in bytes.
    let size: UInt64

    var description: String { "\(isImage ? "image" : "buffer") 0x\(String(resource, radix: 16)) at +\(offset), \(size) bytes" }
}

extension MemoryTypePool {
    /// Records a resource aliasing the live allocation `handle` of page `slot` at
    /// page-relative `offset`, after checking that it is live there and placed for a
    /// resource of `kind` (or of unknown kind): one check and one change under the
    /// pool's lock.
    /// - Throws: `.alreadyFreed`, `.unknownAllocation`, or `.requirementsNotMet` with `.kind`.
    /// - Complexity: O(aliases of the allocation).
    func addAlias(_ alias: AliasRecord, to handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32,
                  memory: VkDeviceMemory, offset: UInt64, kind: SuballocationKind,
                  description: String) throws(AllocationError) {
        try state.withLock { (state: inout State) throws(AllocationError) in
            _ = try liveRange(handle, slot: slot, generation: generation, memory: memory, offset: offset, state: state)
            let placedKind = (try? state.arena.kind(of: handle)) ?? .unknown
            guard placedKind == kind || placedKind == .unknown else {
                throw .requirementsNotMet(allocation: description, reason: .kind(placed: placedKind, needed: kind))
            }
            if state.aliases[handle.index] == nil { state.aliasedCount += 1 }
            state.aliases[handle.index, default: []].append(alias)
        }
    }

    /// Throws `.aliasesLive` when the live allocation `handle` has aliases (after checking
    /// it is live, so a stale handle whose index was reused is told apart).
    @inline(never)
    func refuseIfAliased(_ handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32, memory: VkDeviceMemory,
                         offset: UInt64, state: State) throws(AllocationError) {
        _ = try liveRange(handle, slot: slot, generation: generation, memory: memory, offset: offset, state: state)
        if let aliases = state.aliases[handle.index] { throw .aliasesLive(count: aliases.count) }
    }

    /// How many resources alias allocation `handle` at `offset` (0 for one that is not
    /// live here: its record index may name a newer allocation, which has its own aliases).
    func aliasCount(of handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32,
                    memory: VkDeviceMemory, offset: UInt64) -> Int {
        state.withLock { state in
            guard (try? liveRange(handle, slot: slot, generation: generation, memory: memory, offset: offset,
                                  state: state)) != nil else { return 0 }
            return state.aliases[handle.index]?.count ?? 0
        }
    }

    /// Forgets a resource aliasing the live allocation `handle`; false when it was not
    /// recorded there (destroyed before, or never made for this allocation).
    /// - Complexity: O(aliases of the allocation).
    @discardableResult
    func removeAlias(resource: UInt64, from handle: VirtualAllocationHandle, slot: UInt32, generation: UInt32,
                     memory: VkDeviceMemory) -> Bool {
        state.withLock { state in
            guard pageError(slot: slot, generation: generation, memory: memory, state: state) == nil,
                  var list = state.aliases[handle.index],
                  let index = list.firstIndex(where: { $0.resource == resource }) else { return false }
            list.remove(at: index)
            state.aliases[handle.index] = list.isEmpty ? nil : list
            if list.isEmpty { state.aliasedCount -= 1 }
            return true
        }
    }
}
