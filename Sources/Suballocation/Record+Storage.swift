#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage of a record table: the `malloc` block (`base`) and the records in it,
/// from the block's first 64-byte boundary.
///
/// Tables up to `hugePageThreshold` grow by `realloc`, which extends a block in place
/// when the memory above it is free (or reuses freed memory) instead of copying every
/// record into fresh memory whose pages must be faulted in: with tables that doubled
/// into new allocations, filling a block with 100,000 allocations copied 4 MiB of
/// records, a quarter of W2's allocation time. Larger tables are copied into fresh
/// memory on 2 MiB boundaries, advised before the copy faults it in, so that all of
/// it gets huge pages: pages that `realloc` kept or moved stay 4 KiB pages (measured:
/// W5's steps 8% slower).
struct RecordTable {
    var base: UnsafeMutableRawPointer
    var records: UnsafeMutablePointer<Record>

    /// Tables above this size are on 2 MiB boundaries and offered transparent huge
    /// pages on Linux: with 100,000 live allocations (and their free ranges) the
    /// records span ~5 MB, and with 4 KiB pages most random record accesses also
    /// missed the TLB. Up to 4 MiB (1,024 pages of 4 KiB) the second-level TLB of
    /// common cores (1,536-2,048 entries) still covers the table.
    static let hugePageThreshold = 4 << 20
    static let hugePageSize = 2 << 20
    /// Records are 32 bytes: on 64-byte boundaries none straddles two cache lines.
    static let alignment = 64
    /// `malloc` aligns to at least 16 bytes, so this much slack always holds a boundary.
    static let slack = alignment - 16

    /// Uninitialised storage for `capacity` records.
    init(capacity: Int) {
        var base: UnsafeMutableRawPointer?
        if Self.isHuge(capacity) {
            _ = posix_memalign(&base, Self.hugePageSize, Self.byteCount(capacity))
        } else {
            base = malloc(Self.byteCount(capacity))
        }
        guard let base else { fatalError("out of memory for \(capacity) records") }
        self.base = base
        records = Self.aligned(base, capacity: capacity)
        Self.adviseHugePages(records, capacity: capacity)
    }

    /// Enlarges the table to `capacity` records, keeping the first `count`; pointers
    /// into the old table are invalid afterwards.
    /// - Complexity: O(1) when `realloc` grows the block in place or moves its pages,
    ///   else (and always past `hugePageThreshold`) O(`count`).
    mutating func grow(to capacity: Int, keeping count: Int) {
        if Self.isHuge(capacity) {
            let new = RecordTable(capacity: capacity)
            new.records.moveInitialize(from: records, count: count)
            deallocate()
            self = new
            return
        }
        let shift = UnsafeMutableRawPointer(records) - base
        guard let new = realloc(base, Self.byteCount(capacity)) else { fatalError("out of memory for \(capacity) records") }
        base = new
        records = Self.aligned(new, capacity: capacity)
        // A block that moved may sit differently against the 64-byte boundaries.
        let moved = new + shift
        if moved != UnsafeMutableRawPointer(records) {
            UnsafeMutableRawPointer(records).copyMemory(from: moved, byteCount: count * MemoryLayout<Record>.stride)
        }
    }

    func deallocate() { free(base) }

    @inline(__always)
    static func isHuge(_ capacity: Int) -> Bool { capacity * MemoryLayout<Record>.stride > hugePageThreshold }

    static func byteCount(_ capacity: Int) -> Int { capacity * MemoryLayout<Record>.stride + slack }

    static func aligned(_ base: UnsafeMutableRawPointer, capacity: Int) -> UnsafeMutablePointer<Record> {
        let address = (Int(bitPattern: base) + alignment - 1) & ~(alignment - 1)
        return UnsafeMutableRawPointer(bitPattern: address)!.bindMemory(to: Record.self, capacity: capacity)
    }

    /// Only advice: without huge pages a table works the same, just slower.
    static func adviseHugePages(_ records: UnsafeMutablePointer<Record>, capacity: Int) {
        #if os(Linux)
        guard isHuge(capacity) else { return }
        _ = madvise(records, capacity * MemoryLayout<Record>.stride, MADV_HUGEPAGE)
        #endif
    }
}
