import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value behind a small adaptive lock: one atomic compare-and-swap to take it and one
/// store to give it back when nobody else holds it, spinning briefly and then sleeping
/// with growing pauses when somebody does.
///
/// Why not `Synchronization.Mutex`: the thread sanitizer cannot see inside its prebuilt
/// futex calls and reports every access under it as a race; these atomics are compiled
/// into this module, so it sees them. Why not a pthread mutex: its lock and unlock cost
/// about 8% of a W3 run, twice what this costs. The sleeping keeps waiters from burning a
/// core while the holder sits in a slow driver call (`vkAllocateMemory` for a new page can
/// take milliseconds on a real GPU). The value lives in its own allocation so access
/// needs no dynamic exclusivity check.
///
/// Thread safety: `withLock` may be called from any thread; the body runs with the lock
/// held and must not call `withLock` on the same instance again (it is not recursive).
final class Locked<Value>: @unchecked Sendable {
    private let held = Atomic<Bool>(false)
    /// How many times a thread found the lock held: a relaxed count, read to decide
    /// whether a memory type's pages should spread over lanes (`LaneTable`).
    private let contentions = Atomic<Int>(0)
    private let storage: UnsafeMutablePointer<Value>

    init(_ value: Value) {
        storage = .allocate(capacity: 1)
        storage.initialize(to: value)
    }

    deinit {
        storage.deinitialize(count: 1)
        storage.deallocate()
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        if !held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
            waitForLock()
        }
        defer { held.store(false, ordering: .releasing) }
        return try body(&storage.pointee)
    }

    /// How many times a thread has found the lock held so far.
    var contentionCount: Int { contentions.load(ordering: .relaxed) }

    /// Counts `count` contended acquisitions that did not happen: for tests of what
    /// contention changes, which a machine of two cores makes only by chance.
    func _countContentions(_ count: Int) { contentions.wrappingAdd(count, ordering: .relaxed) }

    /// The contended path: spin while the holder is likely to finish soon, then sleep
    /// 1 µs, 2 µs… up to 1 ms between attempts.
    @inline(never)
    private func waitForLock() {
        contentions.wrappingAdd(1, ordering: .relaxed)
        var attempts = 0
        var pause = timespec(tv_sec: 0, tv_nsec: 1_000)
        while true {
            if !held.load(ordering: .relaxed),
               held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged {
                return
            }
            attempts += 1
            if attempts < 100 { continue }
            if attempts < 120 { sched_yield(); continue }
            nanosleep(&pause, nil)
            pause.tv_nsec = min(pause.tv_nsec * 2, 1_000_000)
        }
    }
}
