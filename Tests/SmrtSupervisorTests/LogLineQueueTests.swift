import Testing
@testable import SmrtSupervisor

/// The log writer's queue: bounded in bytes, whole lines in order, drops counted and reported once.
@Suite struct LogLineQueueTests {
    private func line(_ text: String) -> [UInt8] { Array((text + "\n").utf8) }

    @Test func linesComeOutWholeAndInOrder() {
        var queue = LogLineQueue(capacityBytes: 1000)
        for i in 0..<10 { #expect(queue.append(line("line \(i)")) == true) }
        #expect(queue.queuedBytes == 10 * 7)
        #expect(queue.takeAll() == (0..<10).map { .line(line("line \($0)")) })
        #expect(queue.isEmpty)
        #expect(queue.queuedBytes == 0)
        #expect(queue.takeAll().isEmpty)
    }

    /// Never more than the capacity is held; a line that does not fit is dropped whole (not cut) and counted,
    /// and a shorter one that still fits is taken.
    @Test func isBoundedAndCountsWhatItDrops() {
        var queue = LogLineQueue(capacityBytes: 100)
        let forty = Array(repeating: UInt8(ascii: "a"), count: 39) + [UInt8(ascii: "\n")]
        #expect(queue.append(forty) == true)
        #expect(queue.append(forty) == true)
        #expect(queue.append(forty) == false)
        #expect(queue.queuedBytes == 80)
        #expect(queue.append(line("short")) == true)
        #expect(queue.append(forty) == false)
        #expect(queue.queuedBytes == 86)
        #expect(queue.pendingDrops == 2 && queue.droppedTotal == 2)
        // A line longer than the whole queue can never be taken.
        var small = LogLineQueue(capacityBytes: 10)
        #expect(small.append(forty) == false)
        #expect(small.droppedTotal == 1 && !small.isEmpty)
    }

    /// One notice per stall, after the lines that were queued, with the count of every line dropped meanwhile;
    /// the count starts again after each take, the total does not.
    @Test func dropsAreReportedOnceAfterTheQueuedLines() {
        var queue = LogLineQueue(capacityBytes: 20)
        #expect(queue.append(line("first line")) == true)
        for _ in 0..<5 { #expect(queue.append(line("dropped line")) == false) }
        #expect(queue.append(line("short")) == true)
        #expect(queue.append(line("dropped again")) == false)
        #expect(queue.takeAll() == [.line(line("first line")), .line(line("short")), .dropped(count: 6)])
        #expect(queue.isEmpty)
        #expect(queue.append(line("after")) == true)
        #expect(queue.takeAll() == [.line(line("after"))])
        #expect(queue.append(Array(repeating: 0x41, count: 30)) == false)
        #expect(queue.takeAll() == [.dropped(count: 1)])
        #expect(queue.droppedTotal == 7)
    }

    /// Expendable lines (worker output) fill at most 3/4 of the queue: the last quarter stays for the supervisor's
    /// own lines.
    @Test func expendableLinesLeaveRoomForTheRest() {
        var queue = LogLineQueue(capacityBytes: 100)
        #expect(queue.expendableCapacityBytes == 75)
        let ten = Array(repeating: UInt8(ascii: "o"), count: 9) + [UInt8(ascii: "\n")]
        var taken = 0
        while queue.append(ten, expendable: true) { taken += 1 }
        #expect(taken == 7)
        #expect(queue.append(ten) == true)
        #expect(queue.append(ten) == true)
        #expect(queue.append(ten) == true)
        #expect(queue.append(ten) == false)
        #expect(queue.queuedBytes == 100)
        #expect(queue.droppedTotal == 2)
    }
}
