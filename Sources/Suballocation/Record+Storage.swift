#if canImport(Glibc)
import Glibc
#endif
#if os(Linux)
internal import CSuballocation
#endif

extension Record {
    /// Tables from this size up are placed on 2 MiB boundaries and, on Linux, offered
    /// transparent huge pages: with 100,000 live allocations the records span ~5 MB,
    /// and with 4 KiB pages most random record accesses also missed the TLB.
    static let hugePageThreshold = 4 << 20
    static let hugePageSize = 2 << 20
    /// On Linux, tables from this size up are mappings of their own, which grow by
    /// moving their pages (`mremap`) instead of copying them: a table that doubles as
    /// 100,000 allocations fill a block otherwise copied 4 MiB and faulted in a second
    /// copy of every page, about a quarter of W2's allocation time.
    static let mappedThreshold = 64 << 10

    /// Whether a table of `capacity` records is a mapping of its own.
    @inline(__always)
    static func isMapped(capacity: Int) -> Bool {
        #if os(Linux)
        return capacity * MemoryLayout<Record>.stride >= mappedThreshold
        #else
        return false
        #endif
    }

    /// Uninitialised storage for `capacity` records; give it back with
    /// `deallocateTable(_:capacity:)`.
    static func allocateTable(capacity: Int) -> UnsafeMutablePointer<Record> {
        let bytes = capacity * MemoryLayout<Record>.stride
        #if os(Linux)
        if isMapped(capacity: capacity) {
            // Page-aligned, and 2 MiB-aligned from 2 MiB on (the kernel aligns large
            // anonymous mappings for huge pages).
            guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  raw != MAP_FAILED else { fatalError("out of memory for \(capacity) records") }
            adviseHugePages(raw, bytes: bytes)
            return raw.bindMemory(to: Record.self, capacity: capacity)
        }
        #endif
        // Records are 32 bytes: on 64-byte boundaries none straddles two cache lines.
        let alignment = bytes >= hugePageThreshold ? hugePageSize : 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
        return raw.bindMemory(to: Record.self, capacity: capacity)
    }

    /// `table` (of `capacity` records, the first `count` initialised) enlarged to
    /// `newCapacity` records, keeping those `count`; `table` is invalid afterwards.
    /// - Complexity: O(1) page-table work for mapped tables on Linux, else O(`count`).
    static func growTable(_ table: UnsafeMutablePointer<Record>, capacity: Int, to newCapacity: Int,
                          count: Int) -> UnsafeMutablePointer<Record> {
        #if os(Linux)
        let newBytes = newCapacity * MemoryLayout<Record>.stride
        if isMapped(capacity: capacity),
           let raw = csuballocation_remap(table, capacity * MemoryLayout<Record>.stride, newBytes) {
            adviseHugePages(raw, bytes: newBytes)
            return raw.bindMemory(to: Record.self, capacity: newCapacity)
        }
        #endif
        let new = allocateTable(capacity: newCapacity)
        new.moveInitialize(from: table, count: count)
        deallocateTable(table, capacity: capacity)
        return new
    }

    /// Gives back a table made by `allocateTable` or `growTable` for `capacity` records.
    static func deallocateTable(_ table: UnsafeMutablePointer<Record>, capacity: Int) {
        #if os(Linux)
        if isMapped(capacity: capacity) {
            _ = munmap(table, capacity * MemoryLayout<Record>.stride)
            return
        }
        #endif
        table.deallocate()
    }

    #if os(Linux)
    /// Only advice: without huge pages a table works the same, just slower.
    static func adviseHugePages(_ raw: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= hugePageThreshold { _ = madvise(raw, bytes, MADV_HUGEPAGE) }
    }
    #endif
}
