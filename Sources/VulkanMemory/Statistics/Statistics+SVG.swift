extension Statistics {
    /// The statistics as a memory map, one SVG picture: every page a row as wide as the
    /// page is large beside the largest memory shown, its ranges coloured by what they hold
    /// (buffer, optimal-tiling image, linear image or unknown content, free), each memory
    /// type's pages, each custom pool's and the dedicated allocations in sections of
    /// their own, with the legend and the totals (committed, live, and per heap the
    /// driver's budget and usage) above.
    ///
    /// Resources aliasing an allocation (`Allocator.createAliasingBuffer`,
    /// `createAliasingImage`) are drawn over the lower half of the allocation's range, where
    /// their bytes lie, with a dashed outline: aliasing shows as overlap. Slices of a
    /// ``BufferArena`` (in statistics from ``Allocator/statistics(showingSlicesOf:)``) are
    /// drawn the same way inside their arena buffer, outlined solid. The legend explains
    /// them when there are any.
    ///
    /// Each range carries a `<title>`, so a viewer shows its name, size, offset, type and
    /// call site when pointed at. Names are escaped (`&`, `<`, `>`, quotes, control
    /// characters): a name is text, never markup. The picture needs no font, file or
    /// network beyond itself.
    /// - Complexity: O(allocations + pages).
    public func svg() -> String {
        MemoryMapLayout(self).svg(device: device, standalone: true)
    }
}

extension MemoryMapLayout {
    /// The picture; `standalone` adds the XML declaration a file of its own starts with
    /// (an SVG inside HTML must not have it).
    func svg(device: String, standalone: Bool) -> String {
        var out = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(Self.width))\" height=\"\(Int(height))\" "
            + "viewBox=\"0 0 \(Int(Self.width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\" "
            + "shape-rendering=\"crispEdges\" id=\"memory-map\">\n"
        out += "<title>Memory map: \(device.escapingMarkup)</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(Self.width))\" height=\"\(Int(height))\" fill=\"#ffffff\"/>\n"
        out += text("Memory map: " + device, x: Self.margin, y: 28, size: 18, weight: "bold")
        for (line, entry) in summary.enumerated() {
            out += text(entry, x: Self.margin, y: 52 + Double(line) * 18, size: 13)
        }
        out += legend()
        for heading in headings {
            out += text(heading.text, x: Self.margin, y: heading.y, size: 14, weight: "bold")
        }
        for row in rows {
            out += text(row.label, x: row.x, y: row.labelY, size: 12, fill: "#444444")
            out += "<g class=\"row\">\n"
            for box in row.boxes { out += self.box(box) }
            for overlay in row.overlays { out += self.overlay(overlay) }
            for slice in row.slices { out += self.slice(slice) }
            // The outline last, over the ranges, so a row's end shows against the free colour.
            out += "<rect x=\"\(number(row.x))\" y=\"\(number(row.y))\" width=\"\(number(row.width))\" "
                + "height=\"\(number(Self.barHeight))\" fill=\"none\" stroke=\"#4a4a4a\" stroke-width=\"1\"/>\n"
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// The swatches and their words, in one line.
    private func legend() -> String {
        var out = ""
        var x = Self.margin
        for category in Category.allCases {
            out += "<rect x=\"\(number(x))\" y=\"\(number(legendY))\" width=\"18\" height=\"14\" fill=\"\(category.hex)\" "
                + "stroke=\"#4a4a4a\" stroke-width=\"1\" class=\"legend\"/>\n"
            out += text(category.legend, x: x + 24, y: legendY + 12, size: 12)
            x += 24 + Double(category.legend.count) * 7 + 24
        }
        if hasOverlays {
            out += "<rect x=\"\(number(x))\" y=\"\(number(legendY))\" width=\"18\" height=\"14\" fill=\"none\" "
                + "stroke=\"#000000\" stroke-width=\"1\" stroke-dasharray=\"3 2\" class=\"legend\"/>\n"
            let words = "alias (lower half, over the memory it shares)"
            out += text(words, x: x + 24, y: legendY + 12, size: 12)
            x += 24 + Double(words.count) * 7 + 24
        }
        if hasSlices {
            out += "<rect x=\"\(number(x))\" y=\"\(number(legendY))\" width=\"18\" height=\"14\" fill=\"\(Self.sliceFill)\" "
                + "stroke=\"#000000\" stroke-width=\"1\" class=\"legend\"/>\n"
            out += text("arena slice (lower half, inside its buffer)", x: x + 24, y: legendY + 12, size: 12)
        }
        return out
    }

    /// A slice's fill: the buffer colour, lighter, so slices show inside their buffer.
    static let sliceFill = "#8fb3ea"

    /// One arena slice, over its buffer: a lighter fill, a solid outline, and the words a
    /// pointer shows.
    private func slice(_ mark: SliceMark) -> String {
        let owner = mark.bufferName.map { "\u{201C}\($0)\u{201D}" } ?? "an unnamed arena buffer"
        let name = mark.slice.name.map { "\u{201C}\($0)\u{201D}" } ?? "unnamed slice"
        let details = ["\(name), a slice of \(owner)",
                       "\(formattedBytes(mark.slice.size)) (\(mark.slice.size) bytes) at offset \(mark.slice.offset) of the buffer"]
        var out = "<rect x=\"\(number(mark.x))\" y=\"\(number(mark.y))\" width=\"\(number(mark.width))\" "
            + "height=\"\(number(mark.height))\" fill=\"\(Self.sliceFill)\" stroke=\"#1d3f73\" stroke-width=\"0.5\" class=\"slice\""
            + " data-name=\"\((mark.slice.name ?? "").escapingMarkup)\" data-size=\"\(mark.slice.size)\""
            + " data-offset=\"\(mark.slice.offset)\" data-type=\"arena slice\" data-site=\"\">"
        out += "<title>\(details.map(\.escapingMarkup).joined(separator: "\n"))</title></rect>\n"
        return out
    }

    /// One alias, over its allocation: the fill of what it is, a dashed outline, and the
    /// words a pointer shows.
    private func overlay(_ overlay: Overlay) -> String {
        let what = overlay.resource == .buffer ? "aliasing buffer" : "aliasing image"
        let owner = overlay.allocationName.map { "\u{201C}\($0)\u{201D}" } ?? "an unnamed allocation"
        let handle = "0x" + String(overlay.handle, radix: 16)
        let details = ["\(what) \(handle) of \(owner)",
                       "\(formattedBytes(overlay.size)) (\(overlay.size) bytes) at offset \(overlay.offset) of the allocation"]
        var out = "<rect x=\"\(number(overlay.x))\" y=\"\(number(overlay.y))\" width=\"\(number(overlay.width))\" "
            + "height=\"\(number(overlay.height))\" fill=\"\(overlay.category.hex)\" stroke=\"#000000\" stroke-width=\"1\" "
            + "stroke-dasharray=\"3 2\" class=\"alias\""
            + " data-name=\"\((overlay.allocationName ?? "").escapingMarkup)\" data-size=\"\(overlay.size)\""
            + " data-offset=\"\(overlay.offset)\" data-type=\"\(what) \(handle)\" data-site=\"\">"
        out += "<title>\(details.map(\.escapingMarkup).joined(separator: "\n"))</title></rect>\n"
        return out
    }

    /// One range: its rectangle, with the words a pointer shows as its title and, for the
    /// HTML page's script, as data attributes.
    private func box(_ box: Box) -> String {
        var details = [box.name.map { "\u{201C}\($0)\u{201D}" } ?? (box.category == .free ? "free range" : "unnamed"),
                       "\(box.type), \(formattedBytes(box.size)) (\(box.size) bytes) at offset \(box.offset)"]
        if let site = box.callSite { details.append("allocated at \(site)") }
        var out = "<rect x=\"\(number(box.x))\" y=\"\(number(box.y))\" width=\"\(number(box.width))\" "
            + "height=\"\(number(box.height))\" fill=\"\(box.category.hex)\" class=\"range\""
            + " data-name=\"\((box.name ?? "").escapingMarkup)\" data-size=\"\(box.size)\" data-offset=\"\(box.offset)\""
            + " data-type=\"\(box.type.escapingMarkup)\" data-site=\"\((box.callSite ?? "").escapingMarkup)\">"
        // Each line escaped alone: a line break between them is the tooltip's, a name's own is escaped.
        out += "<title>\(details.map(\.escapingMarkup).joined(separator: "\n"))</title></rect>\n"
        return out
    }

    private func text(_ string: String, x: Double, y: Double, size: Int, weight: String? = nil,
                      fill: String = "#222222") -> String {
        "<text x=\"\(number(x))\" y=\"\(number(y))\" font-size=\"\(size)\" fill=\"\(fill)\""
            + (weight.map { " font-weight=\"\($0)\"" } ?? "") + ">\(string.escapingMarkup)</text>\n"
    }

    /// A coordinate with at most two decimals: enough for a pixel, and short. Statistics
    /// decoded from a file may place a range anywhere (an offset of 2⁶⁴ − 1 in a page of
    /// 1 byte): coordinates are clamped to a billion pixels either way, NaN drawn at 0.
    private func number(_ value: Double) -> String {
        let rounded = value.isNaN ? 0 : min(max((value * 100).rounded() / 100, -1e9), 1e9)
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
