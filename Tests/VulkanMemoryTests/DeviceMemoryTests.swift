import CVulkan
import Testing
@testable import VulkanMemory
#if canImport(Glibc)
import Glibc
#endif

@Suite("Raw device memory")
struct DeviceMemoryTests {
    /// A type the tests can map: lavapipe's type 0; on a discrete GPU type 0 may be
    /// device-only (the H200's is host memory without HOST_VISIBLE).
    static func mappableType(_ device: VulkanDevice) throws -> MemoryType {
        try #require(MemoryProperties(device: device).mappableType, "the device has no host-visible memory type")
    }

    @Test func allocateMapWriteReadFree() throws {
        try withTestDevice { context in
            let type = try Self.mappableType(context.device)
            let memory = try DeviceMemory.allocate(on: context.device, size: 65536, memoryTypeIndex: type.index)
            #expect(memory.size == 65536 && memory.heapIndex == type.heapIndex && !memory.isFreed)
            let view = try memory.map()
            #expect(view.size == 65536)
            struct Vertex: Equatable { var x: Float; var y: Float; var z: Float; var color: UInt32 }
            let vertex = Vertex(x: 1, y: 2, z: 3, color: 0xFF00FF00)
            try view.write(vertex, at: 100)
            #expect(try view.read(Vertex.self, at: 100) == vertex)
            let values = (0..<256).map { UInt16($0 * 3) }
            try view.write(contentsOf: values, at: 1000)
            #expect(try view.read(UInt16.self, count: 256, at: 1000) == values)
            try view.withUnsafeMutableBytes { bytes in bytes[65535] = 7 }
            #expect(try view.read(UInt8.self, at: 65535) == 7)
            try memory.unmap()
            try memory.free()
            #expect(memory.isFreed)
        }
    }

    @Test func secondMapSharesTheFirst() throws {
        try withTestDevice { context in
            let memory = try DeviceMemory.allocate(on: context.device, size: 8192,
                                                   memoryTypeIndex: try Self.mappableType(context.device).index)
            let whole = try memory.map()
            let part = try memory.map(offset: 4096, size: 1024)
            #expect(memory.mapCount == 2)
            #expect(part.baseAddress == whole.baseAddress + 4096)
            try part.write(UInt32(0xDEADBEEF))
            #expect(try whole.read(UInt32.self, at: 4096) == 0xDEADBEEF)
            try memory.unmap()
            #expect(memory.mapCount == 1 && memory.mappedPointer != nil)
            try memory.unmap()
            #expect(memory.mapCount == 0 && memory.mappedPointer == nil)
            #expect(throws: MemoryError.notMapped) { try memory.unmap() }
            // Mapped again after a full unmap: a fresh vkMapMemory, no validation message.
            _ = try memory.map(offset: 8191)
            try memory.free()
        }
    }

    @Test func badInputIsRefused() throws {
        try withTestDevice { context in
            let device = context.device
            let properties = MemoryProperties(device: device)
            let typeCount = properties.types.count
            #expect(throws: MemoryError.invalidMemoryType(index: typeCount, typeCount: typeCount)) {
                _ = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: typeCount)
            }
            #expect(throws: MemoryError.invalidMemoryType(index: -1, typeCount: typeCount)) {
                _ = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: -1)
            }
            #expect(throws: MemoryError.zeroSize) {
                _ = try DeviceMemory.allocate(on: device, size: 0, memoryTypeIndex: 0)
            }
            // Checked against the type's own heap (type 0 draws from heap 1 on the H200).
            let type = try Self.mappableType(device)
            let heapSize = try #require(properties.heap(of: type)).size
            #expect(throws: MemoryError.sizeExceedsHeap(size: heapSize + 1, heapIndex: type.heapIndex, heapSize: heapSize)) {
                _ = try DeviceMemory.allocate(on: device, size: heapSize + 1, memoryTypeIndex: type.index)
            }
            for other in properties.types {
                let size = try #require(properties.heap(of: other)).size
                #expect(throws: MemoryError.sizeExceedsHeap(size: size + 1, heapIndex: other.heapIndex, heapSize: size)) {
                    _ = try DeviceMemory.allocate(on: device, size: size + 1, memoryTypeIndex: other.index)
                }
            }
            #expect(throws: MemoryError.invalidPriority(1.5)) {
                _ = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: type.index,
                                              options: .init(priority: 1.5))
            }
            let memory = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: type.index)
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 4000, size: 200, limit: 4096)) {
                _ = try memory.map(offset: 4000, size: 200)
            }
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 5000, size: 0, limit: 4096)) {
                _ = try memory.map(offset: 5000)
            }
            #expect(throws: MemoryError.zeroSize) { _ = try memory.map(offset: 4096) }
            #expect(throws: MemoryError.notMapped) { try memory.flush() }
            let view = try memory.map(offset: 1024, size: 1024)
            // vkAllocateMemory does not zero memory: mark the bytes after the view first.
            let whole = try memory.map()
            try whole.write(UInt32(0x5A5A_5A5A), at: 2048)
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 1020, size: 8, limit: 1024)) {
                try view.write(UInt64(1), at: 1020)
            }
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 0, size: 1028, limit: 1024)) {
                _ = try view.read(UInt32.self, count: 257)
            }
            #expect(throws: MemoryError.rangeOutOfBounds(offset: 1025, size: 0, limit: 1024)) {
                try view.flush(at: 1025)
            }
            // The bytes beyond the view were not touched by the refused write.
            #expect(try whole.read(UInt32.self, at: 2048) == 0x5A5A_5A5A)
            try memory.free()
            #expect(throws: MemoryError.alreadyFreed) { try memory.free() }
            #expect(throws: MemoryError.alreadyFreed) { _ = try memory.map() }
            #expect(throws: MemoryError.alreadyFreed) { try memory.unmap() }
        }
    }

    /// On a non-coherent type where the device has one, so the calls reach the driver.
    @Test func flushAndInvalidateAcceptMappedRanges() throws {
        try withTestDevice { context in
            let memory = try DeviceMemory.allocate(on: context.device, size: 1000,
                                                   memoryTypeIndex: try Self.mappableType(context.device).index)
            let view = try memory.map()
            try view.flush(at: 3, size: 10)
            try view.invalidate(at: 990)
            try memory.flush()
            try memory.invalidate(offset: 999, size: 1)
            try memory.unmap()
            try memory.free()
        }
    }

    @Test(arguments: [UInt64(1), 64, 128, 256])
    func atomRoundingStaysInsideTheMemory(atom: UInt64) {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let memorySize = UInt64.random(in: 1...100_000, using: &generator)
            let offset = UInt64.random(in: 0..<memorySize, using: &generator)
            let size = UInt64.random(in: 1...(memorySize - offset), using: &generator)
            let range = DeviceMemory.atomAlignedRange(offset: offset, size: size, atom: atom,
                                                      memorySize: memorySize)
            #expect(range.offset % atom == 0)
            #expect(range.offset <= offset)
            #expect(range.offset + range.size >= offset + size)
            #expect(range.offset + range.size <= memorySize)
            // Vulkan: size is a multiple of the atom, or the range ends at the memory's end.
            #expect(range.size % atom == 0 || range.offset + range.size == memorySize)
            #expect(range.offset + range.size - (offset + size) < atom)
        }
    }

    @Test func dedicatedAllocationBacksItsBuffer() throws {
        try withTestDevice { context in
            let device = context.device
            let functions = device.deviceFunctions
            var info = VkBufferCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
            info.size = 1 << 20
            info.usage = VkBufferUsageFlags(VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
            info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
            var buffer: VkBuffer?
            try VulkanResult(functions.createBuffer(device.device, &info, nil, &buffer)).check("vkCreateBuffer")
            let handle = try #require(buffer)
            defer { functions.destroyBuffer(device.device, handle, nil) }
            var requirements = VkMemoryRequirements()
            functions.getBufferMemoryRequirements(device.device, handle, &requirements)
            let type = try #require((0..<32).first { requirements.memoryTypeBits & (1 << $0) != 0 })
            let memory = try DeviceMemory.allocate(
                on: device, size: requirements.size, memoryTypeIndex: type,
                options: .init(dedicated: .buffer(handle), priority: 0.75))
            try VulkanResult(functions.bindBufferMemory(device.device, handle, memory.handle, 0))
                .check("vkBindBufferMemory")
            #expect(memory.options.dedicated == .buffer(handle))
        }
    }

    @Test func deviceAddressNeedsItsCapability() throws {
        try withTestDevice { context in
            let memory = try DeviceMemory.allocate(on: context.device, size: 4096, memoryTypeIndex: 0,
                                                   options: .init(deviceAddress: true))
            try memory.free()
        }
        try withTestDevice(capabilities: []) { context in
            #expect(throws: MemoryError.capabilityNotEnabled(.bufferDeviceAddress, operation: "a device-address allocation")) {
                _ = try DeviceMemory.allocate(on: context.device, size: 4096, memoryTypeIndex: 0,
                                              options: .init(deviceAddress: true))
            }
            #expect(throws: MemoryError.self) {
                _ = try DeviceMemory.allocate(on: context.device, size: 4096, memoryTypeIndex: 0,
                                              options: .init(exportHandleTypes: .opaqueFd))
            }
        }
    }

    @Test func exportedMemoryIsSharedWithItsImport() throws {
        try withTestDevice { context in
            let device = context.device
            // Mapped on both sides: a host-visible type.
            let type = try Self.mappableType(device).index
            let exported = try DeviceMemory.allocate(on: device, size: 65536, memoryTypeIndex: type,
                                                     options: .init(exportHandleTypes: .opaqueFd))
            let fd = try exported.exportFileDescriptor()
            #expect(fd >= 0)
            let imported = try DeviceMemory.importFileDescriptor(fd, on: device, size: 65536, memoryTypeIndex: type)
            try exported.map().write(UInt64(0x0123_4567_89AB_CDEF), at: 512)
            #expect(try imported.map().read(UInt64.self, at: 512) == 0x0123_4567_89AB_CDEF)
            try imported.free()
            try exported.free()
            #expect(throws: MemoryError.alreadyFreed) { _ = try exported.exportFileDescriptor() }

            let plain = try DeviceMemory.allocate(on: device, size: 4096, memoryTypeIndex: 0)
            #expect(throws: MemoryError.notExportable(requested: .opaqueFd, allocatedWith: [])) {
                _ = try plain.exportFileDescriptor()
            }
        }
    }

    @Test func memoryIsFreedWithItsLastReference() throws {
        try withTestDevice { context in
            let device = context.device
            let type = try Self.mappableType(device)
            do {
                let memory = try DeviceMemory.allocate(on: device, size: 1 << 16, memoryTypeIndex: type.index)
                _ = try memory.map()
                #expect(device.accounting.snapshot.totalAllocations == 1)
                #expect(device.accounting.snapshot.bytes[type.heapIndex] == 1 << 16)
            }
            #expect(device.accounting.snapshot.totalAllocations == 0)
            #expect(device.accounting.snapshot.bytes[type.heapIndex] == 0)
        }
    }

    @Test func errorsNameWhatFailed() {
        #expect(MemoryError.notHostVisible(typeIndex: 1, flags: .deviceLocal).description
                == "memory type 1 (DEVICE_LOCAL) is not HOST_VISIBLE and cannot be mapped")
        #expect(MemoryError.sizeExceedsHeap(size: 10, heapIndex: 2, heapSize: 5).description.contains("heap 2"))
        #expect(MemoryError.allocationFailed(size: 4096, typeIndex: 3, heapIndex: 1, result: .errorOutOfDeviceMemory)
            .description.contains("VK_ERROR_OUT_OF_DEVICE_MEMORY"))
    }
}
