/// One custom pool (`Allocator.makePool`) in a `Statistics`: what it is, so a pool shows
/// even before it has a page. Its pages are the `PageStatistics` whose `pool` is `name`.
public struct PoolStatistics: Codable, Sendable, Equatable {
    /// The pool's name now (`PoolOptions.name`, or as `Allocator.setName(_:of:)` set it).
    public let name: String
    /// The memory type of every page of the pool.
    public let memoryTypeIndex: Int
    /// The size of every page of the pool (`PoolOptions.pageSize`).
    public let pageSize: UInt64
    /// The most pages the pool may hold at once (`PoolOptions.maxPages`).
    public let maxPages: Int
    /// Pages the pool holds now, empty ones included.
    public let pageCount: Int
    /// Whether the pool places its allocations with the linear algorithm (`PoolAlgorithm.linear`).
    public let isLinear: Bool
    /// Dedicated allocations made in the pool and still live: they are in `Statistics.dedicated`
    /// with the pool's memory type, and keep the pool from being destroyed.
    public let dedicatedCount: Int
}
