import Foundation
import Testing
@testable import Suballocation

/// `VirtualBlock.json()` (VMA's `vmaBuildVirtualBlockStatsString`) and alignment 0.
@Suite("Virtual block JSON")
struct VirtualBlockJSONTests {
    @Test(arguments: [VirtualBlock.Algorithm.tlsf, .linear(.automatic)])
    func theDocumentParsesAndAgreesWithTheBlock(algorithm: VirtualBlock.Algorithm) throws {
        var block = try VirtualBlock(size: 1 << 20, algorithm: algorithm)
        var live: [VirtualAllocation] = []
        for index in 0..<20 {
            live.append(try block.allocate(size: UInt64(64 + index * 100), alignment: 64, userData: UInt64(index)))
        }
        if case .tlsf = algorithm {
            for index in stride(from: 1, to: 20, by: 3) { try block.free(live[index].handle) }
        }
        try block.setName("quote \" backslash \\ newline \n nul \u{0} end", for: live[0].handle)
        let text = block.json()
        let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let stats = try #require(root["Stats"] as? [String: Any])
        let statistics = block.statistics
        #expect(stats["BlockCount"] as? Int == 1)
        #expect((stats["BlockBytes"] as? Int).map(UInt64.init) == block.size)
        #expect(stats["AllocationCount"] as? Int == statistics.allocationCount)
        #expect((stats["AllocationBytes"] as? Int).map(UInt64.init) == statistics.allocatedBytes)
        let details = try #require(root["Details"] as? [String: Any])
        let ranges = try #require(details["Suballocations"] as? [[String: Any]])
        // Ranges in offset order, none overlapping, all inside the block; the only bytes
        // in no range are a TLSF block's alignment padding (under 256 bytes each).
        var next = 0
        for range in ranges {
            let offset = try #require(range["Offset"] as? Int), size = try #require(range["Size"] as? Int)
            #expect(offset >= next && offset - next < 256)
            next = offset + size
        }
        #expect(UInt64(next) == block.size)
        #expect((details["UnusedBytes"] as? Int).map(UInt64.init) == statistics.freeBytes
                    - paddingBytes(ranges, block.size))
        #expect(ranges.filter { $0["Type"] as? String == "FREE" }.count == details["UnusedRanges"] as? Int)
        #expect(ranges.filter { $0["Type"] == nil }.count == statistics.allocationCount)
        #expect(ranges.contains { $0["Name"] as? String == "quote \" backslash \\ newline \n nul \u{0} end" })
        #expect(ranges.contains { $0["CustomData"] as? String == "0x12" })
        // Without the map only the summary is written.
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(block.json(detailedMap: false).utf8)) as? [String: Any])
        #expect(summary["Details"] == nil && summary["Stats"] != nil)
    }

    @Test func anEmptyBlockIsOneFreeRange() throws {
        let block = try VirtualBlock(size: 4096)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(block.json().utf8)) as? [String: Any])
        let ranges = try #require((root["Details"] as? [String: Any])?["Suballocations"] as? [[String: Any]])
        #expect(ranges.count == 1 && ranges[0]["Type"] as? String == "FREE" && ranges[0]["Size"] as? Int == 4096)
    }

    @Test func alignmentZeroIsReadAsOne() throws {
        var block = try VirtualBlock(size: 4096)
        let first = try block.allocate(size: 3, alignment: 0)
        let second = try block.allocate(size: 5, alignment: 0)
        #expect(try block.alignment(of: first.handle) == 1)
        #expect(try block.alignment(of: second.handle) == 1)
        let placed = try block.allocate(at: 1000, size: 7, alignment: 0)
        #expect(placed.offset == 1000)
    }

    /// Bytes between listed ranges: alignment padding a TLSF block keeps with the
    /// allocation above it, counted free by `statistics` but listed in no range.
    func paddingBytes(_ ranges: [[String: Any]], _ size: UInt64) -> UInt64 {
        var next: UInt64 = 0, padding: UInt64 = 0
        for range in ranges {
            let offset = UInt64(range["Offset"] as? Int ?? 0)
            padding += offset - next
            next = offset + UInt64(range["Size"] as? Int ?? 0)
        }
        return padding
    }
}
