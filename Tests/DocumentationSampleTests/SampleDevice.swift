import Foundation
import Testing
import VulkanMemory

/// Runs a documentation sample on the bootstrap's device (lavapipe where no GPU is
/// present), with the Khronos validation layer as `VKMEM_VALIDATION` says (`make test`
/// sets `require`), and fails the test on any validation message the sample caused.
///
/// The samples are the README's and the DocC articles' code, kept here so that the
/// documented code is compiled by every build and run by every `make test`: an article
/// names the function that holds each of its samples.
func withSampleDevice<R>(
    sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (VulkanContext) throws -> R
) throws -> R {
    var options = VulkanContext.Options()
    options.validation = VulkanContext.Validation.fromEnvironment(default: .ifAvailable)
    options.applicationName = "DocumentationSampleTests"
    let context = try VulkanContext(options: options)
    let result = try body(context)
    let messages = context.validationLog?.drain() ?? []
    #expect(messages.isEmpty, "validation messages: \(messages)", sourceLocation: sourceLocation)
    return result
}

/// A uniform block the samples write and read back.
struct Camera: Equatable {
    var position: SIMD4<Float>
    var direction: SIMD4<Float>
}

/// A vertex of the samples' meshes.
struct Vertex: Equatable {
    var position: SIMD3<Float>
    var uv: SIMD2<Float>
}
