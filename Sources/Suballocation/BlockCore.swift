import Synchronization

/// The index that means "no record" in links and chains.
let noRecord: UInt32 = .max

/// What a record slot currently describes.
///
/// The raw values of every state but `.free` fit the two state bits of a ``Tag``;
/// a free range is told by its free-list link instead.
enum RecordState: UInt8 {
    /// Not in use; chained on the recycled-slot list through `nextFree`.
    case unused = 0
    /// A freed TLSF allocation whose merge is deferred (see Core+DeferredFree.swift):
    /// free for every observer, but neither merged with its free neighbours nor on a
    /// free list yet. Its neighbours treat it as they treat a live allocation.
    case deferred = 1
    /// A live allocation.
    case allocated = 2
    /// The untouched end of a TLSF block (VMA's "null block"); always the last range.
    case tail = 3
    /// A free range (TLSF only), on the free list of its size class.
    case free = 4
}

/// One range of a block: a live allocation, or (TLSF) a free range or the tail.
///
/// 32 bytes, on 32-byte boundaries, so that a record never straddles two cache lines
/// and 100,000 live records take 2/3 of the cache and TLB room they took at 48 bytes:
/// with that many allocations, freeing is bound by misses on the neighbours' records.
/// Only what the hot paths read lives here: the user data is a side table
/// (``Core/userDataTable``), the generation of a slot that is not live is not kept
/// (see ``Core/nextGeneration``), and the state, flags, kind, alignment and padding
/// of a record that is not a free range are packed into its `prevFree` link, which
/// only free ranges use (see ``Tag``).
struct Record {
    var offset: UInt64
    var size: UInt64
    /// TLSF: the range just below; for a live allocation whose range below is free,
    /// with `freeNeighbourFlag` set (see `belowIsFree`). Linear: position in its vector.
    var prevPhysical: UInt32
    /// TLSF: the range just above; for a live allocation whose range above is a free
    /// range, with `freeNeighbourFlag` set (see `aboveIsFree`). Linear: which vector holds
    /// the allocation (0 or 1).
    var nextPhysical: UInt32
    /// TLSF free ranges: previous range of the same free list (an index or `noRecord`).
    /// Every other record: its ``Tag``.
    var prevFree: UInt32
    /// TLSF free ranges: next range of the same free list. Unused slots: next recycled
    /// slot. Live allocations: the generation their handle carries.
    var nextFree: UInt32

    @inline(__always) var end: UInt64 { offset &+ size }

    /// Free-list links are indices below 2³¹ or `noRecord`; tags are 0x8000_0000 up to
    /// below 0xC000_0000. One add and compare tells them apart: the wrapping add takes
    /// `noRecord` to 0.
    @inline(__always) var isFree: Bool { prevFree &+ 1 <= Tag.marker }

    /// A live allocation: the tag's marker and state bits together.
    @inline(__always) var isAllocated: Bool { prevFree >> Tag.stateShift == Tag.allocatedTop }

    @inline(__always) var state: RecordState {
        if isFree { return .free }
        // The tag stores the state's raw value (never `.free`'s) in bits 28-29.
        return RecordState(rawValue: UInt8(truncatingIfNeeded: prevFree >> Tag.stateShift) & 3)!
    }

    /// The generation of a live allocation (the one its handle carries).
    @inline(__always) var generation: UInt32 { nextFree }

    /// Set in a live TLSF allocation's `prevPhysical` when the range below is free, and
    /// in its `nextPhysical` when the range above is a free range.
    static let freeNeighbourFlag: UInt32 = 1 << 31

    /// TLSF, live allocations only: whether the range just below is free. Kept with the
    /// allocation so that freeing need not read the range below (a cache miss in large
    /// blocks) to know whether to merge. Kept in `prevPhysical` rather than the tag so
    /// that whoever relinks the range below sets it with a plain store: a read-modify-
    /// write of the tag was a load miss when free merged with the range above.
    /// Indices stay below 2³¹ - 1, so a flagged index is never `noRecord`, and the
    /// wrapping add takes `noRecord` (no range below) to 0.
    @inline(__always) var belowIsFree: Bool { prevPhysical &+ 1 > Record.freeNeighbourFlag }

    /// The range just below, without the `freeNeighbourFlag` of live TLSF allocations.
    @inline(__always) var below: UInt32 { belowIsFree ? prevPhysical & ~Record.freeNeighbourFlag : prevPhysical }

    /// TLSF, live allocations only: whether the range just above is a free range (the
    /// tail is told by its index). Kept for the same reason as `belowIsFree`: freeing
    /// an allocation whose neighbour above is live then only stores to that neighbour
    /// (its back link) instead of first waiting for a load that, with 100,000 live
    /// allocations, mostly misses the cache.
    @inline(__always) var aboveIsFree: Bool { nextPhysical &+ 1 > Record.freeNeighbourFlag }

    /// The range just above, without the flag of live TLSF allocations.
    @inline(__always) var above: UInt32 { aboveIsFree ? nextPhysical & ~Record.freeNeighbourFlag : nextPhysical }

    /// Live allocations only: whether user data other than 0 was set, so that the user
    /// data table is not touched by allocations made without any.
    @inline(__always) var hasUserData: Bool {
        get { prevFree & Tag.hasUserData != 0 }
        set { prevFree = newValue ? prevFree | Tag.hasUserData : prevFree & ~Tag.hasUserData }
    }

    /// TLSF: alignment padding below `offset` kept with the allocation instead of
    /// becoming a free range of its own (see `TLSF.keptPadding`). 0 for other records.
    @inline(__always) var padding: UInt16 {
        isFree ? 0 : UInt16(truncatingIfNeeded: prevFree >> Tag.paddingShift)
    }

    /// Where the record's range starts in the block: `offset` less its padding.
    @inline(__always) var start: UInt64 { offset &- UInt64(padding) }

    /// The allocation's kind; live allocations only.
    @inline(__always) var kind: UInt8 { UInt8(truncatingIfNeeded: prevFree >> Tag.kindShift) & 3 }

    /// log2 of the allocation's alignment; live allocations only.
    @inline(__always) var alignmentLog2: UInt8 { UInt8(truncatingIfNeeded: prevFree >> Tag.alignmentShift) & 63 }
}

/// The layout of a record's `prevFree` when the record is not a free range.
///
/// Bit 31 is set and bit 30 clear, so a tag is never a free-list link (an index below
/// 2³¹, see ``Core/grow(minimum:)``) nor `noRecord`.
enum Tag {
    static let marker: UInt32 = 1 << 31
    /// Bits 28-29: the `RecordState` raw value (unused, deferred, allocated or tail).
    static let stateShift: UInt32 = 28
    static let stateMask: UInt32 = 3 << stateShift
    /// `prevFree >> stateShift` of a live allocation: the marker and `.allocated`.
    static let allocatedTop: UInt32 = (marker >> stateShift) | UInt32(RecordState.allocated.rawValue)
    static let hasUserData: UInt32 = 1 << 1
    /// Bits 2-3: the kind.
    static let kindShift: UInt32 = 2
    /// Bits 4-9: log2 of the alignment.
    static let alignmentShift: UInt32 = 4
    /// Bits 10-25: the kept padding.
    static let paddingShift: UInt32 = 10

    /// A tag of `state` with every other field 0.
    @inline(__always)
    static func of(_ state: RecordState) -> UInt32 {
        assert(state != .free, "a free range is told by its free-list link, not a tag")
        return marker | UInt32(state.rawValue) << stateShift
    }
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
@usableFromInline
struct Core {
    let blockSize: UInt64
    /// 1 when granularity is off.
    let granularity: UInt64
    let algorithm: VirtualBlock.Algorithm

    var table: RecordTable
    @inline(__always) var records: UnsafeMutablePointer<Record> { table.records }
    /// Per slot, the user data of a live allocation whose record has `hasUserData`;
    /// other entries are never read, and stay uninitialised. Made with the first user
    /// data: blocks without any never touch its pages (a fifth of the memory that
    /// 100,000 allocations use), and it does not sit above the record table, whose
    /// `realloc` can then grow in place (see `RecordTable`).
    var userDataTable: UnsafeMutablePointer<UInt64>?
    var capacity: Int
    /// Slots handed out so far (live, free-range or recycled); the table's high-water mark.
    var recordCount: Int
    /// Head of the recycled-slot chain.
    var recycled: UInt32 = noRecord
    /// The generation of the next allocation. One counter for the block rather than one
    /// per slot: a per-slot counter is one more random access per allocation
    /// (measured +5-9 ns with 100,000 live allocations), and a slot's generations still
    /// never repeat before 2^32 allocations.
    ///
    /// Each block starts at its own point of a Weyl sequence (`Core.firstGeneration()`),
    /// so that a handle of another block, whose index is often valid here too, carries a
    /// generation this block has not handed out: it is refused as unknown instead of
    /// freeing one of this block's allocations. Blocks made one after another start about
    /// 2^32 / n apart among n blocks; only a block that has handed out that many
    /// allocations could take another's handle for one of its own.
    var nextGeneration: UInt32 = Core.firstGeneration()

    @usableFromInline var allocationCount = 0
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
    /// From how many records (`recordCount`) on frees are deferred; see
    /// `Core.defaultDeferralThreshold`. Tests lower it.
    var deferralThreshold = Core.defaultDeferralThreshold
    /// The freed allocations whose merge is deferred, oldest first (see
    /// Core+DeferredFree.swift); `noRecord` where none.
    var olderDeferred: UInt32 = noRecord
    var newerDeferred: UInt32 = noRecord
    /// Where the loads that bring a deferred range's neighbours into the cache leave
    /// their result, so that the compiler keeps them; never read.
    var warmedBytes: UInt64 = 0

    // Linear state (see Core+Linear.swift).
    var linear = LinearState()

    /// Blocks made so far in this process: the position in the generations' sequence.
    private static let blocksMade = Atomic<UInt32>(0)

    /// The first generation of a new block: the block's serial times the golden ratio's
    /// 32-bit fraction (odd, so all 2^32 starts come before one repeats).
    static func firstGeneration() -> UInt32 {
        blocksMade.wrappingAdd(1, ordering: .relaxed).oldValue &* 0x9E37_79B9
    }

    init(blockSize: UInt64, granularity: UInt64, algorithm: VirtualBlock.Algorithm) {
        self.blockSize = blockSize
        self.granularity = granularity
        self.algorithm = algorithm
        capacity = 64
        table = RecordTable(capacity: capacity)
        recordCount = 0
        tlsfIndex = .allocate(capacity: TLSF.indexWords)
        tlsfIndex.initialize(repeating: noRecord, count: TLSF.classCount)
        (tlsfIndex + TLSF.classCount).initialize(repeating: 0, count: TLSF.firstLevelCount)
        if case .tlsf = algorithm { initTLSF() }
    }

    /// A deep copy, for copy-on-write when a block value is shared.
    func copy() -> Core {
        var c = self
        c.table = RecordTable(capacity: capacity)
        c.records.initialize(from: records, count: recordCount)
        if let userDataTable {
            c.userDataTable = .allocate(capacity: capacity)
            c.userDataTable!.initialize(from: userDataTable, count: recordCount)
        }
        c.tlsfIndex = .allocate(capacity: TLSF.indexWords)
        c.tlsfIndex.initialize(from: tlsfIndex, count: TLSF.indexWords)
        return c
    }

    func deallocate() {
        table.deallocate()
        userDataTable?.deallocate()
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
        // Indices must stay below 2^31 - 1 to be told apart from tags (see `Tag`) and,
        // flagged, from `noRecord` (see `Record.belowIsFree`).
        precondition(newCapacity <= (1 << 31) - 1, "a virtual block holds at most 2^31 - 1 records")
        table.grow(to: newCapacity, keeping: recordCount)
        if let userDataTable {
            let newUserData = UnsafeMutablePointer<UInt64>.allocate(capacity: newCapacity)
            newUserData.moveInitialize(from: userDataTable, count: recordCount)
            userDataTable.deallocate()
            self.userDataTable = newUserData
        }
        capacity = newCapacity
    }

    /// A slot for a new record; the caller initialises every field.
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
            offset: 0, size: 0, prevPhysical: noRecord, nextPhysical: noRecord,
            prevFree: Tag.of(.unused), nextFree: noRecord))
        return i
    }

    @inline(__always)
    mutating func releaseSlot(_ i: UInt32) {
        records[i].prevFree = Tag.of(.unused)
        records[i].nextFree = recycled
        recycled = i
    }

    /// The record of a live allocation, or the error that says why the handle is bad.
    @inline(__always)
    func liveIndex(_ h: VirtualAllocationHandle) throws(VirtualBlockError) -> UInt32 {
        guard Int(h.index) < recordCount else { throw .unknownHandle(h) }
        let r = records[h.index]
        guard r.generation == h.generation, r.isAllocated else { throw .staleHandle(h) }
        return h.index
    }

    /// The user data of live allocation `i`.
    @inline(__always)
    func userData(of i: UInt32) -> UInt64 { records[i].hasUserData ? userDataTable.unsafelyUnwrapped[Int(i)] : 0 }

    /// The user data table, made on first use.
    @inline(__always)
    mutating func userDataSlots() -> UnsafeMutablePointer<UInt64> {
        if let userDataTable { return userDataTable }
        let made = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        userDataTable = made
        return made
    }

    /// Replaces the user data of live allocation `i`.
    @inline(__always)
    mutating func setUserData(_ value: UInt64, of i: UInt32) {
        if value != 0 || userDataTable != nil { userDataSlots()[Int(i)] = value }
        records[i].hasUserData = value != 0
    }

    /// Marks a live record dead: bookkeeping common to every engine. The generation is
    /// left alone: the record stops being live, and the slot's next allocation gets a
    /// new one.
    @inline(__always)
    mutating func retire(_ i: UInt32) {
        allocationCount -= 1
        allocatedBytes -= records[i].size
        if !names.isEmpty { names[i] = nil }
    }

    /// Fills a slot with a new live allocation under the next generation; the
    /// caller sets the links (and with them, TLSF, `belowIsFree`).
    @inline(__always)
    mutating func makeLive(_ i: UInt32, offset: UInt64, size: UInt64, alignment: UInt64, kind: UInt8,
                           userData: UInt64, padding: UInt64 = 0) {
        records[i].offset = offset
        records[i].size = size
        var tag = Tag.of(.allocated) | UInt32(alignment.trailingZeroBitCount) << Tag.alignmentShift
            | UInt32(kind) << Tag.kindShift | UInt32(truncatingIfNeeded: padding) << Tag.paddingShift
        if userData != 0 {
            tag |= Tag.hasUserData
            userDataSlots()[Int(i)] = userData
        }
        records[i].prevFree = tag
        records[i].nextFree = nextGeneration
        nextGeneration &+= 1
        allocationCount += 1
        allocatedBytes += size
    }

    /// Every record to unused: the common part of `reset()`. Old handles are stale
    /// from here on, as every later allocation gets a new generation.
    mutating func retireAll() {
        recycled = noRecord
        var i = recordCount
        while i > 0 {
            i -= 1
            releaseSlot(UInt32(i))
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
@usableFromInline
final class CoreBox: @unchecked Sendable {
    // Every access goes through a uniquely held box, so dynamic exclusivity checks
    // would only add cost.
    @usableFromInline @exclusivity(unchecked) var core: Core

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
        // The range below ends at or before `start` and the range above starts at or
        // after `end`, so a neighbour can only share a granularity page with the
        // allocation when `start - 1` (`end`) does; only then is its record read, a load
        // that most placements with an alignment of the granularity or more skip.
        if g > 1, below != noRecord, alignDown(start &- 1, g) == alignDown(o, g) {
            let b = records[below]
            if SuballocationKind.conflict(b.kind, kind), alignDown(b.end &- 1, g) == alignDown(o, g) {
                guard let up = alignUp(o, g) else { return nil }
                o = up
            }
        }
        guard o <= end, end - o >= size else { return nil }
        if g > 1, above != noRecord, alignDown(end, g) == alignDown(o + size - 1, g) {
            let a = records[above]
            if SuballocationKind.conflict(a.kind, kind), alignDown(o + size - 1, g) == alignDown(a.offset, g) {
                return nil
            }
        }
        return o
    }
}
