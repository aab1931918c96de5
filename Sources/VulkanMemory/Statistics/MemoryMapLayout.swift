/// Where everything of a memory map goes: one row per page and per dedicated allocation,
/// each as wide as its memory is large beside the largest, in sections by memory type,
/// custom pool and dedicated memory. `Statistics.svg()` and `Statistics.html()` draw it;
/// tests read it to know which colour each pixel of a screenshot must have.
struct MemoryMapLayout {
    /// What a range is drawn as: the four colours of the map.
    enum Category: CaseIterable {
        case buffer
        case optimalImage
        case linearOrUnknown
        case free

        init(kind: RangeStatistics.Kind, resource: RangeStatistics.Resource?) {
            switch (kind, resource) {
            case (.free, _): self = .free
            case (_, .buffer): self = .buffer
            case (.optimal, _): self = .optimalImage
            default: self = .linearOrUnknown
            }
        }

        /// The fill, as 8-bit RGB: far apart in hue and lightness, so they are told apart
        /// on screen and in a screenshot.
        var rgb: (red: UInt8, green: UInt8, blue: UInt8) {
            switch self {
            case .buffer: (47, 111, 214)
            case .optimalImage: (214, 64, 47)
            case .linearOrUnknown: (224, 165, 38)
            case .free: (216, 221, 227)
            }
        }

        var hex: String {
            let (r, g, b) = rgb
            return "#" + [r, g, b].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        }

        var legend: String {
            switch self {
            case .buffer: "buffer"
            case .optimalImage: "optimal-tiling image"
            case .linearOrUnknown: "linear image or unknown content"
            case .free: "free"
            }
        }
    }

    /// One drawn range: an allocation, a free range, or a dedicated allocation whole.
    struct Box {
        let x: Double
        let y: Double
        let width: Double
        let height: Double
        let category: Category
        /// The range's text: name, size, offset, type, call site.
        let name: String?
        let size: UInt64
        let offset: UInt64
        let type: String
        let callSite: String?
    }

    /// A resource aliasing an allocation (`RangeStatistics.aliases`,
    /// `DedicatedStatistics.aliases`), drawn over the lower half of the allocation's box
    /// where its bytes lie: aliasing shows as overlap, and the allocation's own colour
    /// stays visible above it.
    struct Overlay {
        let x: Double
        let y: Double
        let width: Double
        let height: Double
        let resource: AliasStatistics.Resource
        let handle: UInt64
        /// Bytes from the allocation's start, and the resource's size.
        let offset: UInt64
        let size: UInt64
        /// The aliased allocation's name.
        let allocationName: String?

        /// An alias is filled as what it is: a buffer, or an image (whose tiling the
        /// statistics do not keep, drawn as optimal-tiling).
        var category: Category { resource == .buffer ? .buffer : .optimalImage }
    }

    /// A live slice of a ``BufferArena`` (``RangeStatistics/slices``), drawn over the
    /// lower half of its arena buffer's box where its bytes lie, outlined solid: the
    /// buffer's own colour stays visible above it.
    struct SliceMark {
        let x: Double
        let y: Double
        let width: Double
        let height: Double
        let slice: SliceStatistics
        /// The arena buffer's allocation's name.
        let bufferName: String?
    }

    /// One page or dedicated allocation: its label and outline, and its boxes.
    struct Row {
        let label: String
        let labelY: Double
        let x: Double
        let y: Double
        let width: Double
        /// The ranges, tiling the row.
        let boxes: [Box]
        /// The aliases, over the boxes they share; none tile anything.
        var overlays: [Overlay] = []
        /// The arena slices, over their buffers' boxes.
        var slices: [SliceMark] = []
    }

    /// A section heading.
    struct Heading {
        let text: String
        let y: Double
    }

    static let width: Double = 960
    static let margin: Double = 16
    static let barWidth: Double = width - 2 * margin
    static let barHeight: Double = 28
    /// A range is never drawn narrower than this, so a small allocation still shows.
    static let minimumBoxWidth: Double = 1

    /// The text lines above the legend: totals, then one per heap.
    let summary: [String]
    let legendY: Double
    let headings: [Heading]
    let rows: [Row]
    let height: Double
    /// Whether any row has an alias: the legend then explains the overlay.
    var hasOverlays: Bool { rows.contains { !$0.overlays.isEmpty } }
    /// Whether any row has an arena slice: the legend then explains them.
    var hasSlices: Bool { rows.contains { !$0.slices.isEmpty } }

    init(_ statistics: Statistics) {
        let totals = statistics.totals
        var summary = [
            "Committed \(formattedBytes(totals.committedBytes)), live \(formattedBytes(totals.liveBytes)), "
                + "free in pages \(formattedBytes(totals.freeBytesInPages)); \(totals.allocationCount) allocations, "
                + "\(totals.pageCount) pages, \(totals.dedicatedCount) dedicated",
        ]
        for heap in statistics.heaps {
            summary.append("Heap \(heap.index)\(heap.flags.isEmpty ? "" : " (" + heap.flags.joined(separator: ", ") + ")"): "
                           + "size \(formattedBytes(heap.size)), budget \(formattedBytes(heap.budget)), usage \(formattedBytes(heap.usage)) "
                           + "(\(heap.budgetSource)), committed here \(formattedBytes(heap.committedBytes))")
        }
        self.summary = summary
        var y = 56 + Double(summary.count) * 18
        legendY = y
        y += 36

        let largest = max(statistics.pages.map(\.size).max() ?? 0, statistics.dedicated.map(\.size).max() ?? 0, 1)
        func rowWidth(_ size: UInt64) -> Double {
            max(Self.barWidth * Double(size) / Double(largest), 2)
        }
        var headings: [Heading] = []
        var rows: [Row] = []
        func heading(_ text: String) {
            y += 10
            headings.append(Heading(text: text, y: y + 14))
            y += 22
        }
        /// Where bytes `offset..<offset + size` of a box's range go, `scale` pixels a byte:
        /// the lower half of the box, clipped to it and never narrower than a minimum box.
        func lowerHalf(of box: Box, offset: UInt64, size: UInt64, scale: Double)
            -> (x: Double, y: Double, width: Double, height: Double) {
            let start = min(box.x + scale * Double(offset), box.x + box.width - Self.minimumBoxWidth)
            let width = max(min(scale * Double(size), box.x + box.width - start), Self.minimumBoxWidth)
            return (start, box.y + box.height / 2, width, box.height / 2)
        }
        /// The overlays of `aliases` of an allocation drawn from `x`, `scale` pixels a
        /// byte, clipped to its box. An alias's offset counts from the allocation's start;
        /// with `AllocatorOptions.debugMargin` the range begins a front margin earlier,
        /// which is drawn as if it were not there (a margin is at most a few pixels' worth
        /// of a page).
        func overlays(_ aliases: [AliasStatistics]?, of box: Box, scale: Double) -> [Overlay] {
            (aliases ?? []).map { alias in
                let place = lowerHalf(of: box, offset: alias.offset, size: alias.size, scale: scale)
                return Overlay(x: place.x, y: place.y, width: place.width, height: place.height,
                               resource: alias.resource, handle: alias.handle, offset: alias.offset, size: alias.size,
                               allocationName: box.name)
            }
        }
        /// The slices of an arena buffer's allocation, drawn as `overlays` draws aliases.
        func sliceMarks(_ slices: [SliceStatistics]?, of box: Box, scale: Double) -> [SliceMark] {
            (slices ?? []).map { slice in
                let place = lowerHalf(of: box, offset: slice.offset, size: slice.size, scale: scale)
                return SliceMark(x: place.x, y: place.y, width: place.width, height: place.height,
                                 slice: slice, bufferName: box.name)
            }
        }
        func pageRow(_ page: PageStatistics, number: Int) {
            let width = rowWidth(page.size)
            let top = y + 18
            var aliased: [Overlay] = []
            var sliced: [SliceMark] = []
            let boxes = page.ranges.map { range in
                let x = Self.margin + width * Double(range.offset) / Double(max(page.size, 1))
                let w = max(width * Double(range.size) / Double(max(page.size, 1)), Self.minimumBoxWidth)
                let box = Box(x: x, y: top, width: w, height: Self.barHeight,
                              category: Category(kind: range.kind, resource: range.resource), name: range.name,
                              size: range.size, offset: range.offset, type: typeName(range.kind, range.resource),
                              callSite: range.fileID.map { "\($0):\(range.line ?? 0)" })
                aliased += overlays(range.aliases, of: box, scale: width / Double(max(page.size, 1)))
                sliced += sliceMarks(range.slices, of: box, scale: width / Double(max(page.size, 1)))
                return box
            }
            let label = "Page \(number): \(formattedBytes(page.size)), \(page.allocationCount) allocations, "
                + "\(formattedBytes(page.freeBytes)) free in \(page.freeRangeCount) ranges"
                + (page.mapped ? ", mapped" : "") + (page.reserved ? ", reserved" : "")
            rows.append(Row(label: label, labelY: y + 13, x: Self.margin, y: top, width: width, boxes: boxes,
                            overlays: aliased, slices: sliced))
            y = top + Self.barHeight + 8
        }

        for type in statistics.types {
            let pages = statistics.pages.filter { $0.memoryTypeIndex == type.index && $0.poolIndex == nil }
            guard !pages.isEmpty else { continue }
            heading("Memory type \(type.index) (\(type.flags.isEmpty ? "no flags" : type.flags.joined(separator: ", "))), "
                    + "heap \(type.heapIndex): \(formattedBytes(pages.reduce(0) { $0 + $1.size })) in \(pages.count) pages")
            for (number, page) in pages.enumerated() { pageRow(page, number: number) }
        }
        for (index, pool) in statistics.pools.enumerated() {
            let pages = statistics.pages.filter { $0.poolIndex == index }
            heading("Custom pool \u{201C}\(pool.name)\u{201D}: memory type \(pool.memoryTypeIndex), "
                    + "\(pages.count) of at most \(pool.maxPages == .max ? "any number of" : String(pool.maxPages)) "
                    + "pages of \(formattedBytes(pool.pageSize))")
            for (number, page) in pages.enumerated() { pageRow(page, number: number) }
        }
        if !statistics.dedicated.isEmpty {
            heading("Dedicated memory: \(statistics.dedicated.count) allocations, "
                    + "\(formattedBytes(statistics.dedicated.reduce(0) { $0 + $1.size }))")
            for allocation in statistics.dedicated {
                let width = rowWidth(allocation.size)
                let top = y + 18
                let box = Box(x: Self.margin, y: top, width: width, height: Self.barHeight,
                              category: Category(kind: allocation.kind, resource: allocation.resource),
                              name: allocation.name, size: allocation.size, offset: 0,
                              type: typeName(allocation.kind, allocation.resource),
                              callSite: "\(allocation.fileID):\(allocation.line)")
                let label = "Memory type \(allocation.memoryTypeIndex): \(formattedBytes(allocation.size))"
                    + (allocation.mapped ? ", mapped" : "")
                rows.append(Row(label: label, labelY: y + 13, x: Self.margin, y: top, width: width, boxes: [box],
                                overlays: overlays(allocation.aliases, of: box,
                                                   scale: width / Double(max(allocation.size, 1)))))
                y = top + Self.barHeight + 8
            }
        }
        if rows.isEmpty {
            heading("No memory is held.")
        }
        self.headings = headings
        self.rows = rows
        height = (y + 16).rounded(.up)
    }
}

/// What a range holds, in words: the resource and its tiling.
private func typeName(_ kind: RangeStatistics.Kind, _ resource: RangeStatistics.Resource?) -> String {
    switch (kind, resource) {
    case (.free, _): "free"
    case (_, .buffer): "buffer"
    case (.optimal, .image): "optimal-tiling image"
    case (.linear, .image): "linear-tiling image"
    case (.unknown, .image): "image"
    case (.optimal, nil): "memory for an optimal-tiling image"
    case (.linear, nil): "memory for a buffer or linear image"
    case (.unknown, nil): "memory of unknown content"
    }
}

/// A byte count with a binary unit, one decimal where it is not whole.
func formattedBytes(_ bytes: UInt64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    if unit == 0 { return "\(bytes) bytes" }
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? "\(Int(rounded)) \(units[unit])" : "\(rounded) \(units[unit])"
}
