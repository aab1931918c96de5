import CVulkan
import Synchronization

/// One message from the validation layer or the driver, through `VK_EXT_debug_utils`.
public struct ValidationMessage: Sendable, Hashable, CustomStringConvertible {
    /// How serious the message is (`VkDebugUtilsMessageSeverityFlagBitsEXT`).
    public enum Severity: String, Sendable, Hashable, Comparable {
        /// `VK_DEBUG_UTILS_MESSAGE_SEVERITY_VERBOSE_BIT_EXT`.
        case verbose
        /// `VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT`.
        case info
        /// `VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT`.
        case warning
        /// `VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT`.
        case error

        private var rank: Int {
            switch self { case .verbose: 0; case .info: 1; case .warning: 2; case .error: 3 }
        }
        /// Orders from verbose to error.
        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }
    /// The severity.
    public let severity: Severity
    /// `pMessageIdName`, such as `VUID-vkMapMemory-memory-00678`.
    public let id: String
    /// `pMessage`.
    public let text: String

    /// "severity [id] text".
    public var description: String { "\(severity) [\(id)] \(text)" }
}

/// Collects the warnings and errors reported through a debug-utils messenger, so that a
/// test can assert there were none.
///
/// The validation layer reports objects never destroyed (`VkBuffer`, `VkImage`,
/// `VkDeviceMemory` leaks, VUID `vkDestroyDevice-device-05137`) when the device is
/// destroyed, which `VulkanContext` does when the last object made from it goes away,
/// after the context itself may be gone. To read those reports, either make the log
/// yourself and pass it in `VulkanContext.Options.validationLog`, then read it once
/// `isFinished` is true, or give it a `handler`, which sees every message as it arrives:
///
/// ```swift
/// let log = ValidationLog()
/// var options = VulkanContext.Options()
/// options.validation = .required
/// options.validationLog = log
/// do {
///     let context = try VulkanContext(options: options)
///     // … allocate, use and destroy …
/// }
/// // The context and everything made from it are gone: the teardown's reports are in.
/// assert(log.isFinished && log.messages.isEmpty, "\(log.messages)")
/// ```
///
/// Thread safety: locked; the driver may call back from any thread.
public final class ValidationLog: Sendable {
    private let storage = Locked<[ValidationMessage]>([])
    private let finished = Locked(false)
    /// Called with every message as it arrives, on the thread the driver reports it from.
    public let handler: (@Sendable (ValidationMessage) -> Void)?

    /// Creates an empty log.
    ///
    /// - Parameter handler: called with each message as it arrives, after it is stored, on
    ///   whatever thread the driver calls back on (during teardown, the thread that
    ///   released the last reference): forward to your logger, or stop in a debugger. It
    ///   must not create or destroy Vulkan objects.
    public init(handler: (@Sendable (ValidationMessage) -> Void)? = nil) {
        self.handler = handler
    }

    /// Whether the device, messenger and instance this log listened to have been
    /// destroyed: every message, the teardown's leak reports included, has been delivered.
    public var isFinished: Bool { finished.withLock { $0 } }

    /// Marks the log complete once the instance is destroyed.
    func finish() {
        finished.withLock { $0 = true }
    }

    /// Every message collected so far, oldest first.
    public var messages: [ValidationMessage] { storage.withLock { $0 } }

    /// Returns the messages collected so far and empties the log.
    public func drain() -> [ValidationMessage] {
        storage.withLock { messages in
            defer { messages.removeAll() }
            return messages
        }
    }

    func append(_ message: ValidationMessage) {
        storage.withLock { $0.append(message) }
        handler?(message)
    }

    /// The callback handed to `vkCreateDebugUtilsMessengerEXT`; `pUserData` is the log.
    static let callback: PFN_vkDebugUtilsMessengerCallbackEXT = { severity, _, data, userData in
        guard let userData, let data else { return VkBool32(VK_FALSE) }
        let log = Unmanaged<ValidationLog>.fromOpaque(userData).takeUnretainedValue()
        let level: ValidationMessage.Severity
        switch severity {
        case VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT: level = .error
        case VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT: level = .warning
        case VK_DEBUG_UTILS_MESSAGE_SEVERITY_INFO_BIT_EXT: level = .info
        default: level = .verbose
        }
        log.append(ValidationMessage(
            severity: level,
            id: data.pointee.pMessageIdName.map { String(cString: $0) } ?? "",
            text: data.pointee.pMessage.map { String(cString: $0) } ?? ""))
        return VkBool32(VK_FALSE)
    }
}
