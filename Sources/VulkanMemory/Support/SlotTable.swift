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

    /// Stores an entry in a free slot and returns its handle.
    /// - Complexity: amortised O(1).
    mutating func insert(_ entry: Entry) -> (slot: UInt32, generation: UInt32) {
        if let slot = freeSlots.popLast() {
            entries[Int(slot)] = entry
            return (slot, generations[Int(slot)])
        }
        entries.append(entry)
        generations.append(0)
        return (UInt32(entries.count - 1), 0)
    }

    /// What a handle refers to.
    func lookup(slot: UInt32, generation: UInt32) -> Lookup {
        guard Int(slot) < entries.count else { return .unknown }
        if generations[Int(slot)] == generation, let entry = entries[Int(slot)] { return .live(entry) }
        return generations[Int(slot)] > generation || entries[Int(slot)] == nil ? .removed : .unknown
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
