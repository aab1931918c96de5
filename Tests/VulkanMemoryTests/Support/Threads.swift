import Foundation
import Synchronization
@testable import VulkanMemory

/// Runs `body(index)` on `count` threads of their own at once (not a pool's few workers,
/// which on a 2-core machine would run them two at a time) and returns when all are done.
///
/// Each thread lets go of `body` before it reports done: a `Thread` object keeps its
/// closure until the thread has exited, which can be after the test and its device are
/// gone, even during the process's exit, and what `body` captured (an allocator) would
/// then be torn down there (the thread sanitizer's run crashed in the validation layer so).
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let done = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        done.enter()
        let work = WorkSlot(body)
        let thread = Thread {
            start.wait()
            work.runOnce(index)
            done.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { start.signal() }
    done.wait()
}

/// A thread's work, taken out and dropped by the one call that runs it.
final class WorkSlot: Sendable {
    private let body: Mutex<(@Sendable (Int) -> Void)?>

    init(_ body: @escaping @Sendable (Int) -> Void) { self.body = Mutex(body) }

    /// Runs the work with `index` and releases it (and all it captured) before returning.
    func runOnce(_ index: Int) {
        let taken = body.withLock { body in
            defer { body = nil }
            return body
        }
        taken?(index)
    }
}

/// Messages collected from several threads.
///
/// Behind the library's `Locked`, not `Synchronization.Mutex`: the thread sanitizer does
/// not see inside Mutex's futex calls, so two threads appending at once under it were
/// reported as a race (`make test`'s thread-sanitizer run, now and then).
final class Failures: Sendable {
    private let messages = Locked<[String]>([])
    func append(_ message: String) { messages.withLock { $0.append(message) } }
    var all: [String] { messages.withLock { $0 } }
}
