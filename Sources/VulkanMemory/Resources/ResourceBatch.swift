/// Buffers and images to create and bind in one go, chained as in nobs-vkmem:
///
/// ```swift
/// let scene = try ResourceBatch
///     .buffer(size: 256, usage: .uniformBuffer, memory: .usage(.dynamic), name: "camera")
///     .nextImage(width: 512, height: 512, usage: [.sampled, .transferDestination], name: "albedo")
///     .nextBuffer(size: 1 << 20, usage: [.vertexBuffer, .transferDestination], name: "mesh")
///     .bind(allocator, strategy: .scatter)
/// ```
public struct ResourceBatch: Sendable, Hashable {
    /// One entry of a batch.
    public enum Entry: Sendable, Hashable {
        /// A buffer.
        case buffer(BufferDescription)
        /// An image.
        case image(ImageDescription)
    }

    /// The resources, in the order they were chained; `BoundResources` keeps this order.
    public private(set) var entries: [Entry] = []

    /// An empty batch.
    public init() {}

    /// A batch that starts with a buffer.
    public static func buffer(size: UInt64, usage: BufferUsage, memory: MemoryRequest = .usage(.gpuOnly),
                              name: String? = nil) -> ResourceBatch {
        ResourceBatch().nextBuffer(size: size, usage: usage, memory: memory, name: name)
    }

    /// A batch that starts with an image (2D, RGBA8, optimal tiling unless told otherwise).
    public static func image(_ description: ImageDescription) -> ResourceBatch {
        ResourceBatch().nextImage(description)
    }

    /// A batch that starts with a 2D image.
    public static func image(width: UInt32, height: UInt32, usage: ImageUsage, memory: MemoryRequest = .usage(.gpuOnly),
                             name: String? = nil) -> ResourceBatch {
        ResourceBatch().nextImage(width: width, height: height, usage: usage, memory: memory, name: name)
    }

    /// The batch with one more buffer.
    public func nextBuffer(size: UInt64, usage: BufferUsage, memory: MemoryRequest = .usage(.gpuOnly),
                           name: String? = nil) -> ResourceBatch {
        nextBuffer(BufferDescription(size: size, usage: usage, memory: memory, name: name))
    }

    /// The batch with one more buffer.
    public func nextBuffer(_ description: BufferDescription) -> ResourceBatch {
        var batch = self
        batch.entries.append(.buffer(description))
        return batch
    }

    /// The batch with one more 2D image.
    public func nextImage(width: UInt32, height: UInt32, usage: ImageUsage, memory: MemoryRequest = .usage(.gpuOnly),
                          name: String? = nil) -> ResourceBatch {
        nextImage(ImageDescription(width: width, height: height, usage: usage, memory: memory, name: name))
    }

    /// The batch with one more image.
    public func nextImage(_ description: ImageDescription) -> ResourceBatch {
        var batch = self
        batch.entries.append(.image(description))
        return batch
    }
}

/// How `bind` places a batch's resources, per memory type.
public enum BindStrategy: String, Sendable, Hashable, CaseIterable {
    /// As few pages and ranges as possible: each resource goes wherever it fits best, so a
    /// group may be split across free ranges of one page or across pages.
    case scatter
    /// Each memory type's group in one continuous range of one page (a new page if none
    /// has room). The range is given back once all its resources are destroyed.
    case contiguous
    /// A new page sized to each memory type's group; once the group is destroyed the page
    /// serves other allocations or is released by `freeUnusedPages()`.
    case privatePage
    /// One `VkDeviceMemory` per resource, with `VkMemoryDedicatedAllocateInfo`.
    case dedicated
}

/// A created and bound resource.
public enum Resource: Hashable, Sendable {
    /// A buffer with its memory.
    case buffer(BoundBuffer)
    /// An image with its memory.
    case image(BoundImage)

    /// The resource's memory.
    public var allocation: Allocation {
        switch self {
        case .buffer(let buffer): buffer.allocation
        case .image(let image): image.allocation
        }
    }
}

/// The resources of a bound batch, in the batch's order.
public struct BoundResources: Sendable, Hashable, RandomAccessCollection {
    /// Every resource, in the order they were chained.
    public let resources: [Resource]
    /// The first index.
    public var startIndex: Int { resources.startIndex }
    /// One past the last index.
    public var endIndex: Int { resources.endIndex }
    /// The resource at a position of the chain.
    public subscript(position: Int) -> Resource { resources[position] }
    /// The buffers, in chain order.
    public var buffers: [BoundBuffer] {
        resources.compactMap { if case .buffer(let b) = $0 { b } else { nil } }
    }
    /// The images, in chain order.
    public var images: [BoundImage] {
        resources.compactMap { if case .image(let i) = $0 { i } else { nil } }
    }
}
