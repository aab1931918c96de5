import Suballocation

/// Freed ranges of one arena buffer, kept allocated for the next slice of their size.
///
/// Why: most slices of an arena share a few sizes (a uniform arena's are often all one
/// size), and a free followed by an allocation of the same size then costs neither the
/// TLSF merge of the freed range with its neighbours nor the search and split of the
/// next; the buffer's free bytes stay as they were. A range stays here until a slice of
/// its size and alignment takes it (last freed, first taken), until its buffer has no
/// room for a request (every range here goes back to the buffer's `VirtualBlock`, which
/// merges them), or until its buffer's last live slice is freed (likewise, so an emptied
/// buffer is empty).
///
/// A range kept here keeps its handle in the buffer's `VirtualBlock`, so a slice carries
/// a serial, which the range holds as its user data: freeing a slice raises the range's
/// serial, so every copy of the freed slice stops matching the range, whoever takes it
/// next (``BufferArenaError/alreadyFreed``).
struct RecycledRanges: Sendable {
    /// One kept range: its handle, place and size in the buffer's `VirtualBlock`, and the
    /// serial the next slice in it gets.
    struct Entry: Sendable {
        var handle: VirtualAllocationHandle
        var offset: UInt64
        var size: UInt64
        var serial: UInt32

        /// A slot not in use.
        static let unused = Entry(handle: VirtualAllocationHandle(index: 0, generation: 0), offset: 0, size: 0, serial: 0)
    }

    /// Ranges kept at most per buffer: enough for the frees between two allocations of a
    /// frame's worth of same-sized slices to be taken back cheaply, few enough that the
    /// search of ``contains(_:)`` (reports, checks) stays short.
    static let capacity = 16

    /// Sixteen entries in place (a homogeneous tuple, laid out as an array): no storage
    /// of their own to allocate or check for uniqueness, on the platforms the package
    /// supports (`InlineArray` needs macOS 26).
    private var entries = (Entry.unused, Entry.unused, Entry.unused, Entry.unused,
                           Entry.unused, Entry.unused, Entry.unused, Entry.unused,
                           Entry.unused, Entry.unused, Entry.unused, Entry.unused,
                           Entry.unused, Entry.unused, Entry.unused, Entry.unused)
    /// Ranges kept now.
    private(set) var count = 0

    /// Entry `index`, below ``count``; a copy of the entries is read (the cold paths).
    private subscript(index: Int) -> Entry {
        withUnsafeBytes(of: entries) { $0.load(fromByteOffset: index * MemoryLayout<Entry>.stride, as: Entry.self) }
    }

    /// Entry `index`, read in place (the short paths: reading a copy would copy all sixteen).
    @inline(__always)
    private mutating func entry(_ index: Int) -> Entry {
        withUnsafeMutableBytes(of: &entries) { $0.load(fromByteOffset: index * MemoryLayout<Entry>.stride, as: Entry.self) }
    }

    /// Writes entry `index` in place.
    @inline(__always)
    private mutating func setEntry(_ index: Int, _ entry: Entry) {
        withUnsafeMutableBytes(of: &entries) {
            $0.storeBytes(of: entry, toByteOffset: index * MemoryLayout<Entry>.stride, as: Entry.self)
        }
    }

    /// Whether no more ranges may be kept.
    var isFull: Bool { count == Self.capacity }

    /// Keeps a range; the caller checked ``isFull``.
    @inline(__always)
    mutating func push(_ entry: Entry) {
        setEntry(count, entry)
        count += 1
    }

    /// Takes the last range kept if it has `size` bytes at an offset aligned to
    /// `alignment` (a power of two); nil otherwise, the ranges unchanged.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func take(size: UInt64, alignment: UInt64) -> Entry? {
        guard count > 0 else { return nil }
        let last = entry(count - 1)
        guard last.size == size, last.offset & (alignment - 1) == 0 else { return nil }
        count -= 1
        return last
    }

    /// Whether `handle` names a range kept here.
    /// - Complexity: O(``capacity``).
    func contains(_ handle: VirtualAllocationHandle) -> Bool {
        for index in 0..<count where self[index].handle == handle { return true }
        return false
    }

    /// The bytes of the ranges kept.
    var bytes: UInt64 {
        var total: UInt64 = 0
        for index in 0..<count { total += self[index].size }
        return total
    }

    /// Gives every range up: the caller frees them in the buffer's `VirtualBlock`.
    mutating func removeAll() -> [Entry] {
        let all = self.all
        count = 0
        return all
    }

    /// The ranges kept, oldest first.
    var all: [Entry] { (0..<count).map { self[$0] } }
}

extension ArenaBlock {
    /// Live slices in the buffer: its `VirtualBlock`'s allocations less the recycled ranges.
    @inline(__always)
    var liveSliceCount: Int { ranges.allocationCount - recycled.count }

    /// Places an unnamed slice of `size` bytes in the last recycled range if that has the
    /// slice's size (in whole granules) and alignment.
    /// - Returns: the buffer, the range (with the slice's size) and the slice's serial;
    ///   nil when no recycled range fits.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func takeRecycled(_ size: UInt64, alignment: UInt64) -> (VkBuffer, VirtualAllocation, UInt32)? {
        guard recycled.count > 0, let reserved = roundedUp(size, to: buffer.granule),
              let entry = recycled.take(size: reserved, alignment: max(alignment, buffer.granule)) else {
            return nil
        }
        return (buffer.bound.buffer, VirtualAllocation(handle: entry.handle, offset: entry.offset, size: entry.size),
                entry.serial)
    }

    /// Frees a live slice by keeping its range for the next slice of its size; false
    /// (nothing changed) when the ranges kept are full, the slice is the buffer's last
    /// live one, its range's serial has reached the largest (the range then goes back to
    /// the `VirtualBlock`, whose next allocation there has a new handle, so no serial
    /// repeats under one handle), or the slice is not live in this buffer (freed before,
    /// or never its).
    /// - Complexity: O(1), one look-up of the range (and, in a buffer that ever held a
    ///   named slice, the removal of the range's name).
    @inline(__always)
    mutating func recycle(_ slice: BufferSlice) -> Bool {
        guard !recycled.isFull, liveSliceCount > 1, slice.serial != .max else { return false }
        let next = slice.serial &+ 1
        guard let size = try? ranges.replaceUserData(UInt64(slice.serial), with: UInt64(next), for: slice.handle,
                                                       at: slice.offset) else {
            return false
        }
        if hasNames { try? ranges.setName(nil, for: slice.handle) }
        recycled.push(RecycledRanges.Entry(handle: slice.handle, offset: slice.offset, size: size, serial: next))
        return true
    }

    /// Gives every recycled range back to the buffer's `VirtualBlock`, which merges each
    /// with its free neighbours.
    /// - Returns: whether there was any.
    /// - Complexity: O(``RecycledRanges/capacity``) TLSF frees.
    @discardableResult
    mutating func releaseRecycled() -> Bool {
        guard recycled.count > 0 else { return false }
        for entry in recycled.removeAll() { _ = try? ranges.free(entry.handle, at: entry.offset) }
        return true
    }

    /// Whether `slice` is live in this buffer: its range is where it says, holds its
    /// serial, and is not recycled (a recycled range holds the next serial).
    /// - Throws: `.foreignSlice` for a handle the buffer never gave, `.alreadyFreed` for
    ///   one freed before.
    /// - Complexity: O(1).
    func checkLive(_ slice: BufferSlice) throws(BufferArenaError) {
        do throws(VirtualBlockError) {
            guard try ranges.allocation(slice.handle).offset == slice.offset,
                  try ranges.userData(of: slice.handle) == UInt64(slice.serial) else {
                throw .staleHandle(slice.handle)
            }
        } catch {
            throw error == .unknownHandle(slice.handle) ? .foreignSlice : .alreadyFreed
        }
    }

    /// The largest range a slice could take without a new buffer: the `VirtualBlock`'s
    /// largest free range once the recycled ranges are given back (measured on a copy,
    /// so alignment padding kept with each range merges as it would).
    /// - Complexity: O(1) without recycled ranges, else O(the block's records) for the copy.
    var largestFreeRange: UInt64 {
        guard recycled.count > 0 else { return ranges.statistics.largestFreeRange }
        var merged = ranges
        for entry in recycled.all { _ = try? merged.free(entry.handle, at: entry.offset) }
        return merged.statistics.largestFreeRange
    }

    /// Checks that every recycled range is an allocation of the buffer at its place,
    /// holding its next serial, kept once, and only while a live slice remains; stops the
    /// program otherwise. For tests.
    func checkRecycledRanges() {
        precondition(recycled.count == 0 || liveSliceCount > 0, "recycled ranges in a buffer with no live slice")
        precondition(Set(recycled.all.map(\.handle)).count == recycled.count, "a range recycled twice")
        for entry in recycled.all {
            guard let range = try? ranges.allocation(entry.handle), range.offset == entry.offset,
                  range.size == entry.size, (try? ranges.userData(of: entry.handle)) == UInt64(entry.serial) else {
                preconditionFailure("recycled range \(entry.handle) at \(entry.offset) is not the buffer's allocation")
            }
        }
    }
}
