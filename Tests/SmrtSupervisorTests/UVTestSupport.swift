import Foundation
import Testing
@testable import SmrtSupervisor

/// Swift Testing declares its own `ExitStatus` (for exit tests); this module's wins in this target.
typealias ExitStatus = SmrtSupervisor.ExitStatus

/// Runs `loop` until nothing is left to do. A guard timer (unreferenced, so it never keeps the loop
/// alive by itself) stops the loop after `timeoutMs`, records an issue and force-closes every handle,
/// so a broken test fails instead of hanging. Returns false on timeout.
@discardableResult
func runWithDeadline(
    _ loop: UVLoop, timeoutMs: UInt64 = 10_000, sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
    let guardTimer = try! UVTimer(loop: loop)
    var timedOut = false
    try! guardTimer.start(timeoutMs: timeoutMs) { _ in
        timedOut = true
        loop.stop()
    }
    guardTimer.unref()
    loop.run()
    guardTimer.close()
    if timedOut {
        Issue.record("loop still busy after \(timeoutMs) ms: \(loop.handleDescriptions)", sourceLocation: sourceLocation)
        loop.closeAllHandles()
    }
    loop.run()
    return !timedOut
}

/// Closes the loop and checks that every handle made on it was closed exactly once.
func expectCleanClose(_ loop: UVLoop, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(throws: Never.self, sourceLocation: sourceLocation) { try loop.close() }
    #expect(loop.handlesOpened == loop.handlesClosed, sourceLocation: sourceLocation)
    #expect(loop.isClosed, sourceLocation: sourceLocation)
}

/// Collects everything read from a stream until EOF (or an error), then closes it.
final class ReadCollector {
    var bytes: [UInt8] = []
    var sawEOF = false
    var errors: [UVError] = []

    var text: String { String(decoding: bytes, as: UTF8.self) }

    func start(_ stream: UVStream) throws {
        try stream.startReading { [self] stream, event in
            switch event {
            case .data(let chunk):
                // As typed bytes: a raw buffer would be appended byte by byte, which in a debug build takes seconds
                // for the 4 MiB tests.
                chunk.withMemoryRebound(to: UInt8.self) { bytes.append(contentsOf: $0) }
            case .eof:
                sawEOF = true
                stream.close()
            case .failed(let error):
                errors.append(error)
                stream.close()
            }
        }
    }
}

/// A counter shared with other threads.
final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    @discardableResult
    func increment() -> Int { lock.withLock { count += 1; return count } }
}
