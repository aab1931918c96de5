import Foundation
import Yams

/// A text form of `Statistics`.
public enum StatisticsFormat: String, Sendable, Hashable, CaseIterable {
    /// YAML 1.1, as Yams writes it.
    case yaml
    /// JSON, pretty-printed with sorted keys.
    case json
    /// The JSON document of VMA's `vmaBuildStatsString` with a detailed map
    /// (`Statistics.vmaJSON()`), for VMA's tools.
    case vmaJSON = "vma-json"
    /// A memory map as one SVG picture (`Statistics.svg()`).
    case svg
    /// A memory map as one self-contained HTML page (`Statistics.html()`).
    case html
}

extension Statistics {
    /// The statistics as pretty-printed JSON with sorted keys and camelCase keys, so two
    /// snapshots diff line by line. `JSONDecoder` reads it back to an equal value.
    ///
    /// - Throws: `StatisticsError.encodingFailed` if the encoder refuses the value.
    /// - Complexity: O(allocations + pages).
    public func json() throws(StatisticsError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw .encodingFailed(format: .json, message: String(describing: error))
        }
    }

    /// The statistics as YAML, keys in declaration order (device and totals first) so a
    /// person reads the summary before the page maps. Names are quoted wherever YAML would
    /// otherwise read them as something else (`null`, `a: b`, `# c`…), so `YAMLDecoder`
    /// reads it back to an equal value.
    ///
    /// - Throws: `StatisticsError.encodingFailed` if the encoder refuses the value.
    /// - Complexity: O(allocations + pages).
    public func yaml() throws(StatisticsError) -> String {
        let encoder = YAMLEncoder()
        // Names as written, not as \x escapes, and one line each however long, so they
        // can be searched for in the output.
        encoder.options.allowUnicode = true
        encoder.options.width = -1
        do {
            return try encoder.encode(self)
        } catch {
            throw .encodingFailed(format: .yaml, message: String(describing: error))
        }
    }

    /// The statistics in `format`.
    ///
    /// - Throws: `StatisticsError.encodingFailed` if the encoder refuses the value.
    /// - Complexity: O(allocations + pages).
    public func text(_ format: StatisticsFormat) throws(StatisticsError) -> String {
        switch format {
        case .yaml: try yaml()
        case .json: try json()
        case .vmaJSON: try vmaJSON()
        case .svg: svg()
        case .html: html()
        }
    }
}
