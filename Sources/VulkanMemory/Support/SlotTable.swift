/// Entries in reusable slots, each with a generation that changes when its entry is
/// removed, so a handle of (slot, generation) that outlived its entry is recognised as
/// stale rather than taken for whatever occupies the slot now.
///
/// Not thread-safe; the allocator keeps each table behind a lock.
struct SlotTable<Entry> {
    /// What a (slot, generation) handle refers to.
    enum Lookup {
        /// The live entry.
        case live(Entry)
        /// The entry was removed (or replaced): the handle is stale.
        case removed
        /// No such slot was ever handed out.
        case unknown

        /// Whether the handle's entry was removed.
        var isRemoved: Bool {
            if case .removed = self { return true }
            return false
        }
    }

    private(set) var entries: [Entry?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [UInt32] = []
    /// The generation every slot starts at. Tables of different allocators start at
    /// different bases, so a handle of another allocator's table falls outside this
    /// table's history and reads as unknown, not as freed.
    let generationBase: UInt32

    /// Creates an empty table whose slots start at `generationBase`.
    init(generationBase: UInt32 = 0) { self.generationBase = generationBase }

    /// The base for the tables of allocator `id`: 2^20 generations apart, so the tables of
    /// 4,096 allocators in a row never share a generation unless a slot is reused more
    /// than a million times.
    static func generationBase(forAllocator id: UInt64) -> UInt32 {
        UInt32(truncatingIfNeeded: id) << 20
    }

    /// Stores an entry in a free slot and returns its handle.
    /// - Complexity: amortised O(1).
    mutating func insert(_ entry: Entry) -> (slot: UInt32, generation: UInt32) {
        if let slot = freeSlots.popLast() {
            entries[Int(slot)] = entry
            return (slot, generations[Int(slot)])
        }
        entries.append(entry)
        generations.append(generationBase)
        return (UInt32(entries.count - 1), generationBase)
    }

    /// What a handle refers to.
    func lookup(slot: UInt32, generation: UInt32) -> Lookup {
        guard Int(slot) < entries.count else { return .unknown }
        let current = generations[Int(slot)]
        if current == generation, let entry = entries[Int(slot)] { return .live(entry) }
        // Removed means one of this slot's earlier generations: base ≤ generation < current,
        // counted from the base so the comparison survives wrapping.
        return generation &- generationBase < current &- generationBase ? .removed : .unknown
    }

    /// Replaces a live entry.
    mutating func update(slot: UInt32, _ entry: Entry) { entries[Int(slot)] = entry }

    /// Removes a live entry; its handle becomes stale and the slot reusable.
    mutating func remove(slot: UInt32) {
        entries[Int(slot)] = nil
        generations[Int(slot)] &+= 1
        freeSlots.append(slot)
    }

    /// The live entries, in slot order.
    var live: [Entry] { entries.compactMap { $0 } }
}
