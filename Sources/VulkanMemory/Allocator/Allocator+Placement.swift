/// One request for memory, however it came in: `allocate`, `allocate(_:in:)`,
/// `createBuffer`/`createImage` for an intent or a pool, each resource of a batch, and
/// replay all build one and send it down the same path (`Allocator.place`):
///
///     request (validated here, once) → candidate types, ranked → placement: dedicated |
///     shared page | group range | private page, the same fallback for all → bind
///
/// Building one validates the requirements and options, so no path below checks them again
/// and no two paths can disagree on what is valid.
struct PlacementRequest {
    let requirements: MemoryRequirements
    /// The requirements' alignment or `options.minAlignment`, whichever is larger: at
    /// least 1 and a power of two.
    let alignment: UInt64
    /// The options' packed small fields (`AllocationOptions.Flags`), kept packed: the
    /// name travels beside the request, borrowed, since copying a string into it cost
    /// reference counting on every allocation (W3), and unpacking each field into a
    /// stored property of its own cost W3 about 80 instructions a pair. `dedicated` is
    /// `.always` here for options that only dedicated memory carries.
    let flags: AllocationOptions.Flags
    var dedicated: AllocationOptions.DedicatedPolicy { flags.dedicated }
    var mapped: Bool { flags[AllocationOptions.Flags.mapped] }
    var priority: Float? { flags.priority }
    var strategy: AllocationStrategy { flags.strategy }
    /// `AllocationOptions.upperAddress`: only a linear pool of one page takes it.
    var upperAddress: Bool { flags[AllocationOptions.Flags.upperAddress] }
    /// The resource the memory will be bound to, for a dedicated allocation's
    /// `VkMemoryDedicatedAllocateInfo`; `options.dedicatedTarget` when none is given.
    let target: DeviceMemory.DedicatedTarget?
    /// `options.neverAllocate`: existing pages only.
    var neverAllocate: Bool { flags[AllocationOptions.Flags.neverAllocate] }
    /// `options.withinBudget`: the budget check for this allocation's new memory.
    var withinBudget: Bool { flags[AllocationOptions.Flags.withinBudget] }
    /// `options.hostAccess` and `allowTransferInstead`, which rank the candidate types.
    var hostAccess: HostAccess { flags.hostAccess }
    var allowTransferInstead: Bool { flags[AllocationOptions.Flags.allowTransferInstead] }
    /// `options.exportHandleTypes` and `memoryAllocateNext`: for dedicated memory only,
    /// so a request with either is dedicated (`needsDedicatedMemory`).
    let exportHandleTypes: ExternalMemoryHandleTypes
    let next: DeviceMemory.NextChain?
    /// What leak reports and statistics say of the allocation; `isBound` and `resource`
    /// when a resource is bound to it as part of the same call.
    var record: AllocationRecord

    /// Validates a request.
    /// - Throws: `.zeroSize`, `.alignmentNotPowerOfTwo` (of the requirements or of
    ///   `minAlignment`), `.sizeOverflow`, `.invalidPriority` for a priority outside 0…1
    ///   (whether or not the allocation turns out dedicated: the same request must not be
    ///   valid on one path and invalid on another), or `.needsDedicatedMemory` for an
    ///   export or a caller's chain where dedicated memory is ruled out.
    /// Why a name cannot be taken, or nil when it can.
    ///
    /// Names are otherwise kept as given (text forms escape control characters, see
    /// `escapingControlCharacters`). A leading U+FEFF is refused because YAML readers take
    /// it for a byte-order mark and drop it (Yams does), so the name could not come back
    /// from `Statistics.yaml()` as it went in.
    static func unacceptable(_ name: String) -> String? {
        name.unicodeScalars.first == "\u{FEFF}"
            ? "it begins with U+FEFF, which YAML readers drop as a byte-order mark; remove it" : nil
    }

    @inline(__always)
    init(_ requirements: MemoryRequirements, _ options: AllocationOptions,
         target: DeviceMemory.DedicatedTarget? = nil, resource: BoundResource? = nil,
         fileID: StaticString, line: UInt) throws(AllocationError) {
        guard requirements.size > 0 else { throw .zeroSize }
        // The options' storage read once: the packed flags, and the rare fields' box,
        // which is nil for most requests.
        let flags = options.flags
        let rare = options.rare
        let minimum = rare?.minAlignment ?? flags.minAlignment
        guard minimum != 0, minimum & (minimum - 1) == 0 else { throw .alignmentNotPowerOfTwo(minimum) }
        let alignment = max(requirements.alignment, 1, minimum)
        guard alignment & (alignment - 1) == 0 else { throw .alignmentNotPowerOfTwo(alignment) }
        guard requirements.size <= UInt64.max - alignment else {
            throw .sizeOverflow(size: requirements.size, alignment: alignment)
        }
        let priority = flags.priority
        if let priority, !(priority >= 0 && priority <= 1) { throw .invalidPriority(priority) }
        if let name = options.name, let reason = Self.unacceptable(name) { throw .invalidName(name, reason: reason) }
        let neverAllocate = flags[AllocationOptions.Flags.neverAllocate]
        let policy = flags.dedicated
        var dedicatedOnly = false
        if let rare {
            exportHandleTypes = rare.exportHandleTypes
            next = rare.memoryAllocateNext
            dedicatedOnly = !rare.exportHandleTypes.isEmpty || rare.memoryAllocateNext != nil
            if dedicatedOnly, policy == .never || neverAllocate {
                throw .needsDedicatedMemory(option: rare.exportHandleTypes.isEmpty ? "memoryAllocateNext" : "exportHandleTypes",
                                            reason: neverAllocate ? "neverAllocate is set" : "dedicated is .never")
            }
        } else {
            exportHandleTypes = []
            next = nil
        }
        self.requirements = requirements
        self.alignment = alignment
        // Options that only dedicated memory carries make the allocation dedicated.
        var kept = flags
        if dedicatedOnly { kept.dedicated = .always }
        self.flags = kept
        // Memory for aliasing resources is dedicated to none of them (CAN_ALIAS_BIT).
        self.target = flags[AllocationOptions.Flags.canAlias] ? nil : target ?? rare?.dedicatedTarget
        record = AllocationRecord(fileID: fileID, line: UInt32(truncatingIfNeeded: line), userData: options.userData)
        record.isBound = resource != nil
        record.resource = resource
    }
}

extension Allocator {
    /// Places a request in the best memory type that takes it: the candidates `request`
    /// ranks, filtered by the resource's and the request's type bits, tried in order while
    /// a heap is full (`.outOfMemory`, `.tooManyAllocations`).
    /// - Complexity: O(candidate types) placements at worst, each O(1) (see `place(_:in:)`).
    func place(_ placement: PlacementRequest, _ request: MemoryRequest,
               name: String?) throws(AllocationError) -> Allocation {
        let bits = placement.requirements.memoryTypeBits & request.memoryTypeBits
        // A plain intent reads its cached ranking in place, with no array to retain; any
        // other request ranks the types for itself, out of line.
        guard request.required.isEmpty && request.preferred.isEmpty && request.notPreferred.isEmpty
                && placement.hostAccess == .none, let ordinal = request.usage?.ordinal else {
            let ranked = selection.rankedTypes(for: request, hostAccess: placement.hostAccess,
                                               allowTransferInstead: placement.allowTransferInstead)
            return try place(placement, request, name: name, bits: bits, candidates: ranked, from: 0, firstError: nil)
        }
        for position in rankedByUsage[ordinal].indices {
            let typeIndex = rankedByUsage[ordinal][position]
            guard bits & (1 << UInt32(typeIndex)) != 0 else { continue }
            do throws(AllocationError) {
                return try place(placement, inType: typeIndex, name: name)
            } catch {
                // A full heap: the other candidates, with no error kept on this path.
                guard error.mayFallBack else { throw error }
                return try place(placement, request, name: name, bits: bits, candidates: rankedByUsage[ordinal],
                                 from: position + 1, firstError: error)
            }
        }
        throw noSuitableType(placement, request, bits: bits)
    }

    /// The candidate loop of `place(_:_:name:)` from `candidates[start]` on, keeping the
    /// first fallback error to throw when no later type takes the request.
    @inline(never)
    private func place(_ placement: PlacementRequest, _ request: MemoryRequest, name: String?, bits: UInt32,
                       candidates: [Int], from start: Int, firstError: AllocationError?) throws(AllocationError) -> Allocation {
        var firstError = firstError
        for typeIndex in candidates[start...] {
            guard bits & (1 << UInt32(typeIndex)) != 0 else { continue }
            do throws(AllocationError) {
                return try place(placement, inType: typeIndex, name: name)
            } catch {
                guard error.mayFallBack else { throw error }
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? noSuitableType(placement, request, bits: bits)
    }

    /// Why no memory type took a request: none its flags and `bits` allow.
    @inline(never)
    private func noSuitableType(_ placement: PlacementRequest, _ request: MemoryRequest, bits: UInt32) -> AllocationError {
        .noSuitableMemoryType(required: selection.flags(for: request, hostAccess: placement.hostAccess,
                                                        allowTransferInstead: placement.allowTransferInstead).required,
                              memoryTypeBits: bits, usage: request.usage)
    }

    /// Places a request in one memory type: its own pool, or, while threads contend for
    /// the type's lock, the calling thread's lane of it; a lane that cannot take the
    /// request (its heap full for a new page) leaves it to the type's first pool.
    @inline(__always)
    private func place(_ placement: PlacementRequest, inType typeIndex: Int,
                       name: String?) throws(AllocationError) -> Allocation {
        try withPool(typeIndex) { (pool) throws(AllocationError) in
            if lanes.spreads(type: typeIndex, contentions: { pool.state.contentionCount }),
               case let number = ThreadNumber.current % LaneTable.lanesPerType, number != 0 {
                do throws(AllocationError) {
                    return try lanes.withLane(ofType: typeIndex, number: number) { (lane) throws(AllocationError) in
                        try place(placement, in: lane, name: name)
                    }
                } catch where error.mayFallBack {}
            }
            return try place(placement, in: pool, name: name)
        }
    }

    /// Places a request in one memory type's pages (the allocator's own or a custom
    /// pool's), or in dedicated memory of that type when the policy says so (in a custom
    /// pool only when required or asked for: see `useDedicated`).
    ///
    /// `options.mapped` on a type that is not host-visible is ignored, as VMA does: the
    /// allocation gets no `mappedPointer` there, and an intent is never moved to another
    /// memory type (system RAM, say, on a discrete GPU) only so that it can be mapped.
    /// - Complexity: O(1): one TLSF search of the type's arena; a new page or dedicated
    ///   memory adds one `vkAllocateMemory`.
    ///
    /// Inlined into the candidate loop, as the per-type step was before the pipeline
    /// existed: out of line it cost W3 about 50 instructions a pair (callgrind).
    @inline(__always)
    func place(_ placement: PlacementRequest, in pool: MemoryTypePool,
               name: String?) throws(AllocationError) -> Allocation {
        let requirements = placement.requirements
        // Every later sum (atom rounding, page sizes, heap accounting) stays far from
        // overflow once the size is no larger than the heap. The rarer cases (dedicated
        // memory, an upper address, a custom pool's fixed pages, any refusal) go out of
        // line, so their messages are not built into this path.
        guard requirements.size <= pool.heapSize, placement.alignment <= pool.heapSize, !placement.upperAddress,
              !useDedicated(requirements, pool: pool, policy: placement.dedicated),
              !requirements.requiresDedicated, pool.fixedPageSize == nil else {
            return try placeUnusual(placement, in: pool, name: name)
        }
        return try pool.allocate(size: requirements.size, alignment: placement.alignment, kind: requirements.kind,
                                 strategy: placement.strategy, mapped: placement.mapped,
                                 name: name, record: placement.record, upperAddress: false,
                                 growth: PageGrowth(placement))
    }

    /// `place(_:in:name:)` for a request that is too large, asks for an upper address,
    /// goes to dedicated memory, or meets a custom pool's fixed page size.
    @inline(never)
    private func placeUnusual(_ placement: PlacementRequest, in pool: MemoryTypePool,
                              name: String?) throws(AllocationError) -> Allocation {
        let requirements = placement.requirements
        guard requirements.size <= pool.heapSize, placement.alignment <= pool.heapSize else {
            throw .outOfMemory(size: requirements.size, typeIndex: pool.typeIndex, heapIndex: pool.heapIndex,
                               available: pool.heapSize, reason: "the request is larger than heap \(pool.heapIndex)")
        }
        if placement.upperAddress, !(pool.isLinear && pool.maxPages == 1) {
            throw .upperAddressUnavailable(pool: pool.poolName)
        }
        if useDedicated(requirements, pool: pool, policy: placement.dedicated) {
            // New memory is what `neverAllocate` rules out; a wish for dedicated memory by
            // size or the driver's preference falls back to the existing pages instead.
            if placement.neverAllocate, requirements.requiresDedicated || placement.dedicated == .always {
                throw .outOfMemory(size: requirements.size, typeIndex: pool.typeIndex, heapIndex: pool.heapIndex,
                                   available: 0, reason: "neverAllocate forbids the dedicated memory "
                                       + (requirements.requiresDedicated ? "the driver requires" : "that was asked for"))
            }
            if !placement.neverAllocate { return try allocateDedicated(placement, pool: pool, name: name) }
        }
        if requirements.requiresDedicated {
            throw .requirementsNotMet(allocation: pool.poolName.map { "pool '\($0)'" } ?? "memory type \(pool.typeIndex)",
                                      reason: .requiresDedicatedMemory)
        }
        // A custom pool's pages are all of one size.
        if let limit = pool.fixedPageSize, requirements.size > limit || placement.alignment > limit {
            throw .outOfMemory(size: requirements.size, typeIndex: pool.typeIndex, heapIndex: pool.heapIndex,
                               available: limit, reason: "pool '\(pool.poolName ?? "")' has pages of \(limit) bytes")
        }
        return try pool.allocate(size: requirements.size, alignment: placement.alignment, kind: requirements.kind,
                                 strategy: placement.strategy, mapped: placement.mapped,
                                 name: name, record: placement.record, upperAddress: placement.upperAddress,
                                 growth: PageGrowth(placement))
    }

    /// Dedicated when required, asked for, preferred by the driver, or larger than half a
    /// page; a preference (not a requirement) is ignored once the device holds 3/4 of
    /// `maxMemoryAllocationCount` objects.
    @inline(__always)
    private func useDedicated(_ requirements: MemoryRequirements, pool: MemoryTypePool,
                              policy: AllocationOptions.DedicatedPolicy) -> Bool {
        if requirements.requiresDedicated { return true }
        // A custom pool's pages have a size the user chose (VMA makes no automatic
        // dedicated allocation in a pool with an explicit block size): only when asked.
        if pool.isCustom { return policy == .always }
        switch policy {
        case .always: return true
        case .never: return false
        case .automatic:
            guard requirements.prefersDedicated || requirements.size > pool.preferredPageSize / 2 else {
                return false
            }
            let limit = UInt64(properties.limits.maxMemoryAllocationCount)
            return UInt64(device.accounting.snapshot.totalAllocations) * 4 < limit * 3
        }
    }

    /// The memory types a group of resources may share, best first: those the first
    /// member's request ranks that every member's requirements and request accept.
    /// - Complexity: O(types × members).
    func sharedCandidates(_ requirements: [MemoryRequirements], _ requests: [MemoryRequest]) -> [Int] {
        guard let first = requests.first else { return [] }
        let rankings = requests.map { rankedTypes(for: $0) }
        let bits = zip(requirements, requests).reduce(UInt32.max) { $0 & $1.0.memoryTypeBits & $1.1.memoryTypeBits }
        return rankedTypes(for: first).filter { type in
            bits & (1 << UInt32(type)) != 0 && rankings.allSatisfy { $0.contains(type) }
        }
    }

    /// Places a group of resources together in the first of `candidates` that takes the
    /// whole group, with the same fallback as a single request: one range of a shared page
    /// (`.sharedRange`) or a page of the group's own (`.privatePage`).
    /// - Returns: the members' allocations, in the order of `requirements`.
    /// - Complexity: O(members) per candidate type tried, plus one placement each.
    func placeGroup(_ requirements: [MemoryRequirements], candidates: [Int], as placement: GroupPlacement,
                    names: [String?], record: AllocationRecord) throws(AllocationError) -> [Allocation] {
        var firstError: AllocationError?
        for typeIndex in candidates {
            let pool = pools[typeIndex]
            let layout = GroupLayout(requirements, granularity: pool.granularity, atom: pool.atom)
            do throws(AllocationError) {
                guard layout.size <= pool.heapSize else {
                    throw .groupTooLarge(size: layout.size, typeIndex: pool.typeIndex, maximum: pool.heapSize)
                }
                if placement == .privatePage {
                    return try pool.allocatePrivatePage(layout: layout, members: requirements, options: AllocationOptions(),
                                                        records: Array(repeating: record, count: requirements.count),
                                                        names: names)
                }
                var pinned = record
                pinned.isPinned = true
                let base = try pool.allocate(size: layout.size, alignment: layout.alignment, kind: layout.kind,
                                             strategy: .bestFit, mapped: false,
                                             name: GroupEntry.rangeName(names), record: pinned)
                return registerGroup(base: base, members: layout.offsets.indices.map {
                    (layout.offsets[$0], layout.sizes[$0], requirements[$0].kind)
                }, names: names)
            } catch {
                guard error.mayFallBack || { if case .groupTooLarge = error { true } else { false } }() else {
                    throw error
                }
                if firstError == nil { firstError = error }
            }
        }
        throw firstError ?? .noSuitableMemoryType(required: [], memoryTypeBits: requirements.reduce(UInt32.max) {
            $0 & $1.memoryTypeBits
        }, usage: nil)
    }
}

/// Whether a placement may add a page, and under which budget rule: the two per-allocation
/// options the page pools see (`neverAllocate`, `withinBudget`).
struct PageGrowth {
    /// Whether a new page may be made when no existing one has room.
    var allowed = true
    /// Whether a new page must fit the heap's budget even when the allocator does not
    /// respect budgets as a whole.
    var withinBudget = false

    /// The growth a request allows.
    @inline(__always)
    init(_ placement: PlacementRequest) {
        allowed = !placement.neverAllocate
        withinBudget = placement.withinBudget
    }

    /// Growth without per-allocation limits.
    init() {}
}

/// How a group of resources is placed together: one range of a shared page (what
/// `BindStrategy.contiguous` asks for), or a page of the group's own (`.privatePage`).
enum GroupPlacement {
    case sharedRange
    case privatePage
}

extension AllocationError {
    /// Whether the next candidate memory type may succeed where this failure happened: a
    /// full heap (cap, budget or the driver), the device's object count, or a type that
    /// needs a device feature that is not enabled.
    var mayFallBack: Bool {
        switch self {
        case .outOfMemory, .tooManyAllocations, .memory(.featureNotEnabled): true
        default: false
        }
    }
}
