import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Extra page sets ("lanes") of the allocator's own memory types, one set per thread
/// number, made the first time a thread needs one.
///
/// Why: a memory type's pages share one arena behind one lock, which is what keeps a
/// single thread fast (one TLSF search covers every page) and committed memory low; but
/// a lock whose holder works for a hundred nanoseconds cannot serve eight threads at
/// once, however it waits (a kernel wait made it worse: every give-back became a wake-up
/// call). VMA has the same limit, one mutex per type. Once a type's lock has been found
/// held `contentionThreshold` times, each thread places that type's new allocations in
/// the lane of its thread number (`ThreadNumber`), a `MemoryTypePool` of its own with
/// its own lock and arena; lane 0 is the type's first pool. An allocation goes back to
/// the lane it came from (its slot's tag names the lane), from whatever thread frees it.
/// A program that never allocates from two threads at once never makes a lane and pays
/// one relaxed load per allocation for the check.
///
/// The cost is memory: each lane grows pages of its own (from an eighth of the preferred
/// page size, as a type does), so up to `lanesPerType - 1` partly used pages more per
/// contended type. Lanes live as long as the allocator, so a lane read without a lock
/// is never freed under its reader.
///
/// Thread safety: every method may be called from any thread (`@unchecked` for the raw
/// memory of the per-type flags, which are atomics); lanes are published with release
/// ordering after they are made under the table's lock, and read with acquire ordering.
final class LaneTable: @unchecked Sendable {
    /// Lanes per memory type, the type's first pool included: threads beyond this share.
    static let lanesPerType = 8
    /// The slot tag of lane 1; lane k has `firstTag + k - 1`. The top of the 12 tag bits,
    /// above every custom pool's number.
    static let firstTag = Int(UInt32.max >> MemoryTypePool.slotTagShift) - (lanesPerType - 1) + 1
    /// Contended lock acquisitions of a type before its threads spread over lanes: a few
    /// chance collisions of two threads do not make lanes, a steady contest soon does.
    static let contentionThreshold = 32

    /// For each type, lanes 1 up (`lanesPerType - 1` each), made when first asked for.
    private let table: PublishedTable<MemoryTypePool>
    private let typeCount: Int
    private let makeLane: @Sendable (_ type: Int, _ tag: UInt32) -> MemoryTypePool
    /// Per type, whether its threads use lanes: each flag on a cache line of its own,
    /// written once, so the check on every allocation reads a line nobody writes (the
    /// type's lock word, which lane 0's thread keeps writing, would bounce between cores).
    private let spreadFlags: UnsafeMutableRawPointer
    private static let flagStride = 64

    init(typeCount: Int, makeLane: @escaping @Sendable (_ type: Int, _ tag: UInt32) -> MemoryTypePool) {
        self.typeCount = typeCount
        self.makeLane = makeLane
        table = PublishedTable(count: typeCount * (Self.lanesPerType - 1))
        spreadFlags = .allocate(byteCount: max(typeCount, 1) * Self.flagStride, alignment: Self.flagStride)
        for type in 0..<max(typeCount, 1) { flag(type).initialize(to: Atomic<Bool>(false)) }
    }

    deinit {
        for type in 0..<max(typeCount, 1) { flag(type).deinitialize(count: 1) }
        spreadFlags.deallocate()
    }

    private func flag(_ type: Int) -> UnsafeMutablePointer<Atomic<Bool>> {
        (spreadFlags + type * Self.flagStride).assumingMemoryBound(to: Atomic<Bool>.self)
    }

    /// Whether threads allocating from memory type `type` should use their lanes: once
    /// its lock (`contentions()`, read only until then) has been found held
    /// `contentionThreshold` times, and from then on for the allocator's life.
    /// - Complexity: O(1): one relaxed load of a line that is written once.
    @inline(__always)
    func spreads(type: Int, contentions: () -> Int) -> Bool {
        if flag(type).pointee.load(ordering: .relaxed) { return true }
        guard contentions() >= Self.contentionThreshold else { return false }
        flag(type).pointee.store(true, ordering: .relaxed)
        return true
    }

    /// Lane `number` (1 up) of memory type `type`, made now if it is not yet.
    /// - Complexity: O(1); the first call for a lane makes its pool under a lock.
    func lane(ofType type: Int, number: Int) -> MemoryTypePool {
        table.object(at: type * (Self.lanesPerType - 1) + number - 1) {
            makeLane(type, UInt32(Self.firstTag + number - 1) << MemoryTypePool.slotTagShift)
        }
    }

    /// Runs `body` with lane `number` (1 up) of memory type `type` borrowed, making the
    /// lane first if it is not yet.
    ///
    /// Why borrowed: every thread's allocations come here, and returning the lane (or
    /// capturing the table in a closure, as making one does) retained and released the
    /// table or the lane, two atomic writes per allocation to a reference count that all
    /// threads share: on 2 cores here one-type threads gained 1.27x from a second thread
    /// where separate pools gained 2x.
    /// - Complexity: O(1); the first call for a lane makes its pool under a lock.
    @inline(__always)
    func withLane<Result>(ofType type: Int, number: Int,
                          _ body: (MemoryTypePool) throws(AllocationError) -> Result) throws(AllocationError) -> Result {
        if let result = try table.withExisting(at: type * (Self.lanesPerType - 1) + number - 1, body) { return result }
        return try body(lane(ofType: type, number: number))
    }

    /// Runs `body` with the lane a page slot's tag names in memory type `type` borrowed;
    /// nil when no such lane was made.
    /// - Complexity: O(1), without a lock or a retain.
    @inline(__always)
    func withExistingLane<Result, Failure: Error>(ofType type: Int, tag: Int,
                                                  _ body: (MemoryTypePool) throws(Failure) -> Result) throws(Failure) -> Result? {
        let number = tag - Self.firstTag + 1
        guard (1..<Self.lanesPerType).contains(number), (0..<typeCount).contains(type) else { return nil }
        return try table.withExisting(at: type * (Self.lanesPerType - 1) + number - 1, body)
    }

    /// The lane a page slot's tag names in memory type `type`, if it was made.
    /// - Complexity: O(1), without a lock.
    func existingLane(ofType type: Int, tag: Int) -> MemoryTypePool? {
        withExistingLane(ofType: type, tag: tag) { $0 }
    }

    /// Every lane made so far, in the order they were made.
    func existingLanes() -> [MemoryTypePool] { table.all() }
}

/// A small number per thread, given in the order threads first ask, so threads started
/// together get different lanes (a hash of the thread's identity would put two of eight
/// threads in one lane most of the time).
enum ThreadNumber {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "a thread-specific key must be available")
        return key
    }()
    private static let next = Atomic<Int>(0)

    /// This thread's number: 0 for the first thread that asks, then 1, 2…
    /// - Complexity: O(1): one `pthread_getspecific`, and one atomic increment the first time.
    static var current: Int {
        if let bits = pthread_getspecific(key) { return Int(bitPattern: bits) - 1 }
        let number = next.wrappingAdd(1, ordering: .relaxed).oldValue
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: number + 1))
        return number
    }
}
