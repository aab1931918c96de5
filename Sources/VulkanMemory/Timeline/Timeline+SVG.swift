extension Timeline {
    /// The counters of `chromeTraceJSON()` drawn as a self-contained SVG chart: per heap,
    /// committed bytes as a solid step line and live bytes as a dashed one, over time; the
    /// peaks marked, and each leak as a red tick at the end with its name in a tooltip.
    ///
    /// Names (the device's, the allocations') are escaped (`&`, `<`, `>`, quotes), so no
    /// name can close an element or run as script.
    public func svg() -> String {
        let width = 960.0, height = 420.0, left = 90.0, right = 20.0, top = 50.0, bottom = 60.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let end = max(duration, samples.last?.time ?? 0, 1e-9)
        let highestBytes = max(samples.map { max($0.committedBytes, $0.liveBytes) }.max() ?? 0, 1)
        let highest = Double(highestBytes)
        func x(_ time: Double) -> Double { left + time / end * plotWidth }
        func y(_ bytes: UInt64) -> Double { top + plotHeight - Double(bytes) / highest * plotHeight }
        // One decimal, without Foundation's formatter: coordinates stay short and exact.
        // A time from a recording or `setTime` can be any double: the value is clamped to
        // what `Int` holds (NaN drawn at 0) rather than trapping in the conversion.
        func format(_ value: Double) -> String {
            let scaled = (value * 10).rounded()
            let tenths = scaled.isNaN ? 0 : Int(min(max(scaled, -9.0e18), 9.0e18))
            return "\(tenths < 0 ? "-" : "")\(abs(tenths) / 10).\(abs(tenths) % 10)"
        }
        let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]

        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" \
            viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif" font-size="12">
            <title>Memory over time: \(deviceName.escapingMarkup)</title>
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(Int(left))" y="20" font-size="15">Memory over time: \(deviceName.escapingMarkup)</text>
            <text x="\(Int(left))" y="38" fill="#555">peak committed \(Self.mebibytes(peakCommittedBytes)), \
            peak live \(Self.mebibytes(peakLiveBytes)), \(leaks.count) leaked</text>
            <line x1="\(left)" y1="\(top + plotHeight)" x2="\(left + plotWidth)" y2="\(top + plotHeight)" stroke="black"/>
            <line x1="\(left)" y1="\(top)" x2="\(left)" y2="\(top + plotHeight)" stroke="black"/>

            """
        for step in 0...4 {
            // In integers: the highest count may be near 2⁶⁴, which a double rounds past.
            let bytes = highestBytes / 4 * UInt64(step)
            svg += "<text x=\"\(left - 6)\" y=\"\(format(y(bytes) + 4))\" text-anchor=\"end\">\(Self.mebibytes(bytes))</text>\n"
            let time = end * Double(step) / 4
            svg += "<text x=\"\(format(x(time)))\" y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">"
                + "\(format(time * 1000)) ms</text>\n"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 12)\" text-anchor=\"middle\">time</text>\n"
        for heap in 0..<heapCount {
            let points = samples.filter { $0.heapIndex == heap }
            guard !points.isEmpty else { continue }
            let colour = colours[heap % colours.count]
            for (series, dash) in [("committed", ""), ("live", " stroke-dasharray=\"5 3\"")] {
                var path = "M \(format(x(0))) \(format(y(0)))"
                for point in points {
                    let bytes = series == "committed" ? point.committedBytes : point.liveBytes
                    path += " H \(format(x(point.time))) V \(format(y(bytes)))"
                }
                path += " H \(format(x(end)))"
                svg += "<path d=\"\(path)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\"\(dash)>"
                    + "<title>heap \(heap) \(series) bytes</title></path>\n"
            }
            let legendY = top + 14 + Double(heap) * 16
            svg += "<text x=\"\(left + plotWidth - 8)\" y=\"\(legendY)\" text-anchor=\"end\" fill=\"\(colour)\">"
                + "heap \(heap): committed (solid), live (dashed)</text>\n"
        }
        for instant in instants where instant.kind == .peakCommitted || instant.kind == .peakLive {
            svg += "<circle cx=\"\(format(x(instant.time)))\" cy=\"\(format(y(instant.bytes)))\" r=\"4\" "
                + "fill=\"none\" stroke=\"black\"><title>\(instant.kind.rawValue) bytes: \(instant.bytes)</title></circle>\n"
        }
        for leak in leaks {
            let name = (leak.name ?? "unnamed allocation").escapingMarkup
            svg += "<line x1=\"\(format(x(end)))\" y1=\"\(top)\" x2=\"\(format(x(end)))\" y2=\"\(top + 10)\" "
                + "stroke=\"red\" stroke-width=\"3\"><title>leak: \(name), \(leak.size) bytes, heap \(leak.heapIndex)"
                + "</title></line>\n"
        }
        return svg + "</svg>\n"
    }

    /// Bytes in MiB with one decimal, for the axis and the summary.
    private static func mebibytes(_ bytes: UInt64) -> String {
        let tenths = (Double(bytes) / 1_048_576 * 10).rounded()
        return "\(Int(tenths) / 10).\(Int(tenths) % 10) MiB"
    }
}
