#if canImport(Glibc)
import Glibc
#endif

extension Record {
    /// Tables from this size up are placed on 2 MiB boundaries and, on Linux, offered
    /// transparent huge pages: with 100,000 live allocations the records span ~5 MB,
    /// and with 4 KiB pages most random record accesses also missed the TLB.
    static let hugePageThreshold = 4 << 20
    static let hugePageSize = 2 << 20

    /// Uninitialised storage for `capacity` records.
    static func allocateTable(capacity: Int) -> UnsafeMutablePointer<Record> {
        let bytes = capacity * MemoryLayout<Record>.stride
        // Records are 32 bytes: on 64-byte boundaries none straddles two cache lines.
        let alignment = bytes >= hugePageThreshold ? hugePageSize : 64
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: alignment)
        guard bytes >= hugePageThreshold else { return raw.bindMemory(to: Record.self, capacity: capacity) }
        #if os(Linux)
        // Only advice: without huge pages the table works the same, just slower.
        _ = madvise(raw, bytes, MADV_HUGEPAGE)
        #endif
        return raw.bindMemory(to: Record.self, capacity: capacity)
    }
}
