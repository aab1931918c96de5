/// What the library knows of `VkFormat` values without asking the driver: which values
/// Vulkan defines (so a query about one is itself valid) and the texel block of the core
/// formats (so an image's least size can be told before it exists).
enum FormatTable {
    /// Whether `format` is a `VkFormat` value of the Vulkan 1.3.239 headers other than
    /// `VK_FORMAT_UNDEFINED`: the core formats and those of `VK_IMG_format_pvrtc`,
    /// `VK_EXT_texture_compression_astc_hdr`, `VK_KHR_sampler_ycbcr_conversion`,
    /// `VK_EXT_ycbcr_2plane_444_formats`, `VK_EXT_4444_formats` and `VK_NV_optical_flow`.
    static func isDefined(_ format: UInt32) -> Bool {
        switch format {
        case 1...184, 1_000_054_000...1_000_054_007, 1_000_066_000...1_000_066_013, 1_000_156_000...1_000_156_033,
             1_000_330_000...1_000_330_003, 1_000_340_000...1_000_340_001, 1_000_464_000: true
        default: false
        }
    }

    /// The texel block of a core format: its bytes and its width and height in texels
    /// (1×1 but for the compressed formats). Where a format's block size is not a whole
    /// or obvious number of bytes (packed depth/stencil), the smaller figure is given:
    /// the size is used as a lower bound. nil for extension formats.
    static func texelBlock(_ format: UInt32) -> (bytes: UInt64, width: UInt32, height: UInt32)? {
        switch format {
        case 1, 9...15, 127: return (1, 1, 1)                           // R4G4, R8, S8
        case 2...8, 16...22, 70...76, 124, 128: return (2, 1, 1)        // 16-bit packs, R8G8, R16, D16(S8)
        case 23...36: return (3, 1, 1)                                  // R8G8B8, B8G8R8
        case 37...69, 77...83, 98...100, 122, 123, 125, 126, 129, 130:  // 32-bit packs, R16G16, R32, D24/D32(S8)
            return (4, 1, 1)
        case 84...90: return (6, 1, 1)                                  // R16G16B16
        case 91...97, 101...103, 110...112: return (8, 1, 1)            // R16G16B16A16, R32G32, R64
        case 104...106: return (12, 1, 1)                               // R32G32B32
        case 107...109, 113...115: return (16, 1, 1)                    // R32G32B32A32, R64G64
        case 116...118: return (24, 1, 1)                               // R64G64B64
        case 119...121: return (32, 1, 1)                               // R64G64B64A64
        case 131...134, 139, 140, 147...150, 153, 154: return (8, 4, 4) // BC1, BC4, ETC2 RGB/RGBA1, EAC R11
        case 135...138, 141...146, 151, 152, 155, 156: return (16, 4, 4) // BC2, BC3, BC5-7, ETC2 RGBA8, EAC RG11
        case 157...184:                                                 // ASTC, UNORM and SRGB of each block
            let blocks: [(UInt32, UInt32)] = [(4, 4), (5, 4), (5, 5), (6, 5), (6, 6), (8, 5), (8, 6), (8, 8),
                                              (10, 5), (10, 6), (10, 8), (10, 10), (12, 10), (12, 12)]
            let block = blocks[Int(format - 157) / 2]
            return (16, block.0, block.1)
        default: return nil
        }
    }

    /// The bytes an image's texels take at the least (every level and layer, each sample),
    /// saturating at `UInt64.max`; nil for a format whose block is not in the table.
    static func leastImageBytes(format: UInt32, width: UInt32, height: UInt32, depth: UInt32, mipLevels: UInt32,
                                arrayLayers: UInt32, samples: UInt32) -> UInt64? {
        guard let block = texelBlock(format) else { return nil }
        func times(_ a: UInt64, _ b: UInt64) -> UInt64 {
            let (product, overflow) = a.multipliedReportingOverflow(by: b)
            return overflow ? .max : product
        }
        var total: UInt64 = 0
        var (w, h, d) = (width, height, depth)
        for _ in 0..<min(mipLevels, 32) {
            let columns = (UInt64(w) + UInt64(block.width) - 1) / UInt64(block.width)
            let rows = (UInt64(h) + UInt64(block.height) - 1) / UInt64(block.height)
            let level = times(times(times(columns, rows), UInt64(d)), block.bytes)
            let (sum, overflow) = total.addingReportingOverflow(level)
            total = overflow ? .max : sum
            (w, h, d) = (max(w / 2, 1), max(h / 2, 1), max(d / 2, 1))
        }
        return times(times(total, UInt64(arrayLayers)), UInt64(max(samples, 1)))
    }
}
