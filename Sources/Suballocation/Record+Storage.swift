#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The storage of a record table: the `malloc` block (`base`) and the records in it,
/// from the block's first 64-byte boundary.
///
/// Tables grow by `realloc`, which extends a block in place when the memory above it
/// is free (or, for large blocks on Linux, moves its pages) instead of copying every
/// record into fresh memory whose pages must all be faulted in: with tables that
/// doubled into new allocations, filling a block with 100,000 allocations copied
/// 4 MiB of records, a quarter of W2's allocation time.
struct RecordTable {
    var base: UnsafeMutableRawPointer
    var records: UnsafeMutablePointer<Record>

    /// Tables from this size up are offered transparent huge pages on Linux: with
    /// 100,000 live allocations the records span ~5 MB, and with 4 KiB pages most
    /// random record accesses also missed the TLB.
    static let hugePageThreshold = 4 << 20
    /// Records are 32 bytes: on 64-byte boundaries none straddles two cache lines.
    static let alignment = 64
    /// `malloc` aligns to at least 16 bytes, so this much slack always holds a boundary.
    static let slack = alignment - 16

    /// Uninitialised storage for `capacity` records.
    init(capacity: Int) {
        guard let base = malloc(Self.byteCount(capacity)) else { fatalError("out of memory for \(capacity) records") }
        self.base = base
        records = Self.aligned(base, capacity: capacity)
        Self.adviseHugePages(records, capacity: capacity)
    }

    /// Enlarges the table to `capacity` records, keeping the first `count`; pointers
    /// into the old table are invalid afterwards.
    /// - Complexity: O(1) when `realloc` grows the block in place or moves its pages,
    ///   else O(`count`).
    mutating func grow(to capacity: Int, keeping count: Int) {
        let shift = UnsafeMutableRawPointer(records) - base
        guard let new = realloc(base, Self.byteCount(capacity)) else { fatalError("out of memory for \(capacity) records") }
        base = new
        records = Self.aligned(new, capacity: capacity)
        // A block that moved may sit differently against the 64-byte boundaries.
        let moved = new + shift
        if moved != UnsafeMutableRawPointer(records) {
            UnsafeMutableRawPointer(records).copyMemory(from: moved, byteCount: count * MemoryLayout<Record>.stride)
        }
        Self.adviseHugePages(records, capacity: capacity)
    }

    func deallocate() { free(base) }

    static func byteCount(_ capacity: Int) -> Int { capacity * MemoryLayout<Record>.stride + slack }

    static func aligned(_ base: UnsafeMutableRawPointer, capacity: Int) -> UnsafeMutablePointer<Record> {
        let address = (Int(bitPattern: base) + alignment - 1) & ~(alignment - 1)
        return UnsafeMutableRawPointer(bitPattern: address)!.bindMemory(to: Record.self, capacity: capacity)
    }

    /// Only advice: without huge pages a table works the same, just slower.
    static func adviseHugePages(_ records: UnsafeMutablePointer<Record>, capacity: Int) {
        #if os(Linux)
        let bytes = capacity * MemoryLayout<Record>.stride
        guard bytes >= hugePageThreshold else { return }
        // madvise takes whole pages; the kernel uses huge pages for the 2 MiB-aligned
        // stretches inside.
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: records) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: records) + bytes) & ~(page - 1)
        if end > start { _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_HUGEPAGE) }
        #endif
    }
}
