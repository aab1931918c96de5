extension MemoryTypePool {
    /// Sets the priority of every page's memory (`vkSetDeviceMemoryPriorityEXT`) under the
    /// pool's lock, so no page is released or added meanwhile; returns the pages changed.
    /// The caller checked the priority and the capability (`DeviceMemory.checkPriorityChange`).
    /// - Complexity: O(pages), one Vulkan call a page.
    /// - Returns: the pages changed; nil for a custom pool destroyed before.
    func setPriority(_ priority: Float) throws(MemoryError) -> Int? {
        try state.withLock { (state: inout State) throws(MemoryError) -> Int? in
            guard !state.isClosed else { return nil }
            var changed = 0
            for slot in state.active {
                guard let memory = state.pages[Int(slot)].memory else { continue }
                try memory.setPriority(priority)
                changed += 1
            }
            return changed
        }
    }
}
