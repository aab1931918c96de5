import Synchronization

/// A fixed number of places, each holding an object made the first time it is asked
/// for and kept until the table goes: readers find it with one atomic load and no lock.
///
/// Why: some lookups sit on every free (a custom pool's pages, a memory type's lane) and
/// must not serialize threads on a lock of the whole allocator. Objects are never replaced
/// or released while the table lives, so a reader's unretained pointer can never dangle;
/// the table's owner bounds the count.
///
/// Thread safety: any method from any thread. Objects are made one at a time under a lock
/// and published with release ordering; readers load with acquire ordering.
final class PublishedTable<Object: AnyObject & Sendable>: @unchecked Sendable {
    private let places: UnsafeMutablePointer<Atomic<UInt>>
    private let count: Int
    /// Every object made, retained, in the order made; the lock that makes them.
    private let made = Locked<[Object]>([])

    init(count: Int) {
        self.count = max(count, 1)
        places = .allocate(capacity: self.count)
        for index in 0..<self.count { (places + index).initialize(to: Atomic<UInt>(0)) }
    }

    deinit {
        places.deinitialize(count: count)
        places.deallocate()
    }

    /// The object at `index`, made by `make` now if there is none yet.
    /// - Complexity: O(1); the first call for a place runs `make` under the table's lock.
    func object(at index: Int, make: () -> Object) -> Object {
        if let object = existing(at: index) { return object }
        return made.withLock { made in
            if let object = existing(at: index) { return object }
            let object = make()
            made.append(object)
            places[index].store(UInt(bitPattern: Unmanaged.passUnretained(object).toOpaque()), ordering: .releasing)
            return object
        }
    }

    /// The object at `index` if it was made; nil for a place out of range or not made.
    /// - Complexity: O(1), one atomic load.
    @inline(__always)
    func existing(at index: Int) -> Object? {
        guard index >= 0, index < count else { return nil }
        let bits = places[index].load(ordering: .acquiring)
        guard let pointer = UnsafeRawPointer(bitPattern: bits) else { return nil }
        return Unmanaged<Object>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Runs `body` with the object at `index` borrowed, or returns nil when there is none:
    /// no retain and release of the object, whose reference count would otherwise be a
    /// cache line every thread using it writes twice per call.
    /// - Complexity: O(1), one atomic load.
    @inline(__always)
    func withExisting<Result, Failure: Error>(at index: Int,
                                              _ body: (Object) throws(Failure) -> Result) throws(Failure) -> Result? {
        guard index >= 0, index < count else { return nil }
        let bits = places[index].load(ordering: .acquiring)
        guard let pointer = UnsafeRawPointer(bitPattern: bits) else { return nil }
        return try Self.withGuaranteed(Unmanaged<Object>.fromOpaque(pointer), body)
    }

    /// `body` with an object the table keeps alive, without retaining it.
    @inline(__always)
    private static func withGuaranteed<Result, Failure: Error>(_ object: Unmanaged<Object>,
                                                               _ body: (Object) throws(Failure) -> Result) throws(Failure) -> Result {
        do {
            return try object._withUnsafeGuaranteedRef(body)
        } catch {
            // `body` throws nothing but Failure; the standard library's signature only
            // forgets the type.
            guard let error = error as? Failure else { preconditionFailure("unexpected error \(error)") }
            throw error
        }
    }

    /// Every object made so far, in the order made.
    func all() -> [Object] { made.withLock { $0 } }
}
