import Foundation
import Testing
@testable import SmrtSupervisor

@Suite struct UVPipeTests {
    @Test func socketPairCarriesBytesBothWaysAndReportsEOFDistinctly() throws {
        let loop = try UVLoop()
        let (a, b) = try UVPipe.socketPair(loop: loop)
        #expect(a.fileDescriptor != nil && b.fileDescriptor != nil)
        let atB = ReadCollector()
        let atA = ReadCollector()
        try atB.start(b)
        try atA.start(a)
        try a.write(Array("ping".utf8))
        try b.write(Array("pong".utf8))
        try a.shutdown()
        try b.shutdown()
        runWithDeadline(loop)
        #expect(atB.text == "ping" && atB.sawEOF)
        #expect(atA.text == "pong" && atA.sawEOF)
        #expect(atA.errors.isEmpty && atB.errors.isEmpty)
        expectCleanClose(loop)
    }

    @Test func largeWritesAreQueuedAndDeliveredWhole() throws {
        let loop = try UVLoop()
        let (writer, reader) = try UVPipe.socketPair(loop: loop)
        var payload = [UInt8](repeating: 0, count: 4 << 20)
        payload.withUnsafeMutableBufferPointer { bytes in  // not `map`: 4 Mi closure calls take seconds in debug
            for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 31) }
        }
        var completions = 0
        try writer.write(payload) { error in
            #expect(error == nil)
            completions += 1
        }
        // The kernel buffer is far smaller than 4 MiB, so most of it waits in libuv's queue.
        #expect(writer.writeQueueSize > 0)
        try writer.shutdown { _ in writer.close() }
        let collected = ReadCollector()
        try collected.start(reader)
        runWithDeadline(loop)
        #expect(completions == 1)
        #expect(collected.bytes.count == payload.count)
        #expect(collected.bytes == payload)
        expectCleanClose(loop)
    }

    /// tryWrite takes what the kernel accepts now and queues nothing; a peer that is gone is an error at once (the
    /// supervisor then knows a RUN never reached its worker before it judges the worker's exit).
    @Test func tryWriteWritesWhatFitsAndFailsAtOnceWhenThePeerIsGone() throws {
        UVStream.ignoreBrokenPipeSignal()  // as the supervisor does: EPIPE, not the signal
        let loop = try UVLoop()
        let (writer, reader) = try UVPipe.socketPair(loop: loop)
        let small = Array("ping".utf8)
        #expect(try small.withUnsafeBytes { try writer.tryWrite($0) } == small.count)
        let large = [UInt8](repeating: 9, count: 4 << 20)
        let first = try large.withUnsafeBytes { try writer.tryWrite($0) }
        #expect(first > 0 && first < large.count, "the kernel buffer is far smaller than 4 MiB")
        #expect(try large.withUnsafeBytes { try writer.tryWrite($0) } == 0, "full: nothing written, nothing queued")
        #expect(writer.writeQueueSize == 0)
        reader.close()
        runWithDeadline(loop)
        // The first write after a peer closed with our bytes unread says ECONNRESET, later ones EPIPE.
        for _ in 0..<2 {
            do {
                _ = try small.withUnsafeBytes { try writer.tryWrite($0) }
                Issue.record("tryWrite to a closed peer succeeded")
            } catch {
                #expect([UVError.Code.EPIPE, UVError.Code.ECONNRESET].contains((error as? UVError)?.code ?? 0), "\(error)")
            }
        }
        writer.close()
        runWithDeadline(loop)
        expectCleanClose(loop)
    }

    @Test func closingWithPendingWritesCancelsThemBeforeTheCloseCallback() throws {
        let loop = try UVLoop()
        let (writer, reader) = try UVPipe.socketPair(loop: loop)
        var events: [String] = []
        try writer.write([UInt8](repeating: 7, count: 4 << 20)) { error in
            events.append(error.map { "write \($0.name)" } ?? "write ok")
        }
        try writer.write([1, 2, 3]) { error in
            events.append(error.map { "write \($0.name)" } ?? "write ok")
        }
        writer.close { events.append("closed") }
        reader.close()
        #expect(throws: UVError.self) { try writer.write([1]) }
        runWithDeadline(loop)
        #expect(events == ["write ECANCELED", "write ECANCELED", "closed"])
        expectCleanClose(loop)
    }

    @Test func stopReadingPausesDelivery() throws {
        let loop = try UVLoop()
        let (a, b) = try UVPipe.socketPair(loop: loop)
        var chunks: [String] = []
        try b.startReading { stream, event in
            if case .data(let bytes) = event {
                chunks.append(String(decoding: bytes, as: UTF8.self))
                stream.stopReading()
            }
        }
        try a.write(Array("first".utf8))
        let timer = try UVTimer(loop: loop)
        try timer.start(timeoutMs: 20) { timer in
            timer.close()
            a.close()
            b.close()
        }
        runWithDeadline(loop)
        #expect(chunks == ["first"])
        expectCleanClose(loop)
    }

    @Test func smallReadBufferSplitsButKeepsOrder() throws {
        let loop = try UVLoop()
        let (writer, reader) = try UVPipe.socketPair(loop: loop, readBufferSize: 7)
        let collected = ReadCollector()
        var chunkSizes: [Int] = []
        try reader.startReading { stream, event in
            switch event {
            case .data(let bytes):
                chunkSizes.append(bytes.count)
                collected.bytes.append(contentsOf: bytes)
            case .eof, .failed:
                stream.close()
            }
        }
        let text = "abcdefghijklmnopqrstuvwxyz0123456789"
        try writer.write(Array(text.utf8))
        try writer.shutdown { _ in writer.close() }
        runWithDeadline(loop)
        #expect(collected.text == text)
        #expect(chunkSizes.count >= 6 && chunkSizes.allSatisfy { $0 <= 7 })
        expectCleanClose(loop)
    }

    @Test func openingAnUnusableDescriptorFailsAndThePipeCanStillBeClosed() throws {
        let loop = try UVLoop()
        let pipe = try UVPipe(loop: loop)
        #expect(throws: UVError.self) { try pipe.open(-1) }
        pipe.close()
        expectCleanClose(loop)
    }
}
