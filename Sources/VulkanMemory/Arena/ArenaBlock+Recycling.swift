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
    }

    /// Ranges kept at most per buffer: enough for the frees between two allocations of a
    /// frame's worth of same-sized slices to be taken back cheaply, few enough that the
    /// search of ``contains(_:)`` (reports, checks) stays short.
    static let capacity = 16

    private var entries = InlineArray<16, Entry>(
        repeating: Entry(handle: VirtualAllocationHandle(index: 0, generation: 0), offset: 0, size: 0, serial: 0))
    /// Ranges kept now.
    private(set) var count = 0

    /// Whether no more ranges may be kept.
    var isFull: Bool { count == Self.capacity }

    /// Keeps a range; the caller checked ``isFull``.
    @inline(__always)
    mutating func push(_ entry: Entry) {
        entries[count] = entry
        count += 1
    }

    /// Takes the last range kept if it has `size` bytes at an offset aligned to
    /// `alignment` (a power of two); nil otherwise, the ranges unchanged.
    /// - Complexity: O(1).
    @inline(__always)
    mutating func take(size: UInt64, alignment: UInt64) -> Entry? {
        guard count > 0 else { return nil }
        let last = entries[count - 1]
        guard last.size == size, last.offset & (alignment - 1) == 0 else { return nil }
        count -= 1
        return last
    }

    /// Whether `handle` names a range kept here.
    /// - Complexity: O(``capacity``).
    func contains(_ handle: VirtualAllocationHandle) -> Bool {
        for index in 0..<count where entries[index].handle == handle { return true }
        return false
    }

    /// The bytes of the ranges kept.
    var bytes: UInt64 {
        var total: UInt64 = 0
        for index in 0..<count { total += entries[index].size }
        return total
    }

    /// Gives every range up: the caller frees them in the buffer's `VirtualBlock`.
    mutating func removeAll() -> [Entry] {
        let all = (0..<count).map { entries[$0] }
        count = 0
        return all
    }

    /// The ranges kept, oldest first.
    var all: [Entry] { (0..<count).map { entries[$0] } }
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
    /// live one, or the slice is not live in this buffer (freed before, or never its).
    /// - Complexity: O(1), one look-up of the range (and, in a buffer that ever held a
    ///   named slice, the removal of the range's name).
    @inline(__always)
    mutating func recycle(_ slice: BufferSlice) -> Bool {
        guard !recycled.isFull, liveSliceCount > 1 else { return false }
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
    /// largest free range, or, with recycled ranges, the largest run of free and
    /// recycled ranges side by side (what giving the recycled ranges back would merge).
    /// - Complexity: O(1) without recycled ranges, else O(free ranges log free ranges).
    var largestFreeRange: UInt64 {
        let free = ranges.statistics.largestFreeRange
        guard recycled.count > 0 else { return free }
        var runs = recycled.all.map { (offset: $0.offset, size: $0.size) }
        ranges.forEachFreeRange { offset, size in runs.append((offset, size)) }
        runs.sort { $0.offset < $1.offset }
        var largest: UInt64 = 0
        var start = runs[0].offset
        var end = start
        for run in runs {
            if run.offset != end { start = run.offset }
            end = run.offset + run.size
            largest = max(largest, end - start)
        }
        return largest
    }

    /// Checks that every recycled range is an allocation of the buffer at its place,
    /// holding its next serial, and stops the program otherwise. For tests.
    func checkRecycledRanges() {
        for entry in recycled.all {
            guard let range = try? ranges.allocation(entry.handle), range.offset == entry.offset,
                  range.size == entry.size, (try? ranges.userData(of: entry.handle)) == UInt64(entry.serial) else {
                preconditionFailure("recycled range \(entry.handle) at \(entry.offset) is not the buffer's allocation")
            }
        }
    }
}
