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
    /// Creates every resource of a batch (`vkCreateBuffer`/`vkCreateImage`), finds memory
    /// for each as `strategy` says, and binds it (`vkBindBufferMemory`/`vkBindImageMemory`).
    ///
    /// Every strategy takes the path of a single request: the memory types each resource's
    /// request ranks, tried in order while a heap is full. `.contiguous` and
    /// `.privatePage` place each group of resources that share a best memory type in the
    /// first type every member accepts that takes the whole group. Resources whose driver
    /// requires a dedicated allocation get one whatever the strategy.
    /// - Throws: `AllocationError`: `.invalidCreateInfo` when an entry's create-info breaks
    ///   a rule of Vulkan or a limit of the device, found before the first resource is
    ///   created; if anything fails part-way (creation, memory, binding),
    ///   every resource the call created is destroyed and every range and page it made
    ///   given back, so the allocator is exactly as before.
    /// - Complexity: O(n) Vulkan calls and allocations for n resources.
    public func bind(_ batch: ResourceBatch, strategy: BindStrategy = .scatter,
                     fileID: StaticString = #fileID, line: UInt = #line) throws(AllocationError) -> BoundResources {
        var objects: [ResourceObject] = []
        var allocations: [Allocation?] = []
        let pagesBefore = pageSnapshot()
        do throws(AllocationError) {
            // Every entry is checked before the first is created: a bad entry costs no
            // Vulkan call at all.
            for entry in batch.entries { try makeObject(entry, create: false) }
            for entry in batch.entries { objects.append(try makeObject(entry, create: true)!) }
            let requirements = objects.map { $0.requirements(on: device) }
            allocations = Array(repeating: nil, count: objects.count)
            let record = AllocationRecord(fileID: fileID, line: UInt32(truncatingIfNeeded: line), userData: 0)
            try place(batch.entries, objects, requirements, into: &allocations, strategy: strategy,
                      fileID: fileID, line: line, record: record)
            var resources: [Resource] = []
            for (index, object) in objects.enumerated() {
                let allocation = allocations[index]!
                try object.bind(to: allocation, on: device)
                switch (object.handle, batch.entries[index]) {
                case let (.buffer(buffer), .buffer(description)):
                    resources.append(.buffer(BoundBuffer(buffer: buffer, allocation: allocation, size: description.size,
                                                                   usage: description.usage)))
                case let (.image(image), _):
                    resources.append(.image(BoundImage(image: image, allocation: allocation)))
                default:
                    preconditionFailure("a batch entry made an object of another kind")
                }
            }
            if observers.isActive {
                reportBatch(batch.entries, requirements, resources, strategy: strategy, fileID: fileID, line: line)
            }
            return BoundResources(resources: resources)
        } catch {
            // What each placement was, read before the frees: a contiguous group's range
            // goes with its last member, and its placement is the one to undo.
            let placements = Set(allocations.compactMap { $0.flatMap(placementToUndo(of:)) })
            for allocation in allocations { if let allocation { try? free(allocation, keepEmpty: .max) } }
            for object in objects { object.destroy(on: device) }
            releasePagesAdded(since: pagesBefore)
            // Drains the batch's placements ended start again (the pages it made are gone);
            // each undo touches its own page only, so their order does not matter.
            for placement in placements { undoPlacement(of: placement) }
            throw error
        }
    }

    /// Checks a batch entry's create-info (`ResourceObject.validate`) and, when `create`
    /// says so, creates it (`vkCreateBuffer`/`vkCreateImage`) without checking it again.
    @discardableResult
    private func makeObject(_ entry: ResourceBatch.Entry, create: Bool) throws(AllocationError) -> ResourceObject? {
        switch entry {
        case .buffer(let description): try makeBuffer(description, create: create)
        case .image(let description): try makeImage(description, create: create)
        }
    }

    /// Reports each resource of a bound batch as its own `.allocated` event, with the
    /// dedicated policy its strategy gave it: a recording makes one `vmaCreateBuffer` or
    /// `vmaCreateImage` a resource of it (VMA had no bulk binds).
    private func reportBatch(_ entries: [ResourceBatch.Entry], _ requirements: [MemoryRequirements],
                             _ resources: [Resource], strategy: BindStrategy, fileID: StaticString, line: UInt) {
        for (index, (entry, resource)) in zip(entries, resources).enumerated() {
            let options = AllocationOptions(dedicated: strategy == .dedicated ? .always : .automatic, name: entry.name)
            let creation: ResourceCreation
            switch entry {
            case .buffer(let description):
                var info = VkBufferCreateInfo()
                info.size = description.size
                info.usage = VkBufferUsageFlags(description.usage.rawValue)
                info.sharingMode = description.sharedQueueFamilies.count > 1 ? VK_SHARING_MODE_CONCURRENT
                    : VK_SHARING_MODE_EXCLUSIVE
                creation = ResourceCreation(info)
            case .image(let description):
                var info = description.exclusiveCreateInfo
                if description.sharedQueueFamilies.count > 1 { info.sharingMode = VK_SHARING_MODE_CONCURRENT }
                creation = .image(ImageCreation(info))
            }
            reportAllocated(resource.allocation, requirements[index], request: entry.memory, options: options, pool: nil,
                            resource: creation, fileID: fileID, line: line)
        }
    }

    /// Finds memory for every resource of a batch, each through a `PlacementRequest` marked
    /// bound; on failure the caller frees whatever is in `allocations`.
    private func place(_ entries: [ResourceBatch.Entry], _ objects: [ResourceObject],
                       _ requirements: [MemoryRequirements], into allocations: inout [Allocation?],
                       strategy: BindStrategy, fileID: StaticString, line: UInt,
                       record: AllocationRecord) throws(AllocationError) {
        func single(_ index: Int, dedicated: AllocationOptions.DedicatedPolicy) throws(AllocationError) -> Allocation {
            let placement = try PlacementRequest(requirements[index],
                                                 AllocationOptions(dedicated: dedicated, name: entries[index].name),
                                                 target: objects[index].dedicatedTarget, resource: objects[index].bound,
                                                 fileID: fileID, line: line)
            return try place(placement, entries[index].memory, name: entries[index].name)
        }
        switch strategy {
        case .scatter, .dedicated:
            for index in objects.indices {
                allocations[index] = try single(index, dedicated: strategy == .dedicated ? .always : .automatic)
            }
        case .contiguous, .privatePage:
            // Group by each resource's best memory type, keeping the batch's order.
            var groups: [(type: Int, members: [Int])] = []
            for index in objects.indices {
                if requirements[index].requiresDedicated {
                    allocations[index] = try single(index, dedicated: .automatic)
                    continue
                }
                _ = try PlacementRequest(requirements[index], AllocationOptions(), fileID: fileID, line: line)
                let request = entries[index].memory
                let bits = requirements[index].memoryTypeBits & request.memoryTypeBits
                guard let type = rankedTypes(for: request).first(where: { bits & (1 << UInt32($0)) != 0 }) else {
                    throw .noSuitableMemoryType(required: selection.flags(for: request).required,
                                                memoryTypeBits: bits, usage: request.usage)
                }
                if let position = groups.firstIndex(where: { $0.type == type }) {
                    groups[position].members.append(index)
                } else {
                    groups.append((type, [index]))
                }
            }
            var bound = record
            bound.isBound = true
            for group in groups {
                let members = group.members.map { requirements[$0] }
                let candidates = sharedCandidates(members, group.members.map { entries[$0].memory })
                let placed = try placeGroup(members, candidates: candidates,
                                            as: strategy == .privatePage ? .privatePage : .sharedRange,
                                            names: group.members.map { entries[$0].name }, record: bound)
                for (member, allocation) in zip(group.members, placed) { allocations[member] = allocation }
            }
        }
    }

    /// The check of a buffer description's create-info, then `vkCreateBuffer` for it when
    /// `create` says so.
    func makeBuffer(_ description: BufferDescription, create: Bool) throws(AllocationError) -> ResourceObject? {
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = description.size
        info.usage = VkBufferUsageFlags(description.usage.rawValue)
        return try withSharing(description.sharedQueueFamilies) { (mode, count, families) throws(AllocationError) in
            info.sharingMode = mode
            info.queueFamilyIndexCount = count
            info.pQueueFamilyIndices = families
            guard create else {
                try ResourceObject.validate(info, on: device)
                return nil
            }
            return try ResourceObject.createValidated(info, on: device)
        }
    }

    /// The check of an image description's create-info, then `vkCreateImage` for it when
    /// `create` says so.
    func makeImage(_ description: ImageDescription, create: Bool) throws(AllocationError) -> ResourceObject? {
        var info = description.exclusiveCreateInfo
        return try withSharing(description.sharedQueueFamilies) { (mode, count, families) throws(AllocationError) in
            info.sharingMode = mode
            info.queueFamilyIndexCount = count
            info.pQueueFamilyIndices = families
            guard create else {
                try ResourceObject.validate(info, on: device)
                return nil
            }
            return try ResourceObject.createValidated(info, on: device)
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
}

extension ResourceBatch.Entry {
    /// The entry's name, for reports.
    var name: String? {
        switch self {
        case .buffer(let description): description.name
        case .image(let description): description.name
        }
    }

    /// The memory the entry asks for.
    var memory: MemoryRequest {
        switch self {
        case .buffer(let description): description.memory
        case .image(let description): description.memory
        }
    }
}
