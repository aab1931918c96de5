import Synchronization

/// Sees every `AllocationEvent` of the allocators it is given to
/// (`AllocatorOptions.observers`).
///
/// Thread safety: `observe` is called synchronously on the thread that made the call,
/// sometimes while the allocator holds a memory type's lock (a page is made under it), so
/// it must be quick, may be called from several threads at once, and must not call back
/// into the allocator.
public protocol AllocationObserver: AnyObject, Sendable {
    /// One event of the allocator `allocator` (an `Allocator.id`: several allocators may
    /// share an observer).
    func observe(_ event: AllocationEvent, from allocator: UInt64)
}

/// The observers of one allocator, fixed when it is made.
struct Observers: Sendable {
    let list: [any AllocationObserver]
    /// The allocator's `id`.
    let allocator: UInt64
    /// Whether anyone listens: the one branch an unobserved call pays.
    let isActive: Bool

    init(_ list: [any AllocationObserver], allocator: UInt64) {
        self.list = list
        self.allocator = allocator
        isActive = !list.isEmpty
    }

    /// Delivers an event to every observer, in the order given.
    @inline(never)
    func send(_ event: @autoclosure () -> AllocationEvent) {
        let event = event()
        for observer in list { observer.observe(event, from: allocator) }
    }
}

/// Allocator identities: never reused in a process, unlike an object's address.
let allocatorSerial = Atomic<UInt64>(0)
