/// Why ``Allocator/beginMovingDefragmentation(buffers:images:recordingInto:in:maxBytesToMove:maxMoves:algorithm:)``
/// refused to start a pass. After any of these nothing was recorded into the command
/// buffer, no resource or memory was made, and the allocator is as it was.
public enum MovingDefragmentationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The previous moving pass was finished, but the GPU has not reached its fence or
    /// timeline value yet, so its pages are still held: submit and wait for that work
    /// (or try again next frame).
    case movesInFlight
    /// Planning, re-creating a resource or checking the previous pass's completion
    /// failed: the allocator's own error (`.defragmentationPassOpen` while another pass is
    /// open, `.duplicateResource` for a resource listed twice, `.outOfDeviceMemory`,
    /// `.invalidCreateInfo`, `.vulkan` for a failed call, …).
    case allocation(AllocationError)

    /// What failed and why.
    public var description: String {
        switch self {
        case .movesInFlight:
            "the previous moving defragmentation pass is still in flight: its fence or timeline value is not "
                + "reached yet; submit its command buffer, and call again once the GPU has run it"
        case .allocation(let error):
            "moving defragmentation: \(error)"
        }
    }
}
