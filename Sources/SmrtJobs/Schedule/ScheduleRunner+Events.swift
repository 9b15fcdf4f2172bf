import Foundation

/// Delivering `ScheduleRunnerEvent`s to handlers and streams, as `TaskRunner` does.
extension ScheduleRunner {
    /// A handler registered with `on(_:)`, for `removeHandler(_:)`.
    public struct HandlerID: Hashable, Sendable {
        let value: UInt64
    }

    /// A new stream of the events emitted from now on. Each access gives a separate stream; it finishes
    /// after `runnerStopped` (at once if the runner has already stopped). A slow reader loses the oldest
    /// events beyond the runner's `eventBufferSize`.
    public var events: AsyncStream<ScheduleRunnerEvent> { hub.stream() }

    /// Calls `handler` for every event, synchronously on the thread that emits it (the supervisor's database
    /// thread, a runner's store thread), so keep it short and non-blocking. Handlers run in the order they
    /// were added.
    @discardableResult
    public func on(_ handler: @escaping @Sendable (ScheduleRunnerEvent) -> Void) -> HandlerID {
        HandlerID(value: hub.add(handler))
    }

    public func removeHandler(_ id: HandlerID) {
        hub.remove(id.value)
    }
}
