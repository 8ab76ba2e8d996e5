import Foundation

/// Asks runs in flight to stop at their next page: set by a daemon that shuts down. A
/// pull run then sends no further request, lets the page being written commit (with the
/// position the next run resumes at), and ends `interrupted`.
public final class RunStopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var requested = false

    public init() {}

    /// Stops runs at their next page.
    public func request() {
        lock.withLock { requested = true }
    }

    public var isRequested: Bool {
        lock.withLock { requested }
    }
}
