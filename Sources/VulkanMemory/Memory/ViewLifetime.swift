import Synchronization

/// Whether the views of one mapping may still be used: ended, once and for good, when the
/// mapping's memory is unmapped or freed, or when the allocation a view shows is freed or
/// moved.
///
/// Every access through a `MappedMemory` loads this flag first, so a view that outlived
/// its memory throws `MemoryError.viewEnded` instead of writing into memory that another
/// allocation now holds (or that the driver has unmapped). One object is shared by all the
/// views of a mapping (or of an allocation), not made per view.
///
/// The check catches use after the end; it does not make a free and an access on two
/// threads at once safe: as with any memory, the caller orders them.
final class ViewLifetime: Sendable {
    private let ended = Atomic<Bool>(false)

    /// Whether the memory behind the views is gone.
    @inline(__always)
    var isEnded: Bool { ended.load(ordering: .acquiring) }

    /// Ends every view that shares this lifetime.
    func end() { ended.store(true, ordering: .releasing) }
}
