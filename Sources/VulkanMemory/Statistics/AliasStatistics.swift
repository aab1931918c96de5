/// A resource aliasing an allocation in a `Statistics` (`Allocator.createAliasingBuffer`,
/// `createAliasingImage`: VMA's aliasing resources): which resource, and which bytes of
/// the allocation it covers.
public struct AliasStatistics: Codable, Sendable, Equatable {
    /// What aliases the allocation.
    public enum Resource: String, Codable, Sendable {
        /// A `VkBuffer`.
        case buffer
        /// A `VkImage`.
        case image
    }

    /// A buffer or an image.
    public let resource: Resource
    /// The `VkBuffer`'s or `VkImage`'s handle value, to match against the caller's own.
    public let handle: UInt64
    /// Where the resource starts, in bytes from the allocation's start.
    public let offset: UInt64
    /// Its memory requirement in bytes.
    public let size: UInt64

    init(_ alias: AliasRecord) {
        resource = alias.isImage ? .image : .buffer
        handle = alias.resource
        offset = alias.offset
        size = alias.size
    }
}
