extension Allocator {
    /// Reports memory handed out, when anyone observes: the one event a request's path
    /// ends in.
    @inline(__always)
    func reportAllocated(_ allocation: Allocation, _ requirements: MemoryRequirements, request: MemoryRequest?,
                         options: AllocationOptions, pool: @autoclosure () -> String?, resource: @autoclosure () -> ResourceCreation?,
                         fileID: StaticString, line: UInt) {
        guard observers.isActive else { return }
        observers.send(.allocated(AllocatedEvent(allocation: allocation, requirements: requirements, request: request,
                                                 options: options, pool: pool(), resource: resource(),
                                                 fileID: fileID, line: line)))
    }

    /// Reports an allocation freed, when anyone observes.
    @inline(__always)
    func reportFreed(_ allocation: Allocation, _ cause: FreedEvent.Cause) {
        guard observers.isActive else { return }
        observers.send(.freed(FreedEvent(allocation: allocation, cause: cause)))
    }
}
