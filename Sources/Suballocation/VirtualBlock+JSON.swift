extension VirtualBlock {
    /// The block as JSON in the shape of VMA's `vmaBuildVirtualBlockStatsString`: a
    /// `Stats` object (`BlockCount`, `BlockBytes`, `AllocationCount`, `AllocationBytes`,
    /// `UnusedRangeCount` and the smallest and largest allocation and free range), and,
    /// with `detailedMap`, a `Details` object listing every allocation and free range in
    /// offset order (`Offset`, `Size`, `Type` `"FREE"` for free ranges, `CustomData` for
    /// non-zero user data as VMA writes a pointer, `Name` where one was set). A TLSF
    /// block's alignment padding under 256 bytes belongs to the allocation above it until
    /// that is freed (see ``forEachFreeRange(_:)``): it is in no listed range.
    ///
    /// Names are escaped as JSON requires (quotes, backslashes and control characters),
    /// so any name yields a document a JSON reader accepts.
    ///
    /// - Complexity: O(records).
    public func json(detailedMap: Bool = true) -> String {
        var entries: [(offset: UInt64, size: UInt64, handle: VirtualAllocationHandle?, userData: UInt64)] = []
        forEachAllocation { offset, size, _, handle, userData in entries.append((offset, size, handle, userData)) }
        let allocationSizes = entries.map(\.size)
        forEachFreeRange { offset, size in entries.append((offset, size, nil, 0)) }
        entries.sort { $0.offset < $1.offset }
        let freeSizes = entries.filter { $0.handle == nil }.map(\.size)

        var out = "{\n  \"Stats\": {\n"
        var stats: [(String, UInt64)] = [
            ("BlockCount", 1), ("BlockBytes", size),
            ("AllocationCount", UInt64(allocationSizes.count)), ("AllocationBytes", allocationSizes.reduce(0, +)),
            ("UnusedRangeCount", UInt64(freeSizes.count)),
        ]
        // VMA writes the extremes only where there is something to measure.
        if let low = allocationSizes.min(), let high = allocationSizes.max() {
            stats += [("AllocationSizeMin", low), ("AllocationSizeMax", high)]
        }
        if let low = freeSizes.min(), let high = freeSizes.max() {
            stats += [("UnusedRangeSizeMin", low), ("UnusedRangeSizeMax", high)]
        }
        out += stats.map { "    \"\($0.0)\": \($0.1)" }.joined(separator: ",\n")
        out += "\n  }"
        if detailedMap {
            out += ",\n  \"Details\": {\n"
            out += "    \"TotalBytes\": \(size),\n    \"UnusedBytes\": \(freeSizes.reduce(0, +)),\n"
            out += "    \"Allocations\": \(allocationSizes.count),\n    \"UnusedRanges\": \(freeSizes.count),\n"
            out += "    \"Suballocations\": ["
            out += entries.map { entry -> String in
                var fields = ["\"Offset\": \(entry.offset)"]
                if let handle = entry.handle {
                    fields.append("\"Size\": \(entry.size)")
                    if entry.userData != 0 { fields.append("\"CustomData\": \"0x\(String(entry.userData, radix: 16, uppercase: true))\"") }
                    if let name = try? self.name(of: handle) { fields.append("\"Name\": \(Self.jsonString(name))") }
                } else {
                    fields += ["\"Type\": \"FREE\"", "\"Size\": \(entry.size)"]
                }
                return "\n      {" + fields.joined(separator: ", ") + "}"
            }.joined(separator: ",")
            out += entries.isEmpty ? "]\n  }" : "\n    ]\n  }"
        }
        return out + "\n}\n"
    }

    /// `text` as a JSON string literal.
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
