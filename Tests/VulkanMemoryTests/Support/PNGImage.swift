import CZlib
import Foundation

/// An 8-bit RGB or RGBA PNG, non-interlaced, as a browser's screenshot is: enough to read
/// back a pixel's colour. Other PNGs are refused with a reason.
struct PNGImage {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    let width: Int
    let height: Int
    /// Bytes per pixel: 3 (RGB) or 4 (RGBA).
    let channels: Int
    /// Unfiltered rows, top to bottom.
    let pixels: [UInt8]

    /// The pixel at (`x`, `y`) from the top left, as 8-bit red, green, blue.
    func rgb(x: Int, y: Int) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let index = (y * width + x) * channels
        return (pixels[index], pixels[index + 1], pixels[index + 2])
    }

    init(contentsOf url: URL) throws {
        try self.init(data: [UInt8](try Data(contentsOf: url)))
    }

    init(data: [UInt8]) throws {
        guard data.count > 8, Array(data[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else {
            throw Unreadable(description: "not a PNG file")
        }
        func big32(_ at: Int) -> Int { data[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        var position = 8
        var header: (width: Int, height: Int, depth: UInt8, colour: UInt8, interlace: UInt8)?
        var compressed: [UInt8] = []
        while position + 8 <= data.count {
            let length = big32(position)
            let type = String(decoding: data[position + 4..<position + 8], as: UTF8.self)
            let body = position + 8
            guard body + length + 4 <= data.count else { throw Unreadable(description: "chunk \(type) runs past the end") }
            switch type {
            case "IHDR":
                header = (big32(body), big32(body + 4), data[body + 8], data[body + 9], data[body + 12])
            case "IDAT":
                compressed += data[body..<body + length]
            default:
                break
            }
            position = body + length + 4
            if type == "IEND" { break }
        }
        guard let header else { throw Unreadable(description: "no IHDR chunk") }
        guard header.depth == 8, header.colour == 2 || header.colour == 6, header.interlace == 0 else {
            throw Unreadable(description: "bit depth \(header.depth), colour type \(header.colour), interlace "
                             + "\(header.interlace): only 8-bit RGB or RGBA without interlacing is read")
        }
        width = header.width
        height = header.height
        channels = header.colour == 6 ? 4 : 3
        let stride = width * channels
        let filtered = try Self.inflate(compressed, expected: height * (stride + 1))
        guard filtered.count == height * (stride + 1) else {
            throw Unreadable(description: "\(filtered.count) bytes of image data, \(height * (stride + 1)) expected")
        }
        var out = [UInt8](repeating: 0, count: height * stride)
        for row in 0..<height {
            let filter = filtered[row * (stride + 1)]
            let source = row * (stride + 1) + 1
            let target = row * stride
            for i in 0..<stride {
                let raw = filtered[source + i]
                let left = i >= channels ? Int(out[target + i - channels]) : 0
                let up = row > 0 ? Int(out[target - stride + i]) : 0
                let upLeft = row > 0 && i >= channels ? Int(out[target - stride + i - channels]) : 0
                let predictor: Int
                switch filter {
                case 0: predictor = 0
                case 1: predictor = left
                case 2: predictor = up
                case 3: predictor = (left + up) / 2
                case 4:
                    // Paeth: whichever neighbour is nearest to left + up - upLeft.
                    let estimate = left + up - upLeft
                    let (a, b, c) = (abs(estimate - left), abs(estimate - up), abs(estimate - upLeft))
                    predictor = a <= b && a <= c ? left : (b <= c ? up : upLeft)
                default:
                    throw Unreadable(description: "row \(row) has filter type \(filter)")
                }
                out[target + i] = UInt8(truncatingIfNeeded: Int(raw) + predictor)
            }
        }
        pixels = out
    }

    /// zlib's `uncompress` into a buffer of the size the header promises.
    private static func inflate(_ compressed: [UInt8], expected: Int) throws -> [UInt8] {
        var output = [UInt8](repeating: 0, count: expected)
        var length = uLongf(expected)
        let status = output.withUnsafeMutableBufferPointer { out in
            compressed.withUnsafeBufferPointer { input in
                uncompress(out.baseAddress, &length, input.baseAddress, uLong(input.count))
            }
        }
        guard status == Z_OK else { throw Unreadable(description: "zlib could not inflate the image data (\(status))") }
        return Array(output.prefix(Int(length)))
    }
}
