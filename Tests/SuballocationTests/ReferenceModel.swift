import Suballocation
import Testing

/// What the engine should hold, kept the plain way: occupied ranges sorted by offset.
struct ReferenceModel {
    struct Entry {
        var offset: UInt64
        var size: UInt64
        var kind: SuballocationKind
        var handle: VirtualAllocationHandle
        /// Allocation order, for FIFO/LIFO frees and linear order checks.
        var sequence: Int
        var upper: Bool

        var end: UInt64 { offset + size }
    }

    let blockSize: UInt64
    let granularity: UInt64
    private(set) var byOffset: [Entry] = []
    private(set) var allocatedBytes: UInt64 = 0

    init(blockSize: UInt64, granularity: UInt64) {
        self.blockSize = blockSize
        self.granularity = granularity
    }

    var count: Int { byOffset.count }

    private func insertionIndex(_ offset: UInt64) -> Int {
        var low = 0
        var high = byOffset.count
        while low < high {
            let mid = (low + high) / 2
            if byOffset[mid].offset < offset { low = mid + 1 } else { high = mid }
        }
        return low
    }

    static func conflict(_ a: SuballocationKind, _ b: SuballocationKind) -> Bool {
        a != b || a == .unknown
    }

    private func samePage(_ a: UInt64, _ b: UInt64) -> Bool { a / granularity == b / granularity }

    /// Records an allocation the engine returned, checking that it is a legal place.
    mutating func add(_ e: Entry, alignment: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(e.offset % alignment == 0, "offset \(e.offset) not aligned to \(alignment)", sourceLocation: sourceLocation)
        #expect(e.offset <= blockSize && blockSize - e.offset >= e.size, "\(e.offset)+\(e.size) leaves the block",
                sourceLocation: sourceLocation)
        let i = insertionIndex(e.offset)
        if i > 0 {
            let p = byOffset[i - 1]
            #expect(p.end <= e.offset, "[\(e.offset), +\(e.size)) overlaps [\(p.offset), +\(p.size))", sourceLocation: sourceLocation)
            if granularity > 1 && Self.conflict(p.kind, e.kind) {
                #expect(!samePage(p.end - 1, e.offset), "granularity page shared with the allocation below",
                        sourceLocation: sourceLocation)
            }
        }
        if i < byOffset.count {
            let n = byOffset[i]
            #expect(e.end <= n.offset, "[\(e.offset), +\(e.size)) overlaps [\(n.offset), +\(n.size))", sourceLocation: sourceLocation)
            if granularity > 1 && Self.conflict(n.kind, e.kind) {
                #expect(!samePage(e.end - 1, n.offset), "granularity page shared with the allocation above",
                        sourceLocation: sourceLocation)
            }
        }
        byOffset.insert(e, at: i)
        allocatedBytes += e.size
    }

    mutating func remove(_ handle: VirtualAllocationHandle) -> Entry? {
        guard let i = byOffset.firstIndex(where: { $0.handle == handle }) else { return nil }
        allocatedBytes -= byOffset[i].size
        return byOffset.remove(at: i)
    }

    mutating func removeAll() {
        byOffset.removeAll()
        allocatedBytes = 0
    }

    /// The gaps between allocations, the block's ends included.
    var gaps: [(offset: UInt64, size: UInt64)] {
        var result: [(UInt64, UInt64)] = []
        var cursor: UInt64 = 0
        for e in byOffset {
            if e.offset > cursor { result.append((cursor, e.offset - cursor)) }
            cursor = e.end
        }
        if blockSize > cursor { result.append((cursor, blockSize - cursor)) }
        return result
    }

    /// A free range this large holds the request wherever alignment and granularity
    /// push it: the engine must not fail while one exists.
    func worstCaseNeed(size: UInt64, alignment: UInt64) -> UInt64 {
        size + max(alignment, granularity) - 1 + (granularity - 1)
    }

    /// TLSF keeps alignment padding below this with the allocation above it.
    static let keptPadding: UInt64 = 256

    /// Whether the engine must succeed: for TLSF whenever some gap is `need` bytes
    /// plus the padding the allocation above it may keep; for linear blocks when the
    /// block is empty, or when allocations were made in address order (no wrap, no
    /// upper stack) and the room above the last one is `need` bytes.
    func mustFit(size: UInt64, alignment: UInt64, linear: Bool, upper: Bool) -> Bool {
        let need = worstCaseNeed(size: size, alignment: alignment)
        if byOffset.isEmpty { return blockSize >= need }
        if !linear { return gaps.contains { $0.size >= need + Self.keptPadding - 1 } }
        if upper { return false }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.sequence > b.sequence || a.upper || b.upper {
            return false
        }
        if byOffset[byOffset.count - 1].upper { return false }
        return blockSize - byOffset[byOffset.count - 1].end >= need
    }

    /// Checks the engine's free ranges against the gaps: a linear block lists exactly
    /// the gaps; a TLSF block lists each gap less the padding (under `keptPadding`) that
    /// the allocation above it keeps, so a gap holds at most one range, starting at
    /// the gap, and a gap at the end of the block is listed whole.
    func checkFreeRanges(_ ranges: [(offset: UInt64, size: UInt64)], tlsf: Bool,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        guard tlsf else {
            #expect(ranges.map { [$0.offset, $0.size] } == gaps.map { [$0.offset, $0.size] },
                    sourceLocation: sourceLocation)
            return
        }
        var next = 0
        for gap in gaps {
            let gapEnd = gap.offset + gap.size
            var kept = gap.size
            if next < ranges.count, ranges[next].offset == gap.offset {
                #expect(ranges[next].size <= gap.size, "free range larger than its gap", sourceLocation: sourceLocation)
                kept = gap.size - min(gap.size, ranges[next].size)
                next += 1
            }
            if gapEnd == blockSize {
                #expect(kept == 0, "the end of the block is not free", sourceLocation: sourceLocation)
            } else {
                #expect(kept < Self.keptPadding, "\(kept) bytes of a gap neither free nor kept", sourceLocation: sourceLocation)
            }
        }
        #expect(next == ranges.count, "free ranges outside the gaps", sourceLocation: sourceLocation)
    }
}
