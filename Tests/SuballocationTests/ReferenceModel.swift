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

    /// Whether the engine must succeed: for TLSF whenever some gap is `need` bytes;
    /// for linear blocks when the block is empty, or when allocations were made in
    /// address order (no wrap, no upper stack) and the room above the last one is
    /// `need` bytes.
    func mustFit(size: UInt64, alignment: UInt64, linear: Bool, upper: Bool) -> Bool {
        let need = worstCaseNeed(size: size, alignment: alignment)
        if byOffset.isEmpty { return blockSize >= need }
        if !linear { return gaps.contains { $0.size >= need } }
        if upper { return false }
        for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.sequence > b.sequence || a.upper || b.upper {
            return false
        }
        if byOffset[byOffset.count - 1].upper { return false }
        return blockSize - byOffset[byOffset.count - 1].end >= need
    }
}
