extension MemoryTypePool {
    /// A wholly free page that may go back: where it is and its size.
    struct EmptyPage {
        let slot: UInt32
        let generation: UInt32
        let size: UInt64
    }

    /// The pages that hold nothing and that no reservation or defragmentation pass keeps,
    /// oldest first; `takeEmptyPage(slot:generation:)` releases one if it is still empty.
    /// - Complexity: O(pages).
    func emptyPages() -> [EmptyPage] {
        state.withLock { state in
            state.active.compactMap { slot in
                let page = state.pages[Int(slot)]
                guard page.isRemovable, let memory = page.memory else { return nil }
                return EmptyPage(slot: slot, generation: state.generations[Int(slot)], size: memory.size)
            }
        }
    }
}
