import CVulkan

extension ResourceBatch {
    /// Creates every resource of the batch, finds its memory and binds it (see
    /// `Allocator.bind(_:strategy:)`).
    public func bind(_ allocator: Allocator, strategy: BindStrategy = .scatter,
                     fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> BoundResources {
        try allocator.bind(self, strategy: strategy, fileID: fileID, line: line)
    }
}

extension Allocator {
    /// A resource created but not yet bound.
    private struct Pending {
        enum Object { case buffer(VkBuffer), image(VkImage) }
        let object: Object
        /// What the batch asked for, for the call recorder.
        let entry: ResourceBatch.Entry
        let requirements: MemoryRequirements
        let request: MemoryRequest
        let name: String?
        /// The size the resource was created with.
        let size: UInt64

        var target: DeviceMemory.DedicatedTarget {
            switch object {
            case .buffer(let buffer): .buffer(buffer)
            case .image(let image): .image(image)
            }
        }
    }

    /// Creates every resource of a batch (`vkCreateBuffer`/`vkCreateImage`), finds memory
    /// for each as `strategy` says, and binds it (`vkBindBufferMemory`/`vkBindImageMemory`).
    ///
    /// Resources whose driver requires a dedicated allocation get one whatever the strategy.
    /// - Throws: `AllocationError`; if anything fails part-way (creation, memory, binding),
    ///   every resource the call created is destroyed and every range given back, so the
    ///   allocator is exactly as before.
    /// - Complexity: O(n) Vulkan calls and allocations for n resources.
    public func bind(_ batch: ResourceBatch, strategy: BindStrategy = .scatter,
                     fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> BoundResources {
        var pending: [Pending] = []
        var allocations: [Allocation?] = []
        let pagesBefore = pageSnapshot()
        do throws(AllocationError) {
            for entry in batch.entries { pending.append(try create(entry)) }
            allocations = Array(repeating: nil, count: pending.count)
            let record = AllocationRecord(fileID: fileID, line: UInt32(truncatingIfNeeded: line), userData: 0)
            try place(pending, into: &allocations, strategy: strategy, record: record)
            var resources: [Resource] = []
            for (item, allocation) in zip(pending, allocations) {
                let allocation = allocation!
                let functions = device.deviceFunctions
                switch item.object {
                case .buffer(let buffer):
                    let result = VulkanResult(functions.bindBufferMemory(device.device, buffer, allocation.memory,
                                                                         allocation.offset))
                    guard result.isSuccess else {
                        throw .vulkan(.callFailed(function: "vkBindBufferMemory", result: result))
                    }
                    resources.append(.buffer(BoundBuffer(buffer: buffer, allocation: allocation, size: item.size)))
                case .image(let image):
                    let result = VulkanResult(functions.bindImageMemory(device.device, image, allocation.memory,
                                                                        allocation.offset))
                    guard result.isSuccess else {
                        throw .vulkan(.callFailed(function: "vkBindImageMemory", result: result))
                    }
                    resources.append(.image(BoundImage(image: image, allocation: allocation)))
                }
            }
            if let recorder { recordBatch(pending, resources, strategy: strategy, to: recorder) }
            return BoundResources(resources: resources)
        } catch {
            for allocation in allocations { if let allocation { try? free(allocation, keepEmpty: .max) } }
            for item in pending { destroyObject(item.object) }
            releasePagesAdded(since: pagesBefore)
            throw error
        }
    }

    private func create(_ entry: ResourceBatch.Entry) throws(AllocationError) -> Pending {
        switch entry {
        case .buffer(let description):
            let buffer = try makeBuffer(description)
            return Pending(object: .buffer(buffer), entry: entry, requirements: requirements(of: buffer),
                           request: description.memory, name: description.name, size: description.size)
        case .image(let description):
            let image = try makeImage(description)
            let requirements = requirements(of: image, tiling: description.tiling)
            return Pending(object: .image(image), entry: entry, requirements: requirements,
                           request: description.memory, name: description.name, size: requirements.size)
        }
    }

    /// Records a bound batch as one `vmaCreateBuffer`/`vmaCreateImage` a resource (VMA
    /// had no bulk binds): a replay makes each resource alone, wherever it then goes.
    private func recordBatch(_ pending: [Pending], _ resources: [Resource], strategy: BindStrategy,
                             to recorder: CallRecorder) {
        for (item, resource) in zip(pending, resources) {
            let options = AllocationOptions(dedicated: strategy == .dedicated ? .always : .automatic, name: item.name)
            switch (item.entry, resource) {
            case let (.buffer(description), .buffer(buffer)):
                var info = VkBufferCreateInfo()
                info.size = description.size
                info.usage = VkBufferUsageFlags(description.usage.rawValue)
                info.sharingMode = description.sharedQueueFamilies.count > 1 ? VK_SHARING_MODE_CONCURRENT
                    : VK_SHARING_MODE_EXCLUSIVE
                recordCreateBuffer(info, description.memory, options, buffer.allocation, to: recorder)
            case let (.image(description), .image(image)):
                var info = description.exclusiveCreateInfo
                if description.sharedQueueFamilies.count > 1 { info.sharingMode = VK_SHARING_MODE_CONCURRENT }
                recordCreateImage(info, description.memory, options, image.allocation, to: recorder)
            default:
                continue
            }
        }
    }

    private func destroyObject(_ object: Pending.Object) {
        switch object {
        case .buffer(let buffer): device.deviceFunctions.destroyBuffer(device.device, buffer, nil)
        case .image(let image): device.deviceFunctions.destroyImage(device.device, image, nil)
        }
    }

    /// Finds memory for every pending resource; on failure the caller frees whatever is in
    /// `allocations`.
    private func place(_ pending: [Pending], into allocations: inout [Allocation?], strategy: BindStrategy,
                       record: AllocationRecord) throws(AllocationError) {
        switch strategy {
        case .scatter, .dedicated:
            for (index, item) in pending.enumerated() {
                let options = AllocationOptions(dedicated: strategy == .dedicated ? .always : .automatic,
                                                name: item.name, dedicatedTarget: item.target)
                allocations[index] = try allocate(item.requirements, item.request, options: options, dedicatedTarget: nil,
                                                  fileID: record.fileID, line: UInt(record.line))
            }
        case .contiguous, .privatePage:
            // Group by each resource's best memory type, keeping the batch's order.
            var groups: [(type: Int, members: [Int])] = []
            for (index, item) in pending.enumerated() {
                if item.requirements.requiresDedicated {
                    allocations[index] = try allocate(
                        item.requirements, item.request,
                        options: AllocationOptions(name: item.name, dedicatedTarget: item.target), dedicatedTarget: nil,
                        fileID: record.fileID, line: UInt(record.line))
                    continue
                }
                let bits = item.requirements.memoryTypeBits & item.request.memoryTypeBits
                guard let type = rankedTypes(for: item.request).first(where: { bits & (1 << UInt32($0)) != 0 }) else {
                    throw .noSuitableMemoryType(required: selection.flags(for: item.request).required,
                                                memoryTypeBits: bits, usage: item.request.usage)
                }
                if let position = groups.firstIndex(where: { $0.type == type }) {
                    groups[position].members.append(index)
                } else {
                    groups.append((type, [index]))
                }
            }
            for group in groups {
                let pool = pools[group.type]
                let members = group.members.map { pending[$0].requirements }
                let layout = GroupLayout(members, granularity: pool.granularity, atom: pool.atom)
                let heapSize = properties.heaps[pool.heapIndex].size
                guard layout.size <= heapSize else {
                    throw .groupTooLarge(size: layout.size, typeIndex: pool.typeIndex, maximum: heapSize)
                }
                if strategy == .contiguous {
                    let base = try pool.allocate(
                        size: layout.size, alignment: layout.alignment, kind: layout.kind, strategy: .bestFit,
                        mapped: false, name: "contiguous group of \(members.count)", record: pinned(record),
                        allocator: self)
                    let parts = registerGroup(base: base, members: layout.offsets.indices.map {
                        (layout.offsets[$0], layout.sizes[$0], members[$0].kind)
                    })
                    for (member, allocation) in zip(group.members, parts) { allocations[member] = allocation }
                } else {
                    let records = Array(repeating: record, count: group.members.count)
                    let placed = try pool.allocatePrivatePage(
                        layout: layout, members: members, options: AllocationOptions(),
                        records: records, names: group.members.map { pending[$0].name }, allocator: self)
                    for (member, allocation) in zip(group.members, placed) { allocations[member] = allocation }
                }
            }
        }
    }

    /// `vkCreateBuffer` for a description.
    func makeBuffer(_ description: BufferDescription) throws(AllocationError) -> VkBuffer {
        guard description.size > 0 else { throw .zeroSize }
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = description.size
        info.usage = VkBufferUsageFlags(description.usage.rawValue)
        return try withSharing(description.sharedQueueFamilies) { (mode, count, families) throws(AllocationError) in
            info.sharingMode = mode
            info.queueFamilyIndexCount = count
            info.pQueueFamilyIndices = families
            return try makeBuffer(info)
        }
    }

    /// `vkCreateBuffer` for a create-info.
    func makeBuffer(_ info: VkBufferCreateInfo) throws(AllocationError) -> VkBuffer {
        var info = info
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        var created: VkBuffer?
        let result = VulkanResult(device.deviceFunctions.createBuffer(device.device, &info, nil, &created))
        guard result.isSuccess, let buffer = created else {
            throw .vulkan(.callFailed(function: "vkCreateBuffer", result: result))
        }
        return buffer
    }

    /// `vkCreateImage` for a description.
    func makeImage(_ description: ImageDescription) throws(AllocationError) -> VkImage {
        var info = description.exclusiveCreateInfo
        return try withSharing(description.sharedQueueFamilies) { (mode, count, families) throws(AllocationError) in
            info.sharingMode = mode
            info.queueFamilyIndexCount = count
            info.pQueueFamilyIndices = families
            return try makeImage(info)
        }
    }

    /// Runs `body` with the sharing of a resource used by `families`: concurrent with
    /// their indices (alive for the call) when two or more share it, else exclusive.
    private func withSharing<R>(
        _ families: [UInt32],
        _ body: (VkSharingMode, UInt32, UnsafePointer<UInt32>?) throws(AllocationError) -> R
    ) throws(AllocationError) -> R {
        guard families.count > 1 else { return try body(VK_SHARING_MODE_EXCLUSIVE, 0, nil) }
        return try families.withUnsafeBufferPointer { (pointer) throws(AllocationError) -> R in
            try body(VK_SHARING_MODE_CONCURRENT, UInt32(pointer.count), pointer.baseAddress)
        }
    }

    /// `vkCreateImage` for a create-info.
    func makeImage(_ info: VkImageCreateInfo) throws(AllocationError) -> VkImage {
        guard info.extent.width > 0, info.extent.height > 0, info.extent.depth > 0,
              info.mipLevels > 0, info.arrayLayers > 0 else { throw .zeroSize }
        var info = info
        info.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO
        var created: VkImage?
        let result = VulkanResult(device.deviceFunctions.createImage(device.device, &info, nil, &created))
        guard result.isSuccess, let image = created else {
            throw .vulkan(.callFailed(function: "vkCreateImage", result: result))
        }
        return image
    }
}

/// `record` for a range that defragmentation must leave where it is.
private func pinned(_ record: AllocationRecord) -> AllocationRecord {
    var record = record
    record.isPinned = true
    return record
}
