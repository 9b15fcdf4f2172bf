import Foundation

/// Delivering `TaskRunnerEvent`s to handlers and streams.
extension TaskRunner {
    /// A handler registered with `on(_:)`, for `removeHandler(_:)`.
    public struct HandlerID: Hashable, Sendable {
        let value: UInt64
    }

    /// A new stream of the events emitted from now on. Each access gives a separate stream; it finishes
    /// after `runnerStopped` (at once if the runner has already stopped). A slow reader loses the oldest
    /// events beyond `Options.eventBufferSize`.
    public var events: AsyncStream<TaskRunnerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: TaskRunnerEvent.self, bufferingPolicy: .bufferingNewest(max(1, options.eventBufferSize)))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.streams.removeValue(forKey: id) }
        }
        let stopped = state.withLock { s -> Bool in
            if s.phase == .stopped { return true }
            s.streams[id] = continuation
            return false
        }
        if stopped { continuation.finish() }
        return stream
    }

    /// Calls `handler` for every event, synchronously where it is emitted (a task of the runner, or its store
    /// thread), so keep it short and non-blocking. Handlers run in the order they were added.
    @discardableResult
    public func on(_ handler: @escaping @Sendable (TaskRunnerEvent) -> Void) -> HandlerID {
        state.withLock { s in
            let id = s.nextHandlerId
            s.nextHandlerId += 1
            s.handlers.append((id, handler))
            return HandlerID(value: id)
        }
    }

    public func removeHandler(_ id: HandlerID) {
        state.withLock { s in s.handlers.removeAll { $0.id == id.value } }
    }

    func emit(_ event: TaskRunnerEvent) {
        let (handlers, streams) = state.withLock { s in (s.handlers.map(\.handler), Array(s.streams.values)) }
        for handler in handlers { handler(event) }
        for stream in streams { stream.yield(event) }
    }

    /// Logs and emits `runnerError`, with secrets (a database URL's password) redacted.
    func reportError(_ message: String) {
        let message = ArgumentRedaction.redact(text: message)
        logger.error("\(message)")
        emit(.runnerError(message: message))
    }

    func finishEventStreams() {
        let streams = state.withLock { s -> [AsyncStream<TaskRunnerEvent>.Continuation] in
            defer { s.streams = [:] }
            return Array(s.streams.values)
        }
        for stream in streams { stream.finish() }
    }
}
