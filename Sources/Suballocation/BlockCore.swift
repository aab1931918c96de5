/// The index that means "no record" in links and chains.
let noRecord: UInt32 = .max

/// What a record slot currently describes.
enum RecordState: UInt8 {
    /// Not in use; chained on the recycled-slot list through `nextFree`.
    case unused
    /// A free range (TLSF only), on the free list of its size class.
    case free
    /// A live allocation.
    case allocated
    /// The untouched end of a TLSF block (VMA's "null block"); always the last range.
    case tail
}

/// One range of a block: a live allocation, or (TLSF) a free range or the tail.
///
/// Kept at 48 bytes or less so that 100,000 live records stay cache-friendly; the
/// link fields mean different things per engine to avoid a second table.
struct Record {
    var offset: UInt64
    var size: UInt64
    var userData: UInt64
    /// TLSF: the range just below. Linear: unused.
    var prevPhysical: UInt32
    /// TLSF: the range just above. Linear: which vector holds the allocation (0 or 1).
    var nextPhysical: UInt32
    /// TLSF free ranges: previous range of the same free list; TLSF allocations: the
    /// `belowIsFree` flag. Linear: position in its vector.
    var prevFree: UInt32
    /// TLSF: next range of the same free list. Unused slots: next recycled slot.
    var nextFree: UInt32
    /// Advanced when the allocation is freed, so stale handles are caught.
    var generation: UInt32
    var state: RecordState
    /// The allocation's kind (low 2 bits) and log2 of its alignment (high 6 bits),
    /// packed so that `padding` fits in 48 bytes.
    var kindAndAlignment: UInt8
    /// TLSF: alignment padding below `offset` kept with the allocation instead of
    /// becoming a free range of its own (see `TLSF.keptPadding`). 0 otherwise.
    var padding: UInt16

    @inline(__always) var end: UInt64 { offset &+ size }

    /// TLSF, live allocations only: whether the range just below is free. Kept in the
    /// free-list link that allocations do not use, so that freeing need not read the
    /// range below (a cache miss in large blocks) to know whether to merge.
    @inline(__always) var belowIsFree: Bool {
        get { prevFree == 1 }
        set { prevFree = newValue ? 1 : 0 }
    }

    /// Where the record's range starts in the block: `offset` less its padding.
    @inline(__always) var start: UInt64 { offset &- UInt64(padding) }

    @inline(__always) var kind: UInt8 {
        get { kindAndAlignment & 3 }
        set { kindAndAlignment = kindAndAlignment & ~3 | newValue }
    }

    @inline(__always) var alignmentLog2: UInt8 { kindAndAlignment >> 2 }
}

extension UnsafeMutablePointer where Pointee == Record {
    /// Record access by the 32-bit indices the engines store.
    @inline(__always)
    subscript(i: UInt32) -> Record {
        unsafeAddress { UnsafePointer(self + Int(i)) }
        nonmutating unsafeMutableAddress { self + Int(i) }
    }
}

/// The mutable state of a ``VirtualBlock``: a flat record table reached through raw
/// pointers (no bounds or uniqueness checks on the hot path) plus the engine's
/// indexes. Owned by a ``CoreBox``; copied only when a block value is shared.
struct Core {
    let blockSize: UInt64
    /// 1 when granularity is off.
    let granularity: UInt64
    let algorithm: VirtualBlock.Algorithm

    var records: UnsafeMutablePointer<Record>
    var capacity: Int
    /// Slots handed out so far (live, free-range or recycled); the table's high-water mark.
    var recordCount: Int
    /// Head of the recycled-slot chain.
    var recycled: UInt32 = noRecord

    var allocationCount = 0
    var allocatedBytes: UInt64 = 0
    /// Names are rare, so they live out of the hot records, keyed by record index.
    var names: [UInt32: String] = [:]

    // TLSF state (see Core+TLSF.swift).
    /// Free-list heads per size class, then the second-level bitmaps.
    var tlsfIndex: UnsafeMutablePointer<UInt32>
    var firstLevelBitmap: UInt64 = 0
    var freeRangeCount = 0
    var tail: UInt32 = noRecord
    var firstPhysical: UInt32 = noRecord

    // Linear state (see Core+Linear.swift).
    var linear = LinearState()

    init(blockSize: UInt64, granularity: UInt64, algorithm: VirtualBlock.Algorithm) {
        self.blockSize = blockSize
        self.granularity = granularity
        self.algorithm = algorithm
        capacity = 64
        records = Record.allocateTable(capacity: capacity)
        recordCount = 0
        tlsfIndex = .allocate(capacity: TLSF.indexWords)
        tlsfIndex.initialize(repeating: noRecord, count: TLSF.classCount)
        (tlsfIndex + TLSF.classCount).initialize(repeating: 0, count: TLSF.firstLevelCount)
        if case .tlsf = algorithm { initTLSF() }
    }

    /// A deep copy, for copy-on-write when a block value is shared.
    func copy() -> Core {
        var c = self
        c.records = Record.allocateTable(capacity: capacity)
        c.records.initialize(from: records, count: recordCount)
        c.tlsfIndex = .allocate(capacity: TLSF.indexWords)
        c.tlsfIndex.initialize(from: tlsfIndex, count: TLSF.indexWords)
        return c
    }

    func deallocate() {
        records.deallocate()
        tlsfIndex.deallocate()
    }

    /// Makes sure the next `n` slot requests need no reallocation, so the engines may
    /// hold on to `records` across an operation.
    @inline(__always)
    mutating func reserveSlots(_ n: Int) {
        if recordCount + n > capacity { grow(minimum: recordCount + n) }
    }

    mutating func grow(minimum: Int) {
        var newCapacity = capacity * 2
        while newCapacity < minimum { newCapacity *= 2 }
        precondition(newCapacity <= Int(noRecord), "a virtual block holds at most 2^32 - 1 records")
        let new = Record.allocateTable(capacity: newCapacity)
        new.moveInitialize(from: records, count: recordCount)
        records.deallocate()
        records = new
        capacity = newCapacity
    }

    /// A slot for a new record; the caller initialises every field but `generation`.
    @inline(__always)
    mutating func takeSlot() -> UInt32 {
        if recycled != noRecord {
            let i = recycled
            recycled = records[i].nextFree
            return i
        }
        if recordCount == capacity { grow(minimum: recordCount + 1) }
        let i = UInt32(recordCount)
        recordCount += 1
        (records + Int(i)).initialize(to: Record(
            offset: 0, size: 0, userData: 0, prevPhysical: noRecord, nextPhysical: noRecord,
            prevFree: noRecord, nextFree: noRecord, generation: 0, state: .unused, kindAndAlignment: 0, padding: 0))
        return i
    }

    @inline(__always)
    mutating func releaseSlot(_ i: UInt32) {
        records[i].state = .unused
        records[i].nextFree = recycled
        recycled = i
    }

    /// The record of a live allocation, or the error that says why the handle is bad.
    @inline(__always)
    func liveIndex(_ h: VirtualAllocationHandle) throws(VirtualBlockError) -> UInt32 {
        guard Int(h.index) < recordCount else { throw .unknownHandle(h) }
        let r = records[h.index]
        guard r.generation == h.generation, r.state == .allocated else { throw .staleHandle(h) }
        return h.index
    }

    /// Marks a live record dead: bookkeeping common to every engine.
    @inline(__always)
    mutating func retire(_ i: UInt32) {
        allocationCount -= 1
        allocatedBytes -= records[i].size
        records[i].generation &+= 1
        if !names.isEmpty { names[i] = nil }
    }

    /// Fills a slot with a new live allocation.
    @inline(__always)
    mutating func makeLive(_ i: UInt32, offset: UInt64, size: UInt64, alignment: UInt64, kind: UInt8, userData: UInt64) {
        records[i].offset = offset
        records[i].size = size
        records[i].userData = userData
        records[i].state = .allocated
        records[i].kindAndAlignment = UInt8(alignment.trailingZeroBitCount) << 2 | kind
        records[i].padding = 0
        allocationCount += 1
        allocatedBytes += size
    }

    /// Every record to unused, live generations advanced: the common part of `reset()`.
    mutating func retireAll() {
        recycled = noRecord
        var i = recordCount
        while i > 0 {
            i -= 1
            let s = UInt32(i)
            if records[s].state == .allocated { records[s].generation &+= 1 }
            releaseSlot(s)
        }
        allocationCount = 0
        allocatedBytes = 0
        names = [:]
    }
}

/// Owns a ``Core`` and frees its memory; the unit of copy-on-write for ``VirtualBlock``.
///
/// `@unchecked Sendable`: the core is only mutated through a block value that holds
/// the sole reference (checked before every mutation), like the standard collections.
final class CoreBox: @unchecked Sendable {
    // Every access goes through a uniquely held box, so dynamic exclusivity checks
    // would only add cost.
    @exclusivity(unchecked) var core: Core

    init(_ core: Core) { self.core = core }

    deinit { core.deallocate() }
}

// MARK: - Arithmetic shared by the engines

@inline(__always)
func isPowerOfTwo(_ x: UInt64) -> Bool { x != 0 && x & (x &- 1) == 0 }

/// `x` rounded up to a multiple of the power of two `a`, or nil when that overflows.
@inline(__always)
func alignUp(_ x: UInt64, _ a: UInt64) -> UInt64? {
    let (sum, overflow) = x.addingReportingOverflow(a &- 1)
    return overflow ? nil : sum & ~(a &- 1)
}

@inline(__always)
func alignDown(_ x: UInt64, _ a: UInt64) -> UInt64 { x & ~(a &- 1) }

extension Core {
    /// Where an allocation fits in the free range `[start, end)`, given the nearest
    /// live allocations below (`below`) and above (`above`) that range, or nil.
    ///
    /// With a granularity, the start moves to the next page when the allocation below
    /// conflicts and shares the start's page; a conflict with the allocation above on
    /// the last page cannot be cured by moving up, so that range does not fit.
    @inline(__always)
    func placeAscending(start: UInt64, end: UInt64, below: UInt32, above: UInt32,
                        size: UInt64, alignment: UInt64, kind: UInt8) -> UInt64? {
        guard var o = alignUp(start, alignment) else { return nil }
        let g = granularity
        if g > 1, below != noRecord {
            let b = records[below]
            if SuballocationKind.conflict(b.kind, kind), alignDown(b.end &- 1, g) == alignDown(o, g) {
                guard let up = alignUp(o, g) else { return nil }
                o = up
            }
        }
        guard o <= end, end - o >= size else { return nil }
        if g > 1, above != noRecord {
            let a = records[above]
            if SuballocationKind.conflict(a.kind, kind), alignDown(o + size - 1, g) == alignDown(a.offset, g) {
                return nil
            }
        }
        return o
    }
}
