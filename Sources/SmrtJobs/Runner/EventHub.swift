import Foundation

/// Handlers and streams of one runner's events: `on(_:)`, `removeHandler(_:)` and `events` of
/// `ScheduleRunner`. Handlers run synchronously on the emitting thread, in the order they were added; each
/// stream keeps the newest `bufferSize` undelivered events. After `finish()` streams end, and new ones end
/// at once.
final class EventHub<Event: Sendable>: Sendable {
    private struct State {
        var handlers: [(id: UInt64, handler: @Sendable (Event) -> Void)] = []
        var nextHandlerId: UInt64 = 0
        var streams: [UUID: AsyncStream<Event>.Continuation] = [:]
        var finished = false
    }

    private let state = Locked(State())
    private let bufferSize: Int

    init(bufferSize: Int) {
        self.bufferSize = max(1, bufferSize)
    }

    func stream() -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(bufferSize))
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.streams.removeValue(forKey: id) }
        }
        let finished = state.withLock { s -> Bool in
            if !s.finished { s.streams[id] = continuation }
            return s.finished
        }
        if finished { continuation.finish() }
        return stream
    }

    func add(_ handler: @escaping @Sendable (Event) -> Void) -> UInt64 {
        state.withLock { s in
            defer { s.nextHandlerId += 1 }
            s.handlers.append((s.nextHandlerId, handler))
            return s.nextHandlerId
        }
    }

    func remove(_ id: UInt64) {
        state.withLock { s in s.handlers.removeAll { $0.id == id } }
    }

    func emit(_ event: Event) {
        let (handlers, streams) = state.withLock { s in (s.handlers.map(\.handler), Array(s.streams.values)) }
        for handler in handlers { handler(event) }
        for stream in streams { stream.yield(event) }
    }

    func finish() {
        let streams = state.withLock { s -> [AsyncStream<Event>.Continuation] in
            s.finished = true
            defer { s.streams = [:] }
            return Array(s.streams.values)
        }
        for stream in streams { stream.finish() }
    }
}
