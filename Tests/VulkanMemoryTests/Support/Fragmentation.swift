/// Removes two of every three elements (keeping indices 0, 3, 6, …), last first, handing
/// each to `release`: the fragmentation the defragmentation tests start from.
func keepEveryThird<T, E: Error>(_ items: inout [T], release: (T) throws(E) -> Void) throws(E) {
    for index in stride(from: items.count - 1, through: 0, by: -1) where index % 3 != 0 {
        try release(items.remove(at: index))
    }
}
